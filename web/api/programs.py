"""Programs: search with live availability inline, and the admin's directory writes."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import Field

from inventory import demand
from inventory.actors import Actor
from inventory.eligibility import NARROWABLE, Narrowing
from inventory.errors import NotFound
from inventory.hours import check_hours
from inventory.model import UnitState
from inventory.search import SORTS, Filters, Result, search
from web.api.deps import services
from web.audiences import STAFF, audience_of, program_for, program_view, unit_for, unit_view
from web.auth import admin_only, reader
from web.schemas import (
    Gender,
    OrganizationIn,
    OrganizationPatch,
    ProgramIn,
    ProgramList,
    ProgramOut,
    ProgramPatch,
    Strict,
    UnitIn,
    UnitLive,
    UnitPatch,
)
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["programs"])
Svc = Annotated[Services, Depends(services)]


def parse_near(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    try:
        lat, lon = (float(x) for x in near.split(","))
    except ValueError:
        raise HTTPException(422, f"near must be 'lat,lon' in degrees, got {near!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise HTTPException(422, f"near {near!r} is not a point on Earth")
    return lat, lon


def check_levels(svc: Services, levels: list[str]) -> None:
    unknown = [lv for lv in levels if lv not in svc.settings.levels_of_care]
    if unknown:
        raise HTTPException(422, f"unknown level_of_care {', '.join(unknown)}; known: "
                                 f"{', '.join(svc.settings.levels_of_care)}")


def shown(view: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A program as this reader's audience may see it (web/audiences.py)."""
    return program_for(view, audience_of(actor))


