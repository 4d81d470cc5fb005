"""The admin page (`/admin`) and the one list it needs that the API lacked: organizations.

The page is a shell like the others (web/pages.py): it signs in (admin role), then reads and
changes everything through the REST API, so every change passes the same checks and lands in
the same audit log as any other client's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from inventory.actors import Actor
from inventory.records import Organization
from web.api.deps import Svc
from web.auth import admin_only
from web.pages import render

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
async def admin_page(request: Request) -> Response:
    """Admins: organizations, programs and units, people and roles, tokens, feeds."""
    return render(request, "admin.html", page="admin")


@router.get("/api/v1/organizations", tags=["admin"])
async def organizations(svc: Svc, _: Annotated[Actor, Depends(admin_only)]
                        ) -> list[dict[str, str]]:
    """Every organization, by name."""
    async with svc.sessions() as session:
        rows = (await session.execute(
            select(Organization).order_by(Organization.name, Organization.id))).scalars()
        return [{"id": o.id, "name": o.name} for o in rows]
