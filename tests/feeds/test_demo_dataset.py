"""The demo directory is an HSDS 3.1 dataset: it validates against the official schemas,
imports through the HSDS importer with nothing lost or warned about, and the directory it
makes exports and re-imports unchanged."""

from __future__ import annotations

import json
from typing import Any

from feeds import service
from feeds.hsds_import import parse_documents
from tests.conftest import Server
from tests.feeds.hsds_schemas import errors
from web.demo import DATASET, PROVIDER_ORGANIZATION, load_directory

ORGANIZATIONS, PROGRAMS, UNITS = 14, 40, 49


def dataset() -> list[dict[str, Any]]:
    return json.loads(DATASET.read_text(encoding="utf-8"))


def test_every_object_of_the_demo_dataset_is_valid_hsds() -> None:
    organizations = dataset()
    problems = [errors("organization", {k: v for k, v in org.items() if k != "services"})
                for org in organizations]
    problems += [errors("service", s) for org in organizations for s in org["services"]]
    assert [p for p in problems if p] == []
    assert len(organizations) == ORGANIZATIONS
    assert sum(len(org["services"]) for org in organizations) == PROGRAMS


def test_the_demo_dataset_parses_to_every_program_and_unit_without_a_warning() -> None:
    parsed = parse_documents([dataset()])
    assert parsed.warnings == []
    assert len(parsed.organizations) == ORGANIZATIONS
    assert len(parsed.programs) == PROGRAMS
    assert sum(len(p.units) for p in parsed.programs) == UNITS
    assert PROVIDER_ORGANIZATION in parsed.organizations


async def test_the_demo_directory_loads_through_the_importer_with_its_facts(
        server: Server) -> None:
    report = await load_directory(server.svc.system)
    assert len([c for c in report.created if c.startswith("unit ")]) == UNITS
    programs = await server.svc.directory.programs()
    detox = programs["prg-fogline-medical-detox"]
    assert (detox.organization_id, detox.organization_name) == (
        PROVIDER_ORGANIZATION, "Fogline Recovery Collective")
    assert (detox.level_of_care, detox.asam_level, detox.area, detox.cadence_minutes) == (
        "withdrawal_management", "3.7-WM", "South of Market", 60)
    assert detox.address == "1147 Howard St, San Francisco, CA 94103"
    assert (detox.phone, detox.languages, detox.mat) == (
        "(415) 555-0101", ("en", "es", "vi"), ("buprenorphine", "methadone", "naltrexone"))
    assert (detox.wheelchair, detox.pets, detox.co_occurring) == (True, False, True)
    women = next(u for u in detox.units if u.id == "unit-fogline-detox-women")
    assert (women.label, women.kind, women.capacity) == ("Women's beds", "bed", 8)
    youth = programs["prg-tidewater-youth-crisis"]
    assert (youth.age_min, youth.age_max) == (16, 24)
    states = await server.svc.live.units(["unit-fogline-detox-women",
                                          "unit-steady-bayview-intake"])
    assert (states["unit-fogline-detox-women"].available,
            states["unit-fogline-detox-women"].capacity) == (2, 8)
    # HSDS has no waitlist: it travels as the capacity's `waitlist:N` attribute.
    assert (states["unit-steady-bayview-intake"].waitlist,
            states["unit-steady-bayview-intake"].available) == (3, 0)


async def test_the_demo_directory_exported_as_hsds_reimports_unchanged(server: Server) -> None:
    await load_directory(server.svc.system)
    server.settings.public_read = True  # the import client sends no token
    report = await service.import_hsds(server.svc, server.base_url + "/hsds/")
    assert report.errors == [] and report.warnings == []
    assert report.created == [] and report.updated == [] and report.counts_applied == []
    assert len([u for u in report.unchanged if u.startswith("program")]) == PROGRAMS
