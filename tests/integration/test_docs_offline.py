"""Docs and links served from the package: `/docs` loads only the app's own files under the
pages' strict CSP; absolute links come from `public_base_url`, never from the Host header;
private responses are `Cache-Control: no-store`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from inventory.config import Settings
from tests.conftest import Server, serve

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
PUBLIC_BASE = "https://beds.example.org/county"


@pytest.fixture
async def public_server(settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(settings.model_copy(update={"public_base_url": PUBLIC_BASE})):
        yield running


async def test_docs_page_loads_only_same_origin_assets_that_answer(server: Server) -> None:
    async with server.client() as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        references = REFERENCE.findall(page.text)
        assert references, "the page references its script and styles"
        for url in references:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 0, url
        scripts = SCRIPT.findall(page.text)
        assert len(scripts) == 2
        for attributes, body in scripts:
            assert "src=" in attributes and body.strip() == ""  # no inline script
        bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert "SwaggerUIBundle" in bundle.text
        assert bundle.headers["content-type"].startswith("text/javascript")
        openapi = page.text.split('data-openapi="')[1].split('"')[0]
        assert (await client.get(openapi)).json()["info"]["title"] == "Bedfinder"
        assert (await client.get("/redoc")).status_code == 404  # FastAPI's CDN page is off


async def test_docs_page_runs_under_the_pages_strict_policy(server: Server) -> None:
    async with server.client() as client:
        page = await client.get("/docs")
        docs_policy = page.headers["content-security-policy"]
        pages_policy = (await client.get("/")).headers["content-security-policy"]
    assert docs_policy == pages_policy
    directives = dict(d.strip().split(" ", 1) for d in docs_policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert "http" not in docs_policy.replace("'self'", "")  # no other origin anywhere


async def test_absolute_links_come_from_the_public_base_url_not_the_host_header(
        public_server: Server) -> None:
    server = public_server
    org = await server.org()
    program = await server.program(org)
    await server.unit(program, capacity=3, available=1)
    token = await server.token("display")
    async with server.client(token) as client:
        headers = {"Host": "evil.example"}
        services = (await client.get("/fhir/HealthcareService",
                                     params={"_include": "HealthcareService:location"},
                                     headers=headers)).json()
        locations = (await client.get("/fhir/Location", headers=headers)).json()
        hsds = (await client.get("/hsds/", headers=headers)).json()
    urls = [e["fullUrl"] for bundle in (services, locations) for e in bundle["entry"]]
    assert len(urls) == 3
    assert all(url.startswith(PUBLIC_BASE + "/fhir/") for url in urls), urls
    assert f"{PUBLIC_BASE}/fhir/HealthcareService/{program}" in urls
    assert hsds["openapi_url"] == PUBLIC_BASE + "/openapi.json"


async def test_private_responses_are_never_stored(server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    unit = await server.unit(program, capacity=3, available=1)
    token = await server.token("admin")
    async with server.client(token) as client:
        for path in ("/api/v1/programs", f"/api/v1/units/{unit}", "/api/v1/holds",
                     "/fhir/Location", "/hsds/services", "/api/v1/reports/holds.csv",
                     "/metrics", "/static/common.js", "/docs/assets/swagger-ui.css"):
            reply = await client.get(path)
            assert reply.status_code == 200, (path, reply.text)
            assert reply.headers["cache-control"] == "no-store", path
    async with server.client() as anonymous:
        for path in ("/", "/docs", "/openapi.json", "/api/v1/programs", "/healthz"):
            reply = await anonymous.get(path)
            assert reply.headers["cache-control"] == "no-store", path
        css = await anonymous.get("/docs/assets/swagger-ui.css")
        assert css.headers["cache-control"] == "public, max-age=3600"
        bundled = await anonymous.get("/static/common.js")
        assert bundled.headers["cache-control"] == "no-cache"
        with_query_token = await anonymous.get(f"/static/common.js?tok%65n={token}")
        assert with_query_token.headers["cache-control"] == "no-store"
