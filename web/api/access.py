"""The privacy officer's answers, for admins only: who viewed which client's holds,
referrals and transitions (`GET /api/v1/audit/access`, JSON or CSV), and the people who sign
in, with the role an admin assigned them (`/api/v1/users`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import Field

from inventory.access_log import AccessRecord, Read
from inventory.actors import Actor
from inventory.measures import Table
from web.api.reports import to_csv
from web.auth import admin_only
from web.people import People
from web.schemas import Strict

router = APIRouter(prefix="/api/v1", tags=["people"])
Admin = Annotated[Actor, Depends(admin_only)]
COLUMNS = ["at", "actor", "actor_id", "role", "record_kind", "record_id", "client_ref", "via",
           "path"]


async def people(request: Request) -> People:
    return request.app.state.people


PeopleDep = Annotated[People, Depends(people)]


async def record_reads(request: Request, actor: Actor, reads: list[Read]) -> None:
    """Append these reads to the access log: `page` when a signed-in session asked (the
    pages' requests), `api` for a bearer token."""
    via = "api" if request.headers.get("authorization") else "page"
    found: People = request.app.state.people
    await found.access_log.record(actor, reads, found.clock(), via, request.url.path)


def _row(r: AccessRecord) -> dict[str, Any]:
    return {"at": r.at.isoformat(), "actor": r.actor, "actor_id": r.actor_id, "role": r.role,
            "record_kind": r.record_kind, "record_id": r.record_id, "client_ref": r.client_ref,
            "via": r.via, "path": r.path}


async def _found(people: People, client_ref: str | None, record_id: str | None,
                 since: datetime | None) -> list[dict[str, Any]]:
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, f"since {since.isoformat()} needs a time zone, "
                                 "e.g. 2026-11-25T10:00:00Z")
    return [_row(r) for r in await people.access_log.find(client_ref, record_id, since)]


ClientRefQ = Annotated[str | None, Query(min_length=1, max_length=64)]
RecordQ = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/audit/access", tags=["audit"])
async def access(people: PeopleDep, _: Admin, client_ref: ClientRefQ = None,
                 record_id: RecordQ = None, since: datetime | None = None) -> dict[str, Any]:
    """Every recorded read of this client's records (or of one record), oldest first:
    who, when, which record, and whether from a signed-in page or the API."""
    return {"client_ref": client_ref, "record_id": record_id,
            "reads": await _found(people, client_ref, record_id, since)}


@router.get("/audit/access.csv", tags=["audit"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def access_csv(people: PeopleDep, _: Admin, client_ref: ClientRefQ = None,
                     record_id: RecordQ = None, since: datetime | None = None) -> Response:
    """The same as CSV, every text cell made safe for spreadsheets."""
    rows = await _found(people, client_ref, record_id, since)
    return Response(to_csv(Table("access", COLUMNS, rows)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="access.csv"'})


class UserPatch(Strict):
    role: str | None = Field(default=None, pattern="^(admin|provider|navigator|display|analyst)$")
    organization_id: str | None = Field(default=None, min_length=1, max_length=64)
    disabled: bool | None = None


def _user(u: Any) -> dict[str, Any]:
    return {"id": u.id, "display_name": u.display_name, "email": u.email,
            "issuer": u.issuer, "role": u.role, "organization_id": u.organization_id,
            "last_seen_at": u.last_seen_at, "disabled": u.disabled_at is not None}


@router.get("/users")
async def users(people: PeopleDep, _: Admin) -> list[dict[str, Any]]:
    """Everyone who has signed in, with the role and organization an admin assigned (used
    when their provider sends none)."""
    return [_user(u) for u in await people.users.list()]


@router.patch("/users/{user_id}")
async def assign(user_id: str, body: UserPatch, people: PeopleDep, _: Admin) -> dict[str, Any]:
    """Assign a role or organization, or disable a person (refused at their next request,
    their open websockets closed at once)."""
    row = await people.users.assign(user_id, people.clock(), role=body.role,
                                    organization_id=body.organization_id,
                                    disabled=body.disabled)
    if body.disabled:  # their open websockets close now, on every process
        await people.notifier.revoked(user_id)
    return _user(row)
