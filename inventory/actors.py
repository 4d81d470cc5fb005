"""Who is acting: a token or a signed-in person, with a role and, for providers, the one
organization it may change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ADMIN, PROVIDER, NAVIGATOR, DISPLAY = "admin", "provider", "navigator", "display"
ANALYST = "analyst"  # reads analytics and reports; changes nothing
# Sees every transition and the queue, reassigns, may exceed a caseload; escalations go to it.
SUPERVISOR = "supervisor"
ROLES = (ADMIN, PROVIDER, NAVIGATOR, DISPLAY, ANALYST, SUPERVISOR)


@dataclass(frozen=True, slots=True)
class Actor:
    token_id: str
    role: str
    organization_id: str | None = None
    label: str = ""
    expires_at: datetime | None = None
    # A signed-in person's display name (then `token_id` is their stable user id, `usr-...`,
    # so ownership of holds, referrals and transitions follows the person, not a session).
    person: str = ""

    @property
    def name(self) -> str:
        """How `updated_by` and the audit log name this actor: a token as `role:token id`,
        a person by display name with their user id, so two people of the same name stay
        apart. Readers without a staff role never see it (web/views.py drops `updated_by`)."""
        if self.person:  # at most 99 characters: the audit log's actor column holds 100
            return f"{self.person[:80]} ({self.token_id[:16]})"
        return f"{self.role}:{self.token_id}"

    def writable_organization(self) -> str | None:
        """The organization this actor is confined to; None means any (admins)."""
        return None if self.role == ADMIN else self.organization_id or "\0none"


SYSTEM = Actor(token_id="system", role=ADMIN, label="Bedfinder")