@router.get("/programs", response_model=ProgramList, summary="Search programs by need")
async def list_programs(
    svc: Svc,
    actor: Annotated[Actor, Depends(reader)],
    level_of_care: Annotated[list[str], Query()] = [],  # noqa: B006
    gender: Annotated[str | None, Query(pattern="^(female|male|nonbinary)$")] = None,
    age: Annotated[int | None, Query(ge=0, le=130)] = None,
    payer: Annotated[str | None, Query(max_length=40)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    mat: Annotated[str | None,
                   Query(pattern="^(none|buprenorphine|methadone|naltrexone)$")] = None,
    wheelchair: bool | None = None,
    pets: bool | None = None,
    co_occurring: bool | None = None,
    involuntary: bool | None = None,
    secure: bool | None = None,
    harm_reduction: Annotated[bool | None, Query(
        description="Low-barrier: no sobriety requirement")] = None,
    telehealth: bool | None = None,
    reentry: Annotated[bool | None, Query(
        description="Takes people leaving jail or prison")] = None,
    homeless_priority: bool | None = None,
    near: Annotated[str | None, Query(description="lat,lon", max_length=60)] = None,
    within_km: Annotated[float | None, Query(gt=0, le=20_000)] = None,
    available_only: bool = False,
    fresh_only: bool = False,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "relevance",
    limit: Annotated[int, Query(ge=1, le=2000, description="Most programs returned; "
                                "`count` is the number that matched.")] = 100,
) -> Response:
    """Programs meeting every need, each with its units' live counts. `available` counts beds
    someone could be admitted to now (not held, not promised to the waitlist) in the units
    that fit the person described; a unit that does not fit (e.g. a men's unit for
    `gender=female`) is listed with `fits: false` and why, and never counted. A true
    capability (`wheelchair`, `pets`, `harm_reduction`, ...) is a requirement; false asks
    for nothing."""
    check_levels(svc, level_of_care)
    point = parse_near(near)
    if within_km is not None and point is None:
        raise HTTPException(422, "within_km needs near=lat,lon")
    filters = Filters(
        level_of_care=tuple(level_of_care), gender=gender, age=age, payer=payer,
        language=language, mat=mat, wheelchair=wheelchair, pets=pets,
        co_occurring=co_occurring, involuntary=involuntary, secure=secure,
        harm_reduction=harm_reduction, telehealth=telehealth, reentry=reentry,
        homeless_priority=homeless_priority, near=point,
        within_km=within_km, available_only=available_only, fresh_only=fresh_only, q=q,
        sort=sort,
    )
    results = await _search(svc, filters)
    demand.note_search(svc.demand, filters, results, svc.clock())
    now = svc.clock()
    cadence = svc.settings.default_cadence_minutes
    views = [shown(program_view(r, now, cadence), actor) for r in results[:limit]]
    # Serialized directly: validating hundreds of programs against the response model
    # cost more than the search itself (see docs/benchmarks.md).
    return Response(orjson.dumps({"count": len(results), "seq": svc.mirror.last_seq,
                                  "programs": views}), media_type="application/json")


async def _search(svc: Services, filters: Filters) -> list[Result]:
    """The search on this process's mirror, once it reflects every acknowledged change (one
    Redis round trip for the directory's version and one for the current seq)."""
    candidates = await svc.directory.at_levels(filters.level_of_care)
    states = await svc.mirror.current(svc.live, (u.id for p in candidates for u in p.units))
    return search(candidates, states, filters, svc.clock(),
                  svc.settings.default_cadence_minutes)


@router.get("/programs/{program_id}", response_model=ProgramOut, response_model_exclude_unset=True)
async def get_program(program_id: str, svc: Svc,
                      actor: Annotated[Actor, Depends(reader)]) -> dict[str, Any]:
    info = await svc.directory.program(program_id)
    states = await svc.live.units(u.id for u in info.units)
    result = search([info], states, Filters(), svc.clock(),
                    svc.settings.default_cadence_minutes)[0]
    return shown(program_view(result, svc.clock(), svc.settings.default_cadence_minutes), actor)


@router.get("/units/{unit_id}", response_model=UnitLive, response_model_exclude_unset=True,
            tags=["units"])
async def get_unit(unit_id: str, svc: Svc, actor: Annotated[Actor, Depends(reader)]
                   ) -> dict[str, Any]:
    state = (await svc.live.units([unit_id])).get(unit_id)
    if state is None:
        raise NotFound(f"unit {unit_id!r} does not exist")
    return await unit_response(svc, state, actor)


async def unit_response(svc: Services, state: UnitState, actor: Actor,
                        acknowledgement: bool = False) -> dict[str, Any]:
    """Exactly this state (not a later one: an acknowledgement must carry its own change's
    seq and counts), as `actor`'s audience may see it. Reads and directory changes check that
    the unit's population is current; a count's acknowledgement takes this process's cached
    labels (one Redis round trip fewer per write), since its counts come from the write."""
    directory = svc.directory
    program = await (directory.known_program_of_unit(state.id) if acknowledgement
                     else directory.program_of_unit(state.id))
    info = next(u for u in program.units if u.id == state.id)
    view = unit_view(info, state, svc.cadence(program.cadence_minutes), svc.clock())
    return unit_for(view, audience_of(actor))


# Admin writes ------------------------------------------------------------------------


@router.post("/organizations", status_code=201, tags=["admin"])
async def create_organization(body: OrganizationIn, svc: Svc,
                              _: Annotated[Actor, Depends(admin_only)]) -> dict[str, str]:
    org = await svc.directory.create_organization(body.name, body.id)
    return {"id": org.id, "name": org.name}


@router.patch("/organizations/{org_id}", tags=["admin"])
async def update_organization(org_id: str, body: OrganizationPatch, svc: Svc,
                              _: Annotated[Actor, Depends(admin_only)]) -> dict[str, str]:
    org = await svc.directory.update_organization(org_id, body.name)
    return {"id": org.id, "name": org.name}


@router.post("/programs", status_code=201, response_model=ProgramOut, tags=["admin"])
async def create_program(body: ProgramIn, svc: Svc,
                         _: Annotated[Actor, Depends(admin_only)]) -> dict[str, Any]:
    check_levels(svc, [body.level_of_care])
    if body.hours:
        check_hours(body.hours)
    values = body.model_dump(exclude={"id"})
    info = await svc.directory.create_program(values, body.id)
    result = search([info], {}, Filters(), svc.clock(), svc.settings.default_cadence_minutes)[0]
    return program_for(program_view(result, svc.clock(), svc.settings.default_cadence_minutes),
                       STAFF)


@router.patch("/programs/{program_id}", response_model=ProgramOut,
              response_model_exclude_unset=True, tags=["admin"])
async def update_program(program_id: str, body: ProgramPatch, svc: Svc,
                         actor: Annotated[Actor, Depends(admin_only)]) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if "level_of_care" in values:
        check_levels(svc, [values["level_of_care"]])
    if values.get("hours"):
        check_hours(values["hours"])
    current = await svc.directory.program(program_id)
    low = values.get("age_min", current.age_min)
    high = values.get("age_max", current.age_max)
    if low > high:
        raise HTTPException(422, f"age_min {low} is above age_max {high}")
    await svc.directory.update_program(program_id, values)
    return await get_program(program_id, svc, actor)


class UnitPopulationIn(Strict):
    """Who this unit's beds are for, when narrower than its program: left out (or null),
    the unit inherits the program's value. A unit may only narrow its program (422 naming
    the attribute otherwise): e.g. `genders: ["female"]` in a program for everyone, or
    `wheelchair: false` for the rooms that are not accessible."""

    genders: list[Gender] | None = Field(default=None, max_length=3)
    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    wheelchair: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None

    def narrowing(self) -> Narrowing:
        return Narrowing(genders=tuple(self.genders) if self.genders is not None else None,
                         age_min=self.age_min, age_max=self.age_max,
                         wheelchair=self.wheelchair, involuntary=self.involuntary,
                         secure=self.secure)


class UnitCreateIn(UnitIn, UnitPopulationIn):
    pass


class UnitChangeIn(UnitPatch, UnitPopulationIn):
    pass


@router.post("/programs/{program_id}/units", status_code=201, response_model=UnitLive,
             tags=["admin"])
async def create_unit(program_id: str, body: UnitCreateIn, svc: Svc,
                      actor: Annotated[Actor, Depends(admin_only)]) -> dict[str, Any]:
    state = await svc.directory.create_unit(
        program_id, actor, label=body.label, kind=body.kind, capacity=body.capacity,
        available=body.available, waitlist=body.waitlist, unit_id=body.id,
        population=body.narrowing())
    return await unit_response(svc, state, actor)


@router.patch("/units/{unit_id}", response_model=UnitLive, response_model_exclude_unset=True,
              tags=["admin"])
async def update_unit(unit_id: str, body: UnitChangeIn, svc: Svc,
                      actor: Annotated[Actor, Depends(admin_only)]) -> dict[str, Any]:
    await svc.directory.program_of_unit(unit_id)
    changes = body.model_dump(exclude_unset=True)
    population = {k: changes.pop(k) for k in NARROWABLE if k in changes}
    await svc.directory.update_unit(unit_id, actor, population=population, **changes)
    return await get_unit(unit_id, svc, actor)
