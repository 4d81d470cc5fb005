"""The analytics page (`/analytics`) for admins and analysts, and the job that keeps the
analytics history current.

The page is a shell like the others (no inline script or style): `static/analytics/page.js`
asks `/api/v1/reports/...` with the token kept in the tab's session and draws the charts
with the vendored Chart.js, each beside a table with the same numbers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from inventory import demand, history
from web.pages import render
from web.services import Services

router = APIRouter(include_in_schema=False)


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(request: Request) -> Response:
    """Coordinators and analysts: where and when the system of care runs out."""
    return render(request, "analytics.html", page="analytics")


async def refresh_history(svc: Services) -> None:
    """Scheduled: roll up finished hours of availability, and move recorded searches into
    SQL. Both are idempotent and cheap when there is nothing new."""
    await history.roll_up(svc.sessions, svc.clock())
    await demand.drain(svc.redis, svc.settings.redis_prefix, svc.sessions,
                       await svc.directory.programs())
