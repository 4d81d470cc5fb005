"""Admins issue and revoke tokens; a revocation takes effect at once on every process,
including websockets already open with that token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from inventory.actors import Actor
from inventory.tokens import create_token, revoke_token
from web.api.deps import services
from web.auth import admin_only
from web.schemas import Strict
from web.services import Services

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
Svc = Annotated[Services, Depends(services)]
Admin = Annotated[Actor, Depends(admin_only)]


class TokenIn(Strict):
    role: str = Field(pattern="^(admin|provider|navigator|display|analyst)$")
    organization_id: str | None = Field(default=None, min_length=1, max_length=64)
    label: str = Field(default="", max_length=100)


class TokenOut(Strict):
    id: str
    role: str
    organization_id: str | None
    label: str
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


@router.post("", status_code=201, response_model=TokenOut)
async def issue(body: TokenIn, svc: Svc, _admin: Admin) -> dict[str, Any]:
    plaintext, row = await create_token(svc.sessions, body.role, svc.clock(),
                                        body.organization_id, body.label)
    return {"id": row.id, "role": row.role, "organization_id": row.organization_id,
            "label": row.label, "token": plaintext}


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke(token_id: str, svc: Svc, _admin: Admin) -> Response:
    await revoke_token(svc.sessions, token_id, svc.clock())
    await svc.notifier.revoked(token_id)
    return Response(status_code=204)
