"""Who is acting: a token's role and, for providers, the one organization it may change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ADMIN, PROVIDER, NAVIGATOR, DISPLAY = "admin", "provider", "navigator", "display"
ANALYST = "analyst"  # reads analytics and reports; changes nothing
ROLES = (ADMIN, PROVIDER, NAVIGATOR, DISPLAY, ANALYST)


@dataclass(frozen=True, slots=True)
class Actor:
    token_id: str
    role: str
    organization_id: str | None = None
    label: str = ""
    expires_at: datetime | None = None

    @property
    def name(self) -> str:
        """How the audit log names this actor: never a person, only the token."""
        return f"{self.role}:{self.token_id}"

    def writable_organization(self) -> str | None:
        """The organization this actor is confined to; None means any (admins)."""
        return None if self.role == ADMIN else self.organization_id or "\0none"


SYSTEM = Actor(token_id="system", role=ADMIN, label="Bedfinder")
