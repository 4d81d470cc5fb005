"""Where an HSDS import comes from: a JSON file, a folder (datapackage CSV or JSON files), or
a URL (a JSON document, or an HSDS API whose `/services` pages are followed).

Reading and mapping run in a worker thread within `seconds` (feeds/limits.py); a JSON file
or response may be at most MAX_JSON_BYTES, and a folder hold at most MAX_FILES files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from feeds.dataset import Dataset
from feeds.hsds_csv import is_datapackage, services_from_folder
from feeds.hsds_import import parse_documents
from feeds.limits import DEFAULT_SECONDS, Deadline, off_loop
from inventory.errors import Invalid

MAX_PAGES = 200
MAX_FILES = 1000
MAX_JSON_BYTES = 50_000_000
SOURCE_SECONDS = 120.0  # a configured file, folder or URL: large, but off the loop


def load_path(path: Path, deadline: Deadline | None = None) -> Dataset:
    deadline = deadline or Deadline(SOURCE_SECONDS, str(path))
    if is_datapackage(path):
        return parse_documents(services_from_folder(path, deadline))
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise Invalid(f"{path} has neither services.csv nor any .json file")
        if len(files) > MAX_FILES:
            raise Invalid(f"{path} holds more than {MAX_FILES} .json files")
        documents = []
        for file in files:
            deadline.check()
            documents.append(_read_json(file))
        return parse_documents(documents)
    if not path.is_file():
        raise Invalid(f"{path} does not exist")
    return parse_documents([_read_json(path)])


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise Invalid(f"{path.name} is larger than {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Invalid(f"{path.name} is not valid JSON: {error}") from error


async def parse_off_loop(documents: list[Any], seconds: float = DEFAULT_SECONDS,
                         what: str = "the HSDS document") -> Dataset:
    """Map already-read HSDS documents in a worker thread within `seconds`."""
    return await off_loop(lambda _deadline: parse_documents(documents), seconds, what)


async def load_url(url: str, client: httpx.AsyncClient) -> Dataset:
    document = await _get(client, url)
    if isinstance(document, dict) and "openapi_url" in document and "version" in document:
        return await parse_off_loop(await _api_services(client, url.rstrip("/")),
                                    SOURCE_SECONDS, url)
    return await parse_off_loop([document], SOURCE_SECONDS, url)


async def _api_services(client: httpx.AsyncClient, base: str) -> list[Any]:
    """Every service of an HSDS API, full, following pages then each service's detail when
    the listing left related data out."""
    services: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        body = await _get(client, f"{base}/services?full=true&per_page=100&page={page}")
        contents = body.get("contents") or []
        for item in contents:
            if "capacities" in item or "service_at_locations" in item:
                services.append(item)
            else:
                services.append(await _get(client, f"{base}/services/{item['id']}"))
        if body.get("last_page", True) or not contents:
            break
    return services


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    if response.status_code != 200:
        raise Invalid(f"{url} answered {response.status_code}")
    if len(response.content) > MAX_JSON_BYTES:
        raise Invalid(f"{url} answered more than {MAX_JSON_BYTES} bytes")
    try:
        return await off_loop(lambda _deadline: json.loads(response.content), SOURCE_SECONDS,
                              url)
    except ValueError as error:
        raise Invalid(f"{url} did not return JSON: {error}") from error


async def load(source: str, client: httpx.AsyncClient | None = None) -> Dataset:
    if source.startswith(("http://", "https://")):
        async with httpx.AsyncClient(timeout=30) if client is None else _borrowed(client) as c:
            return await load_url(source, c)
    return await off_loop(lambda deadline: load_path(Path(source), deadline), SOURCE_SECONDS,
                          source)


class _borrowed:
    """Use a caller's client without closing it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        return None
