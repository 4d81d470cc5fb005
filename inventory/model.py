"""Pure rules of live availability: a unit's state, its status and its freshness.

`available` means beds (or slots) someone could be admitted to now: not held for a client on
the way and not promised to people on the program's waitlist. `held` counts active holds.
The invariant is `available >= 0`, `held >= 0` and `available + held <= capacity`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inventory.errors import Invalid

OPEN, FULL, WAITLIST, CLOSED = "open", "full", "waitlist", "closed"


def conflict_message(available: int, held: int, capacity: int) -> str:
    if held:
        return (
            f"available {available} plus {held} held bed(s) is more than the capacity of "
            f"{capacity}; at most {max(capacity - held, 0)} can be available while the holds last"
        )
    return f"available {available} is more than the capacity of {capacity}"


def status_of(available: int, waitlist: int, capacity: int) -> str:
    """Status in words, so screens never rely on colour alone."""
    if capacity == 0:
        return CLOSED
    if available > 0:
        return OPEN
    return WAITLIST if waitlist > 0 else FULL


def is_stale(updated_at: datetime | None, cadence_minutes: int, now: datetime) -> bool:
    """A count is stale once it is older than the update cadence its program promised."""
    if updated_at is None:
        return True
    return now - updated_at > timedelta(minutes=cadence_minutes)


@dataclass(slots=True)
class UnitState:
    """The live state of one unit as kept in Redis."""

    id: str
    program_id: str
    organization_id: str
    available: int
    held: int
    waitlist: int
    capacity: int
    updated_at: datetime | None
    updated_by: str
    source: str
    seq: int
    note: str = ""
    expected_discharges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return status_of(self.available, self.waitlist, self.capacity)

    def view(self, cadence_minutes: int, now: datetime) -> dict[str, Any]:
        """The public shape of a unit's live state (API and websocket)."""
        return {
            "id": self.id, "program_id": self.program_id, "available": self.available,
            "held": self.held, "waitlist": self.waitlist, "capacity": self.capacity,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by, "source": self.source, "seq": self.seq,
            "note": self.note, "expected_discharges": self.expected_discharges,
            "status": self.status, "stale": is_stale(self.updated_at, cadence_minutes, now),
        }


# C0 control characters other than tab, newline and carriage return: NUL cannot be stored
# in PostgreSQL text at all, and none of them belongs in a name or a note.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(text: str, field: str) -> str:
    """Refuse text that could not be recorded as given, before anything is applied."""
    if CONTROL.search(text):
        raise Invalid(f"{field} must not contain control characters (such as NUL)")
    return text
