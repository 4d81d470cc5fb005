"""Analytics over HTTP: measures as JSON (what the page draws) and CSV (the same rows).

`GET /api/v1/reports` lists the measures; `GET /api/v1/reports/{measure}` answers one as
JSON and `GET /api/v1/reports/{measure}.csv` as CSV. Admin and analyst tokens only.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from inventory import demand
from inventory.actors import ADMIN, ANALYST, Actor
from inventory.config import Settings
from inventory.measures import BUCKETS, MEASURES, Question, Table, answer
from web.api.deps import services
from web.auth import require
from web.schemas import EARLIEST_YEAR, LATEST_YEAR
from web.services import Services

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Svc = Annotated[Services, Depends(services)]
Analyst = Annotated[Actor, Depends(require(ADMIN, ANALYST))]
DEFAULT_DAYS = 30


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(422, f"tz {name!r} is not a known time zone, e.g. "
                                 "America/Los_Angeles or UTC") from None


def parse_when(text: str, tz: ZoneInfo, name: str, end_of_day: bool = False) -> datetime:
    """A date (midnight in `tz`; the next midnight for an inclusive `to`) or an ISO time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, time(), tz)
        when = datetime.fromisoformat(text)  # 3.11 reads a trailing Z
    except ValueError:
        raise HTTPException(422, f"{name} must be a date (2026-11-01) or a time with a zone "
                                 f"(2026-11-01T08:00:00-08:00), got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when


def within_years(text: str | None, name: str) -> None:
    """422 for a date or time outside the years the service can have data for, before any
    arithmetic on it (near year 9999 a day more, or the default range, would overflow)."""
    year = text[:4] if text else ""
    if year.isascii() and year.isdigit() and not EARLIEST_YEAR <= int(year) <= LATEST_YEAR:
        raise HTTPException(422, f"{name} {text!r} is outside the years {EARLIEST_YEAR} to "
                                 f"{LATEST_YEAR}")


def question(settings: Settings, now: datetime, start: str | None, end: str | None,
             levels: list[str], area: str | None, by_area: bool, bucket: str, tz: str,
             unit: str | None = None, program: str | None = None) -> Question:
    """A measure's question from request parameters; 422 naming what is wrong."""
    zone = parse_zone(tz)
    unknown = [lv for lv in levels if lv not in settings.levels_of_care]
    if unknown:
        raise HTTPException(422, f"unknown level {', '.join(unknown)}; known: "
                                 f"{', '.join(settings.levels_of_care)}")
    for name, text in (("from", start), ("to", end)):
        within_years(text, name)
    stop = parse_when(end, zone, "to", end_of_day=True) if end else now
    begin = parse_when(start, zone, "from") if start else stop - timedelta(days=DEFAULT_DAYS)
    if stop <= begin:
        raise HTTPException(422, f"to ({stop.isoformat()}) must be after from "
                                 f"({begin.isoformat()})")
    if stop - begin > timedelta(days=400):
        raise HTTPException(422, "a report may span at most 400 days")
    return Question(start=begin, end=stop, now=now, levels=tuple(levels), area=area or None,
                    by_area=by_area, bucket=bucket, tz=zone, unit=unit, program=program,
                    pathways=settings.pathways, caseload_limit=settings.caseload_limit,
                    default_cadence=settings.default_cadence_minutes,
                    crisis_levels=tuple(settings.analytics.crisis_levels),
                    record_race_ethnicity=settings.analytics.record_race_ethnicity)


# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets
# (OWASP, "CSV Injection"): `=HYPERLINK(...)` sends data away, `+cmd|...` runs a program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet shows as text: text that would start a formula gets a leading
    `'` (which spreadsheets hide). Numbers stay numbers, so `-3` is still minus three; only
    text (program names, areas, levels, reasons) can carry a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    """The table as CSV (the API's and `bedfinder report`'s): every text cell passed through
    `spreadsheet_safe`, since names and areas come from admins and imported feeds."""
    out = io.StringIO()
    # RFC 4180's CRLF: the writer then quotes any cell holding a CR as well as an LF (with
    # "\n" alone a bare CR would end the row in a spreadsheet and start a formula cell).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([spreadsheet_safe(row[c]) for c in table.columns])
    return out.getvalue()


async def run(svc: Services, name: str, q: Question) -> Table:
    if name not in MEASURES:
        raise HTTPException(404, f"no measure {name!r}; known: {', '.join(MEASURES)}")
    if name in ("unmet_demand", "unmet_by_need"):
        await demand.drain(svc.redis, svc.settings.redis_prefix, svc.sessions,
                           await svc.directory.programs())
    return await answer(name, svc.sessions, q)


class Params:
    """The query parameters every measure takes."""

    def __init__(
        self,
        start: Annotated[str | None, Query(alias="from", max_length=40, description=(
            "Start: a date (midnight in `tz`) or an ISO time; default 30 days before `to`."))]
        = None,
        end: Annotated[str | None, Query(alias="to", max_length=40, description=(
            "End: a date (included, to its end) or an ISO time; default now."))] = None,
        level: Annotated[list[str], Query(
            description="Levels of care (repeatable).")] = [],  # noqa: B006
        area: Annotated[str | None, Query(max_length=100)] = None,
        by_area: bool = False,
        bucket: Annotated[str, Query(pattern="^(" + "|".join(BUCKETS) + ")$")] = "day",
        tz: Annotated[str, Query(max_length=64, description="IANA time zone for days and "
                                 "hours of day.")] = "UTC",
        unit: Annotated[str | None, Query(max_length=64)] = None,
        program: Annotated[str | None, Query(max_length=64)] = None,
    ) -> None:
        self.start, self.end, self.levels, self.area = start, end, level, area
        self.by_area, self.bucket, self.tz = by_area, bucket, tz
        self.unit, self.program = unit, program

    def question(self, svc: Services) -> Question:
        return question(svc.settings, svc.clock(), self.start, self.end, self.levels,
                        self.area, self.by_area, self.bucket, self.tz, self.unit, self.program)


@router.get("", summary="The measures available")
async def list_measures(_: Analyst) -> list[dict[str, str]]:
    return [{"measure": name, "description": text} for name, (_f, text) in MEASURES.items()]


@router.get("/{measure}.csv", summary="One measure as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def measure_csv(measure: str, svc: Svc, _: Analyst,
                      params: Annotated[Params, Depends()]) -> Response:
    table = await run(svc, measure, params.question(svc))
    return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{measure}.csv"'})


@router.get("/{measure}", summary="One measure as JSON (what the analytics page draws)")
async def measure_json(measure: str, svc: Svc, _: Analyst,
                       params: Annotated[Params, Depends()]) -> dict[str, Any]:
    q = params.question(svc)
    table = await run(svc, measure, q)
    return {**table.as_json(), "from": q.start.isoformat(), "to": q.end.isoformat(),
            "tz": str(q.tz), "bucket": q.bucket}
