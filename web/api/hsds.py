"""HSDS 3.1 read API under /hsds, laid out as the official schema/openapi.json (GET only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from feeds import hsds_export as out
from feeds import hsds_vocabulary as vocab
from inventory.actors import Actor
from inventory.directory import ProgramInfo
from web.api.deps import services
from web.auth import reader
from web.services import Services

router = APIRouter(prefix="/hsds", tags=["hsds"])
Svc = Annotated[Services, Depends(services)]
Reader = Annotated[Actor, Depends(reader)]
Page = Annotated[int, Query(ge=1, description="Page number of paginated result.")]
PerPage = Annotated[int, Query(ge=1, le=500, description="Results in a single page.")]


def check_format(format: str | None) -> None:
    if format not in (None, "json"):
        raise HTTPException(422, f"format {format!r} is not offered; use json")


async def matching(svc: Services, search: str | None, organization_id: str | None,
                   taxonomy_term_id: str | None, taxonomy_id: str | None) -> list[ProgramInfo]:
    programs = sorted((await svc.directory.programs()).values(), key=lambda p: (p.name, p.id))
    if search:
        programs = [p for p in programs if search.lower() in p.search_text]
    if organization_id:
        programs = [p for p in programs if p.organization_id == organization_id]
    if taxonomy_term_id:
        programs = [p for p in programs if taxonomy_term_id in
                    {a["taxonomy_term_id"] for a in out.attributes(p)}]
    if taxonomy_id and taxonomy_id != vocab.taxonomy()["id"]:
        programs = []
    return programs


def paged(items: list[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    start = (page - 1) * per_page
    return items[start:start + per_page], len(items)


@router.get("/")
async def root(request: Request, svc: Svc, _actor: Reader) -> dict[str, Any]:
    """Which HSDS version this API speaks; the link comes from `public_base_url`, never from
    the request's Host header."""
    openapi = request.app.openapi_url or "/openapi.json"
    return out.root(svc.settings.public_base_url.rstrip("/") + openapi)


@router.get("/services")
async def list_services(svc: Svc, _actor: Reader, search: str | None = None, page: Page = 1,
                        per_page: PerPage = 50, format: str | None = None,
                        taxonomy_term_id: str | None = None, taxonomy_id: str | None = None,
                        organization_id: str | None = None, modified_after: str | None = None,
                        minimal: bool = False, full: bool = False) -> dict[str, Any]:
    """Services (programs); `full=true` nests capacities with live counts."""
    check_format(format)
    programs = await matching(svc, search, organization_id, taxonomy_term_id, taxonomy_id)
    chosen, total = paged(programs, page, per_page)
    if minimal:
        return out.page([{"id": p.id, "name": p.name, "status": "active"} for p in chosen],
                        total, page, per_page)
    states = await svc.live_states(await svc.directory.programs()) if full else {}
    items = [out.service_full(p, states) if full else out.service_list_item(p) for p in chosen]
    return out.page(items, total, page, per_page)


@router.get("/services/{service_id}")
async def get_service(service_id: str, svc: Svc, _actor: Reader) -> dict[str, Any]:
    """One service with its organization, location, phones and live capacities."""
    program = await svc.directory.program(service_id)
    states = await svc.live.units(u.id for u in program.units)
    return out.service_full(program, states)


def organizations_of(programs: list[ProgramInfo]) -> dict[str, tuple[str, list[ProgramInfo]]]:
    orgs: dict[str, tuple[str, list[ProgramInfo]]] = {}
    for p in programs:
        orgs.setdefault(p.organization_id, (p.organization_name, []))[1].append(p)
    return orgs


@router.get("/organizations")
async def list_organizations(svc: Svc, _actor: Reader, search: str | None = None,
                             full_service: bool = False, full: bool = False,
                             taxonomy_term_id: str | None = None,
                             taxonomy_id: str | None = None, page: Page = 1,
                             per_page: PerPage = 50, format: str | None = None
                             ) -> dict[str, Any]:
    """Organizations that run at least one program."""
    check_format(format)
    programs = await matching(svc, None, None, taxonomy_term_id, taxonomy_id)
    orgs = sorted(organizations_of(programs).items(), key=lambda kv: (kv[1][0], kv[0]))
    if search:
        orgs = [o for o in orgs if search.lower() in o[1][0].lower()]
    chosen, total = paged(orgs, page, per_page)
    states = await svc.live_states(await svc.directory.programs()) if full_service else {}
    items = [out.organization_full(oid, name, ps, states, full_service) if full or full_service
             else out.organization_list_item(oid, name) for oid, (name, ps) in chosen]
    return out.page(items, total, page, per_page)


@router.get("/organizations/{organization_id}")
async def get_organization(organization_id: str, svc: Svc, _actor: Reader,
                           full_service: bool = False) -> dict[str, Any]:
    """One organization with its services (ids and names, or full with `full_service`)."""
    orgs = organizations_of(list((await svc.directory.programs()).values()))
    if organization_id not in orgs:
        raise HTTPException(404, f"organization {organization_id!r} has no programs here")
    name, programs = orgs[organization_id]
    states = await svc.live_states(await svc.directory.programs()) if full_service else {}
    return out.organization_full(organization_id, name, programs, states, full_service)


@router.get("/service_at_locations")
async def list_service_at_locations(
        svc: Svc, _actor: Reader, search: str | None = None,
        taxonomy_term_id: str | None = None, taxonomy_id: str | None = None,
        organization_id: str | None = None, modified_after: str | None = None,
        full: bool = False, page: Page = 1, per_page: PerPage = 50,
        format: str | None = None, postcode: str | None = None,
        proximity: str | None = None) -> dict[str, Any]:
    """One service_at_location per program that has an address or a point."""
    check_format(format)
    programs = [p for p in await matching(svc, search, organization_id, taxonomy_term_id,
                                          taxonomy_id) if out.has_location(p)]
    chosen, total = paged(programs, page, per_page)
    states = await svc.live_states(await svc.directory.programs()) if full else {}
    items = [out.service_at_location(p, service=out.service_full(p, states) if full
                                     else out.service_list_item(p)) for p in chosen]
    return out.page(items, total, page, per_page)


@router.get("/service_at_locations/{sal_id}")
async def get_service_at_location(sal_id: str, svc: Svc, _actor: Reader) -> dict[str, Any]:
    programs = (await svc.directory.programs()).values()
    program = next((p for p in programs if out.service_at_location_id(p) == sal_id), None)
    if program is None:
        raise HTTPException(404, f"service_at_location {sal_id!r} does not exist")
    states = await svc.live.units(u.id for u in program.units)
    return out.service_at_location(program, service=out.service_full(program, states))


@router.get("/taxonomies")
async def list_taxonomies(_actor: Reader, search: str | None = None, page: Page = 1,
                          per_page: PerPage = 50, format: str | None = None
                          ) -> dict[str, Any]:
    """The one taxonomy our attributes use."""
    check_format(format)
    items = [vocab.taxonomy()]
    if search:
        items = [t for t in items if search.lower() in t["name"]]
    chosen, total = paged(items, page, per_page)
    return out.page(chosen, total, page, per_page)


@router.get("/taxonomies/{taxonomy_id}")
async def get_taxonomy(taxonomy_id: str, _actor: Reader) -> dict[str, Any]:
    if taxonomy_id != vocab.taxonomy()["id"]:
        raise HTTPException(404, f"taxonomy {taxonomy_id!r} does not exist")
    return vocab.taxonomy()
