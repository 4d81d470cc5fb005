"""The page shells as served, without a browser: strict headers, no inline script or style,
modules with a JavaScript type, and no way out of the static folder."""

from __future__ import annotations

import html
import json
import re

from inventory.config import Settings
from tests.conftest import serve


async def test_pages_are_strict_shells_and_static_files_stay_in_their_folder(
        settings: Settings) -> None:
    async for server in serve(settings):
        async with server.client() as client:
            for path, module in (("/", "navigator"), ("/provider", "provider"),
                                 ("/display", "display")):
                page = await client.get(path)
                assert page.status_code == 200
                policy = page.headers["content-security-policy"]
                assert "script-src 'self';" in policy and "style-src 'self';" in policy
                assert "unsafe" not in policy
                assert page.headers["referrer-policy"] == "no-referrer"
                body = page.text
                assert f'src="/static/{module}.js"' in body
                assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script
                assert " style=" not in body and "<style" not in body
                assert not re.search(r"\son[a-z]+=", body)  # no inline handlers
                config = json.loads(html.unescape(
                    re.search(r'data-config="([^"]*)"', body).group(1)))
                assert config["levels"]["shelter"] == "Shelter / navigation center"

            spanish = await client.get("/display", params={"lang": "es"})
            assert '<html lang="es" dir="ltr"' in spanish.text
            assert spanish.cookies.get("bf_lang") == "es"
            unknown = await client.get("/display", params={"lang": "xx"})
            assert '<html lang="es" dir="ltr"' in unknown.text  # remembered, xx ignored
            client.cookies.clear()
            unknown = await client.get("/display", params={"lang": "xx"})
            assert '<html lang="en" dir="ltr"' in unknown.text

            module = await client.get("/static/common.js")
            assert module.status_code == 200
            assert module.headers["content-type"].startswith("text/javascript")
            assert "export async function api(" in module.text
            for escape in ("/static/../pages.py", "/static/..%2Fpages.py",
                           "/static/%2e%2e/app.py", "/static/missing.js"):
                assert (await client.get(escape)).status_code == 404, escape

            spoofed = await client.get("/", headers={"host": "x; script-src *"})
            assert "script-src *" not in spoofed.headers["content-security-policy"]
