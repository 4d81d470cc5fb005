"""FHIR R4 read endpoints: HealthcareService and Location searches returning Bundles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from feeds import fhir
from inventory.actors import Actor
from inventory.directory import ProgramInfo
from inventory.errors import NotFound
from web.api.deps import services
from web.auth import reader
from web.services import Services

router = APIRouter(prefix="/fhir", tags=["fhir"])
Svc = Annotated[Services, Depends(services)]
Reader = Annotated[Actor, Depends(reader)]
MEDIA = "application/fhir+json"
INCLUDE_LOCATIONS = "HealthcareService:location"


def fhir_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=MEDIA)


def base_url(svc: Services) -> str:
    """Where this FHIR endpoint lives, from `public_base_url` (a request's Host header is
    whatever the client sent, so it never makes a link)."""
    return svc.settings.public_base_url.rstrip("/") + "/fhir"


def select(programs: list[ProgramInfo], ids: str | None, type_: str | None, near: str | None
           ) -> list[ProgramInfo]:
    if ids:
        wanted = set(ids.split(","))
        programs = [p for p in programs if p.id in wanted or wanted & {u.id for u in p.units}]
    if type_:
        tokens = type_.split(",")
        programs = [p for p in programs if any(
            fhir.token_matches(t, fhir.LEVEL_OF_CARE, p.level_of_care) for t in tokens)]
    if near:
        try:
            lat, lon, km = fhir.parse_near(near)
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        near_ones = [(fhir.km_between(lat, lon, p.latitude, p.longitude), p) for p in programs
                     if p.latitude is not None and p.longitude is not None]
        programs = [p for d, p in sorted(near_ones, key=lambda x: x[0]) if d <= km]
    return programs


@router.get("/metadata")
async def capability_statement(svc: Svc) -> JSONResponse:
    """What this FHIR endpoint offers."""
    search = [{"name": n, "type": t} for n, t in (("_id", "token"), ("type", "token"),
                                                  ("near", "special"))]
    return fhir_json({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
        "date": svc.clock().date().isoformat(), "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [
            {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
             "searchParam": search} for t in ("HealthcareService", "Location")]}],
    })


@router.get("/HealthcareService")
async def search_services(svc: Svc, _actor: Reader,
                          _id: str | None = None, type: str | None = None,
                          near: str | None = None, _include: str | None = None
                          ) -> JSONResponse:
    """Programs as HealthcareService; `_include=HealthcareService:location` adds their units
    as Location entries (search mode `include`) in the same searchset Bundle."""
    programs = select(list((await svc.directory.programs()).values()), _id, type, near)
    names = svc.settings.level_names()
    matches = [fhir.healthcare_service(p, names) for p in programs]
    included: list[dict[str, Any]] = []
    if _include == INCLUDE_LOCATIONS:
        included = await locations_of(svc, programs)
    elif _include:
        raise HTTPException(400, f"_include {_include!r} is not supported; use "
                                 f"{INCLUDE_LOCATIONS}")
    return fhir_json(fhir.searchset(base_url(svc), matches, included))


async def locations_of(svc: Services, programs: list[ProgramInfo],
                       unit_ids: set[str] | None = None) -> list[dict[str, Any]]:
    states = await svc.live.units(u.id for p in programs for u in p.units)
    now, names = svc.clock(), svc.settings.level_names()
    return [fhir.location(p, u, states.get(u.id), svc.cadence(p.cadence_minutes), now, names)
            for p in programs for u in p.units if unit_ids is None or u.id in unit_ids]


@router.get("/HealthcareService/{service_id}")
async def read_service(service_id: str, svc: Svc, _actor: Reader) -> JSONResponse:
    program = (await svc.directory.programs()).get(service_id)
    if program is None:
        raise HTTPException(404, f"HealthcareService/{service_id} does not exist")
    return fhir_json(fhir.healthcare_service(program, svc.settings.level_names()))


@router.get("/Location")
async def search_locations(svc: Svc, _actor: Reader,
                           _id: str | None = None, type: str | None = None,
                           near: str | None = None) -> JSONResponse:
    """Units as Location, with bed status in `operationalStatus` (HL7 v2 table 0116)."""
    programs = select(list((await svc.directory.programs()).values()), _id, type, near)
    unit_ids = set(_id.split(",")) if _id else None
    if unit_ids is not None:
        unit_ids = {u.id for p in programs for u in p.units
                    if u.id in unit_ids or p.id in unit_ids}
    resources = await locations_of(svc, programs, unit_ids)
    return fhir_json(fhir.searchset(base_url(svc), resources, []))


@router.get("/Location/{unit_id}")
async def read_location(unit_id: str, svc: Svc, _actor: Reader) -> JSONResponse:
    try:
        program = await svc.directory.program_of_unit(unit_id)
    except NotFound as error:
        raise HTTPException(404, f"Location/{unit_id} does not exist") from error
    [resource] = await locations_of(svc, [program], {unit_id})
    return fhir_json(resource)
