"""Admins issue and revoke tokens; a revocation takes effect at once on every process,
including websockets already open with that token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from inventory.actors import Actor
from inventory.tokens import create_token, list_tokens, revoke_token
from inventory.users import PERSON_PREFIX, Users
from web.api.deps import services
from web.auth import admin_only
from web.schemas import Strict, Timestamp
from web.services import Services

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
Svc = Annotated[Services, Depends(services)]
Admin = Annotated[Actor, Depends(admin_only)]


class TokenIn(Strict):
    role: str = Field(pattern="^(admin|provider|navigator|display|analyst)$")
    organization_id: str | None = Field(default=None, min_length=1, max_length=64)
    label: str = Field(default="", max_length=100)
    owner: str | None = Field(default=None, min_length=1, max_length=200, description=(
        "Who answers for this token: a person's id (usr-..., stored with their name), an "
        "organization or another name; default: its organization for a provider token, "
        "else you."))
    expires_in_minutes: int | None = Field(
        default=None, ge=1, le=60 * 24 * 366,
        description="Refused everywhere, open websockets included, once this has passed.")


class TokenOut(Strict):
    id: str
    role: str
    organization_id: str | None
    label: str
    expires_at: Timestamp | None
    owner: str | None
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


class TokenListed(Strict):
    id: str
    role: str
    organization_id: str | None
    label: str
    owner: str | None
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None


@router.post("", status_code=201, response_model=TokenOut)
async def issue(body: TokenIn, svc: Svc, admin: Admin) -> dict[str, Any]:
    now = svc.clock()
    expires = (None if body.expires_in_minutes is None else
               now + timedelta(minutes=body.expires_in_minutes))
    owner = body.owner or body.organization_id or admin.name
    if owner.startswith(PERSON_PREFIX):  # a person's id: named as their writes are
        owner = await Users(svc.sessions).token_owner(owner)
    plaintext, row = await create_token(svc.sessions, body.role, now, body.organization_id,
                                        body.label, expires, owner)
    return {"id": row.id, "role": row.role, "organization_id": row.organization_id,
            "label": row.label, "expires_at": row.expires_at, "owner": row.owner,
            "token": plaintext}


@router.get("", response_model=list[TokenListed])
async def listed(svc: Svc, _admin: Admin) -> list[dict[str, Any]]:
    """Every token with its owner and state, newest first; never the token itself."""
    return [{"id": t.id, "role": t.role, "organization_id": t.organization_id,
             "label": t.label, "owner": t.owner, "created_at": t.created_at,
             "expires_at": t.expires_at, "revoked_at": t.revoked_at}
            for t in await list_tokens(svc.sessions)]


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke(token_id: str, svc: Svc, _admin: Admin) -> Response:
    await revoke_token(svc.sessions, token_id, svc.clock())
    await svc.notifier.revoked(token_id)
    return Response(status_code=204)
