"""The format-free shape every directory import is turned into before it touches the domain.

Parsers (HSDS JSON, HSDS CSV) produce a `Dataset`; `directory_sync` applies it. Each record
carries only the fields its source actually gave, so a re-import never blanks a field the
source is silent about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class UnitRecord:
    id: str
    label: str
    kind: str
    capacity: int
    available: int
    observed_at: datetime | None = None
    waitlist: int | None = None  # None: the source does not say


@dataclass(slots=True)
class ProgramRecord:
    id: str
    organization_id: str
    values: dict[str, Any]
    units: list[UnitRecord] = field(default_factory=list)


@dataclass(slots=True)
class Dataset:
    organizations: dict[str, str] = field(default_factory=dict)  # id -> name
    programs: list[ProgramRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_program(self, record: ProgramRecord) -> None:
        """Later copies of one service (it appears in several example files) replace
        earlier ones instead of duplicating them."""
        self.programs = [p for p in self.programs if p.id != record.id] + [record]
