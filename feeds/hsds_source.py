"""Where an HSDS import comes from: a JSON file, a folder (datapackage CSV or JSON files), or
a URL (a JSON document, or an HSDS API whose `/services` pages are followed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from feeds.dataset import Dataset
from feeds.hsds_csv import is_datapackage, services_from_folder
from feeds.hsds_import import parse_documents
from inventory.errors import Invalid

MAX_PAGES = 200


def load_path(path: Path) -> Dataset:
    if is_datapackage(path):
        return parse_documents(services_from_folder(path))
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise Invalid(f"{path} has neither services.csv nor any .json file")
        return parse_documents([_read_json(f) for f in files])
    if not path.is_file():
        raise Invalid(f"{path} does not exist")
    return parse_documents([_read_json(path)])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Invalid(f"{path.name} is not valid JSON: {error}") from error


async def load_url(url: str, client: httpx.AsyncClient) -> Dataset:
    document = await _get(client, url)
    if isinstance(document, dict) and "openapi_url" in document and "version" in document:
        return parse_documents(await _api_services(client, url.rstrip("/")))
    return parse_documents([document])


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
    try:
        return response.json()
    except ValueError as error:
        raise Invalid(f"{url} did not return JSON: {error}") from error


async def load(source: str, client: httpx.AsyncClient | None = None) -> Dataset:
    if source.startswith(("http://", "https://")):
        async with httpx.AsyncClient(timeout=30) if client is None else _borrowed(client) as c:
            return await load_url(source, c)
    return load_path(Path(source))


class _borrowed:
    """Use a caller's client without closing it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        return None
