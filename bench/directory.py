"""A large synthetic directory written straight into SQL (programs, units, and one audit
row per unit so the live state rebuilds with real counts), for benchmarks."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from inventory.config import Settings
from inventory.database import create_engine, migrate
from inventory.records import AuditEntry, Organization, Program, Token, Unit
from inventory.tokens import digest

LEVELS = ["withdrawal_management", "residential_sud", "crisis_residential",
          "psychiatric_inpatient", "crisis_stabilization", "sobering_center",
          "recovery_residence", "shelter", "intensive_outpatient", "outpatient",
          "opioid_treatment_program", "peer_center", "mental_health_residential",
          "board_and_care", "transitional_housing", "full_service_partnership"]
SLOT_LEVELS = {"intensive_outpatient", "outpatient", "opioid_treatment_program", "peer_center",
               "full_service_partnership"}
PAYERS = ["medi-cal", "medicare", "private", "uninsured", "county", "va"]
LANGS = ["en", "es", "zh", "fil", "vi", "ru"]
GENDERS = [["female", "male", "nonbinary"]] * 6 + [["female"], ["male"]]
BENCH_TOKEN = "bf_benchmark-admin-token"


def unit_population(rng: random.Random, program: dict, j: int) -> dict:
    """A unit's own population, narrowing its program's as real programs do: split by
    gender (a women's and a men's unit), a youth or older-adult unit, rooms that are not
    wheelchair accessible; about half the units inherit everything."""
    genders, low, high = program["genders"], program["age_min"], program["age_max"]
    roll = rng.random()
    if roll < 0.3 and len(genders) > 1:
        return {"genders": [genders[j % len(genders)]]}
    if roll < 0.4 and high - low > 10:
        return {"age_max": low + (high - low) // 2} if j % 2 else {"age_min": low + 5}
    if roll < 0.5 and program["wheelchair"]:
        return {"wheelchair": False}
    return {}


async def build(settings: Settings, programs: int, units_per_program: int,
                seed: int = 7) -> None:
    """Fill an empty database with `programs` programs in the Bay Area, each with
    `units_per_program` units of mixed populations (see `unit_population`)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = create_engine(settings.sqlalchemy_url())
    await migrate(engine)
    orgs = [{"id": f"org-{i}", "name": f"Organization {i}", "created_at": now}
            for i in range(max(programs // 20, 1))]
    rows, units, audit = [], [], []
    seq = 0
    for i in range(programs):
        low = rng.choice([0, 16, 18, 18, 18, 55])
        rows.append({
            "id": f"prg-{i}", "organization_id": orgs[i % len(orgs)]["id"],
            "name": f"Program {i} {rng.choice(['House', 'Center', 'Place', 'Clinic'])}",
            "description": "synthetic program for benchmarks",
            "level_of_care": LEVELS[i % len(LEVELS)], "asam_level": None,
            "area": f"Area {i % 40}", "address": None,
            "latitude": 37.6 + rng.random() * 0.4, "longitude": -122.55 + rng.random() * 0.4,
            "phone": None, "genders": rng.choice(GENDERS), "age_min": low,
            "age_max": rng.choice([25, 64, 120]) if low < 55 else 120,
            "payers": rng.sample(PAYERS, rng.randint(1, 4)),
            "languages": ["en", *rng.sample(LANGS[1:], rng.randint(0, 2))],
            "mat": rng.sample(["buprenorphine", "methadone", "naltrexone"], rng.randint(0, 3)),
            "wheelchair": rng.random() < 0.6, "pets": rng.random() < 0.1,
            "co_occurring": rng.random() < 0.5, "involuntary": False, "secure": False,
            "cadence_minutes": rng.choice([60, 240, 1440]), "created_at": now,
            "updated_at": now, "harm_reduction": rng.random() < 0.3,
            "telehealth": rng.random() < 0.3, "reentry": rng.random() < 0.2,
            "homeless_priority": rng.random() < 0.3})
        for j in range(units_per_program):
            seq += 1
            capacity = rng.randint(4, 40)
            available = rng.choice([0, 0, 0, 1, 2, 3, rng.randint(0, capacity)])
            uid = f"unit-{i}-{j}"
            units.append({"id": uid, "program_id": f"prg-{i}", "label": f"Pool {j}",
                          "kind": "slot" if rows[-1]["level_of_care"] in SLOT_LEVELS
                          else "bed", "capacity": capacity, "created_at": now,
                          "genders": None, "age_min": None, "age_max": None,
                          "wheelchair": None, "involuntary": None, "secure": None,
                          **unit_population(rng, rows[-1], j)})
            audit.append({"seq": seq, "unit_id": uid, "op": "create", "actor": "bench",
                          "at": now - timedelta(minutes=rng.randint(0, 600)),
                          "source": "bench", "available": available, "held": 0,
                          "waitlist": rng.choice([0, 0, 0, 2]), "capacity": capacity,
                          "detail": {"expected_discharges": []}})
    async with engine.begin() as conn:
        await conn.execute(insert(Organization), orgs)
        for table, data in ((Program, rows), (Unit, units), (AuditEntry, audit)):
            for start in range(0, len(data), 2000):
                await conn.execute(insert(table), data[start:start + 2000])
        await conn.execute(insert(Token), [{
            "id": "tok-bench", "token_hash": digest(BENCH_TOKEN), "role": "admin",
            "organization_id": None, "label": "benchmark", "created_at": now}])
    await engine.dispose()


def build_sync(settings: Settings, programs: int, units_per_program: int) -> None:
    asyncio.run(build(settings, programs, units_per_program))


PROVIDER_TOKEN = "bf_benchmark-provider-token"  # for org-0
DISPLAY_TOKEN = "bf_benchmark-display-token"
NAVIGATOR_TOKEN = "bf_benchmark-navigator-token"


async def add_tokens(settings: Settings) -> None:
    """A provider token for org-0, a display and a navigator token, beside the admin one."""
    engine = create_engine(settings.sqlalchemy_url())
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(Token), [
            {"id": f"tok-bench-{role}", "token_hash": digest(plaintext), "role": role,
             "organization_id": org, "label": f"benchmark {role}", "created_at": now}
            for role, org, plaintext in (("provider", "org-0", PROVIDER_TOKEN),
                                         ("display", None, DISPLAY_TOKEN),
                                         ("navigator", None, NAVIGATOR_TOKEN))])
    await engine.dispose()


def small_directory(settings: Settings, programs: int = 20, units_per_program: int = 5
                    ) -> list[str]:
    """A directory of one organization (org-0) with every token; returns its unit ids."""
    asyncio.run(build(settings, programs, units_per_program))
    asyncio.run(add_tokens(settings))
    return [f"unit-{i}-{j}" for i in range(programs) for j in range(units_per_program)]


def provider_tokens(settings: Settings, count: int, role: str = "provider") -> list[str]:
    """`count` more tokens (provider tokens are for org-0), as many providers or navigators
    would hold: rate limits are per token."""
    plaintexts = [f"bf_benchmark-{role}-{i}" for i in range(count)]

    async def add() -> None:
        engine = create_engine(settings.sqlalchemy_url())
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(insert(Token), [
                {"id": f"tok-bench-{role}-{i}", "token_hash": digest(p), "role": role,
                 "organization_id": "org-0" if role == "provider" else None,
                 "label": f"benchmark {role} {i}", "created_at": now}
                for i, p in enumerate(plaintexts)])
        await engine.dispose()

    asyncio.run(add())
    return plaintexts
