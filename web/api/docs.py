"""The OpenAPI page at `/docs`, served entirely by the app: works offline, loads nothing from
another origin, and runs under the same Content-Security-Policy as the pages.

People paste admin tokens into this page's "Authorize" dialog, so it must not run script
from a CDN (FastAPI's default page does, without an integrity check, and is blank offline).
Swagger UI's files come from the `fastapi-offline` package (installed with Bedfinder, so they
are in every install); the page itself has no inline script: its settings travel in data
attributes and `init.js` reads them.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from web.pages import security_headers

router = APIRouter(include_in_schema=False)
ASSETS = resources.files("fastapi_offline").joinpath("static")
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
               "swagger-ui.css": "text/css; charset=utf-8", "favicon.png": "image/png"}
# Versioned with the installed package; an hour is short enough for an upgrade to show.
ASSET_CACHE = "public, max-age=3600"

INIT_JS = """// Starts Swagger UI with the settings the page carries (no inline script: strict CSP).
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  ...JSON.parse(root.dataset.parameters),
});
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{root}/docs/assets/favicon.png">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}" data-parameters="{parameters}"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/assets/init.js"></script>
</body>
</html>
"""


def swagger_parameters(request: Request) -> dict[str, Any]:
    """FastAPI's defaults and the app's own `swagger_ui_parameters`; the token typed into
    "Authorize" is kept for this page only, never in the browser's storage."""
    return {"deepLinking": True, "showExtensions": True, "showCommonExtensions": True,
            "persistAuthorization": False, **(request.app.swagger_ui_parameters or {})}


@router.get("/docs")
async def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI for this API, from files the app serves itself."""
    root = request.scope.get("root_path", "").rstrip("/")
    body = PAGE.format(
        title=html.escape(f"{request.app.title} API"), root=html.escape(root),
        openapi=html.escape(root + (request.app.openapi_url or "/openapi.json")),
        parameters=html.escape(json.dumps(swagger_parameters(request))))
    return HTMLResponse(body, headers=security_headers(request))


@router.get("/docs/assets/init.js")
async def docs_init() -> Response:
    return Response(INIT_JS, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff"})


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    """Swagger UI's script, styles and icon, from the installed package."""
    if name not in ASSET_TYPES:
        raise HTTPException(404, f"no docs asset {name!r}")
    return FileResponse(str(ASSETS.joinpath(name)), media_type=ASSET_TYPES[name], headers={
        "Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff"})
