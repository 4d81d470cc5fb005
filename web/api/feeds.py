"""Feeds over HTTP: standards' read endpoints (HSDS, FHIR), uploads, and feed status."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from feeds import census_csv, compliance, polling, service
from feeds.dataset import Dataset
from feeds.hsds_import import parse_documents
from feeds.limits import Deadline, off_loop
from feeds.status import FeedStatus
from feeds.uploads import file_from_body
from feeds.webhook import ReminderWebhook
from inventory.actors import Actor
from inventory.errors import Invalid
from inventory.keys import Keys
from web.api import fhir, hsds
from web.api.deps import services
from web.api.programs import unit_response
from web.auth import admin_only, writers
from web.limits import json_problem
from web.services import Services

router = APIRouter()
router.include_router(hsds.router)
router.include_router(fhir.router)
api = APIRouter(prefix="/api/v1", tags=["feeds"])
Svc = Annotated[Services, Depends(services)]
Writer = Annotated[Actor, Depends(writers)]
Admin = Annotated[Actor, Depends(admin_only)]
UPLOAD_DOC = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
    "text/csv": {"schema": {"type": "string"}}}, "required": True}}


async def uploaded(request: Request) -> bytes:
    """The uploaded file; the MIME parser runs in a worker thread (a large multipart body
    costs real time to take apart)."""
    data = await asyncio.to_thread(file_from_body, request.headers.get("content-type", ""),
                                   await request.body())
    if not data.strip():
        raise Invalid("the upload is empty: send a CSV file as form field 'file' or as a "
                      "text/csv body")
    return data


@api.post("/census", openapi_extra=UPLOAD_DOC)
async def upload_census(request: Request, svc: Svc, actor: Writer) -> JSONResponse:
    """A daily census CSV (see docs/feeds.md for columns). Every row is checked first: any
    bad row -> 422 with a row-by-row report and nothing changed; else all rows apply, each
    one audited change with source `csv`."""
    data = await uploaded(request)
    try:
        states = await service.import_census(svc.system, data, actor,
                                             actor.writable_organization())
    except census_csv.CensusRejected as error:
        status = 409 if "while applying" in str(error) else 422
        return JSONResponse({"detail": str(error),
                             "rows": [p.as_dict() for p in error.problems]}, status_code=status)
    units = [await unit_response(svc, s, actor, acknowledgement=True) for s in states]
    return JSONResponse({"applied": len(units), "units": units})


@api.post("/feeds/edxl-have", openapi_extra={"requestBody": {"content": {
    "application/xml": {"schema": {"type": "string"}}}, "required": True}})
async def upload_edxl(request: Request, svc: Svc, actor: Writer) -> JSONResponse:
    """An EDXL-HAVE document; hospitals and bed types map to units through `edxl_hospitals`.
    A provider token may only touch its own organization's units."""
    data = await uploaded(request)
    try:
        result = await service.import_edxl(svc.system, data, actor=actor)
    except service.EdxlRejected as error:
        return JSONResponse({"detail": str(error), "problems": error.problems,
                             "unmapped": error.unmapped}, status_code=422)
    return JSONResponse(result)


@api.post("/feeds/hsds")
async def upload_hsds(request: Request, svc: Svc, _admin: Admin,
                      level_of_care: str = "outpatient") -> dict[str, Any]:
    """Import HSDS JSON (a service, a Page, an organization or a list) into the directory.
    Whatever its content type, the body must keep the JSON limits (web/limits.py); it is
    read and mapped off the event loop within `feed_parse_seconds`."""
    body = await request.body()
    max_depth = svc.settings.max_json_depth

    def read(_deadline: Deadline) -> Dataset:
        problem = json_problem(body, max_depth)
        if problem is not None:
            raise Invalid(problem.message)
        try:
            document = json.loads(body)
        except ValueError as error:
            raise Invalid(f"the body is not JSON: {error}") from error
        return parse_documents([document])

    dataset = await off_loop(read, svc.settings.feed_parse_seconds, "the HSDS document")
    report = await service.import_hsds(svc.system, dataset, level_of_care)
    return report.as_dict()


@api.get("/feeds")
async def feed_status(svc: Svc, _admin: Admin) -> dict[str, Any]:
    """Each configured feed's last success, last error and next run; the reminder webhook's
    health; and programs flagged for consistent non-compliance."""
    status = FeedStatus(svc.redis, svc.settings.redis_prefix)
    feeds = []
    for feed in svc.settings.feeds:
        feeds.append({"name": feed["name"], "kind": feed.get("kind"),
                      "source": feed.get("url") or feed.get("path"),
                      "interval_seconds": polling.interval_of(feed),
                      **await status.get(str(feed["name"]))})
    webhook = ReminderWebhook(svc.settings.reminder_webhook, svc.redis,
                              svc.settings.redis_prefix)
    programs = await svc.directory.programs()
    stale = await svc.redis.hlen(Keys(svc.settings.redis_prefix).feed_stale)
    return {"feeds": feeds, "reminder_webhook": await webhook.state(), "stale_units": stale,
            "noncompliant": await compliance.noncompliance(svc.sessions, programs,
                                                           svc.clock())}


@api.post("/feeds/reminder-webhook/enable")
async def enable_webhook(svc: Svc, _admin: Admin) -> dict[str, Any]:
    """Turn the reminder webhook back on after it was disabled for repeated failures."""
    webhook = ReminderWebhook(svc.settings.reminder_webhook, svc.redis,
                              svc.settings.redis_prefix)
    await webhook.enable()
    return await webhook.state()


router.include_router(api)
