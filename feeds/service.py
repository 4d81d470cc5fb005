"""Feed operations shared by the HTTP endpoints, the CLI and the polling jobs: each takes the
app's services, reads one format and applies it through the domain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from feeds import census_csv, edxl_have, hsds_source
from feeds.dataset import Dataset
from feeds.directory_sync import DirectorySync, SyncReport
from inventory.actors import SYSTEM, Actor
from inventory.errors import Invalid
from inventory.model import UnitState
from inventory.system import System


async def import_hsds(system: System, source: str | Dataset, default_level: str = "outpatient",
                      label: str = "hsds") -> SyncReport:
    dataset = source if isinstance(source, Dataset) else await hsds_source.load(source)
    if default_level not in system.settings.levels_of_care and system.settings.levels_of_care:
        raise Invalid(f"level of care {default_level!r} is not configured")
    levels = set(system.settings.levels_of_care) or None
    return await DirectorySync(system.directory, label, default_level=default_level,
                               levels=levels).apply(dataset)


async def import_edxl(system: System, data: bytes, hospitals: dict[str, dict[str, str]] | None = None,
                      actor: Actor = SYSTEM, label: str = "edxl") -> dict[str, Any]:
    """Parse, check every mapped entry, then apply; a blocking problem changes nothing."""
    report = await edxl_have.parse_off_loop(data, system.settings.feed_parse_seconds)
    updates, problems, unmapped = edxl_have.map_to_units(
        report, system.settings.edxl_hospitals if hospitals is None else hospitals)
    org = actor.writable_organization()
    programs = await system.directory.programs()
    for update in updates:
        owner = next((p for p in programs.values() if update.unit_id in
                      {u.id for u in p.units}), None)
        if owner is None:
            problems.append(f"{update.source}: mapped unit {update.unit_id!r} does not exist")
        elif org is not None and owner.organization_id != org:
            problems.append(f"{update.source}: unit {update.unit_id!r} is not yours")
    if problems:
        raise EdxlRejected(problems, unmapped)
    sync = DirectorySync(system.directory, label, actor=actor)
    result = SyncReport()
    for update in updates:
        await sync.apply_counts(update.unit_id, update.available, update.capacity,
                                update.observed_at, result)
    return {"applied": result.counts_applied, "unchanged": result.unchanged,
            "kept_newer": result.counts_kept_newer, "errors": result.errors,
            "unmapped": unmapped}


class EdxlRejected(Invalid):
    def __init__(self, problems: list[str], unmapped: list[str]) -> None:
        super().__init__("the EDXL-HAVE document was not applied: " + "; ".join(problems))
        self.problems = problems
        self.unmapped = unmapped


async def import_census(system: System, data: bytes, actor: Actor, organization_id: str | None
                        ) -> list[UnitState]:
    """Validate every row, then apply them all; raises CensusRejected with a row report."""
    text = census_csv.decode(data)
    programs = await system.directory.programs()
    states = await system.live.units(u.id for p in programs.values() for u in p.units)
    census = await census_csv.validate_off_loop(text, programs, states, organization_id,
                                                system.clock(), system.settings.feed_parse_seconds)
    if census.problems:
        bad = len(census.problems)
        raise census_csv.CensusRejected(
            f"{bad} row(s) are wrong; nothing was changed", census.problems)
    return await census_csv.apply(census, system.availability, actor)


async def read_source(feed: dict[str, Any], client: httpx.AsyncClient | None = None) -> bytes:
    """The bytes a feed points at: `url` (GET) or `path` (a file)."""
    if feed.get("url"):
        async with httpx.AsyncClient(timeout=float(feed.get("timeout_seconds", 30))) as c:
            response = await (client or c).get(str(feed["url"]))
        if response.status_code != 200:
            raise Invalid(f"{feed['url']} answered {response.status_code}")
        return response.content
    if feed.get("path"):
        return Path(str(feed["path"])).read_bytes()
    raise Invalid(f"feed {feed.get('name')!r} has neither url nor path")
