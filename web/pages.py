"""Server-rendered pages (Jinja2) and their static files: navigator, provider, display.

The pages are shells: every count arrives from the REST API and the websocket, fetched by
small ES modules under `static/` with the token the browser keeps for its session. No page
carries inline script, inline style or inline handlers, so a strict Content-Security-Policy
holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from web import i18n

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
i18n.install(templates.env)

HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
               ".json": "application/json", ".html": "text/html; charset=utf-8",
               ".woff2": "font/woff2", ".map": "application/json"}


def security_headers(request: Request) -> dict[str, str]:
    """A strict policy: scripts, styles and sockets from this host only; the token that may
    arrive once in the address is never sent on as a referrer."""
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
    policy = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              f"connect-src 'self'{sockets}; font-src 'self'; media-src 'self'; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Cache-Control": "no-store"}


def page_config(request: Request, lang: str = "en") -> str:
    """What every page's script needs from the server, as JSON for a data attribute; level
    names in the page's language (`level_names` has every language, for the wall's rotation)."""
    settings = request.app.state.settings
    return json.dumps({
        "levels": settings.level_names(lang),
        "level_names": {tag: settings.level_names(tag) for tag in i18n.LANGUAGES},
        "pathways": settings.pathways,
        "public_read": settings.public_read,
        "hold_minutes": settings.hold_minutes,
        "hold_max_minutes": settings.hold_max_minutes,
        "decline_reasons": settings.decline_reasons,
        "heartbeat_seconds": settings.heartbeat_seconds,
    })


def language_context(request: Request) -> dict[str, Any]:
    """What every template needs to speak the request's language: `i18n` (read by `_`),
    the switcher's links and the scripts' catalog."""
    tag, _asked = i18n.choose(request)
    chosen = i18n.language(tag)
    return {"i18n": chosen, "lang": tag, "dir": chosen.direction,
            "languages": i18n.switcher_links(request, tag),
            "js_catalog": json.dumps({"lang": tag, **chosen.js}, ensure_ascii=False)}


def render(request: Request, template: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    """A page in the request's language; a language asked for with `?lang=` is remembered."""
    speaking = language_context(request)
    response = templates.TemplateResponse(
        request, template, {"config": page_config(request, speaking["lang"]), **speaking,
                            **context},
        status_code=status_code, headers=headers or security_headers(request))
    tag, asked = i18n.choose(request)
    if asked:
        i18n.remember(response, request, tag)
    return response


@router.get("/", response_class=HTMLResponse)
async def navigator_page(request: Request) -> Response:
    """Navigator: where can my client go now."""
    return render(request, "navigator.html", page="navigator")


@router.get("/provider", response_class=HTMLResponse)
async def provider_page(request: Request) -> Response:
    """Provider staff: what do I need to update."""
    return render(request, "provider.html", page="provider")


@router.get("/display", response_class=HTMLResponse)
async def display_page(request: Request, lang: str | None = None) -> Response:
    """Wall display: are there beds tonight. `?lang=` picks one language; `all` rotates."""
    if lang != "all":
        return render(request, "display.html", page="display", rotate=False)
    tag, _asked = i18n.choose(request)
    catalogs = {other: {"lang": other, **i18n.language(other).js} for other in i18n.LANGUAGES}
    return render(request, "display.html", page="display", rotate=True,
                  js_catalog=json.dumps({"lang": tag, "catalogs": catalogs}, ensure_ascii=False))


NOT_PAGES = ("/api/", "/ws/", "/static/", "/metrics", "/healthz", "/readyz", "/docs", "/openapi")


def install_error_pages(app: FastAPI) -> None:
    """A browser that asks for a page that is not there gets a page in its language, with a
    way back; API clients keep FastAPI's JSON `{"detail": ...}`."""
    async def not_found(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        wants_page = (request.method == "GET" and error.status_code in (404, 405)
                      and "text/html" in request.headers.get("accept", "")
                      and not request.url.path.startswith(NOT_PAGES))
        if not wants_page:
            return await http_exception_handler(request, error)
        detail = error.detail if error.detail not in ("Not Found", "Method Not Allowed") else ""
        return render(request, "error.html", status_code=error.status_code, page="error",
                      path=request.url.path, detail=detail)

    app.add_exception_handler(StarletteHTTPException, not_found)


@router.get("/static/{path:path}")
async def static_file(path: str) -> Response:
    """The pages' modules, styles and images. Served by a route (not a mount) so the router
    carries it when included; paths outside the folder are refused."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        raise HTTPException(404, f"no static file {path!r}")
    media = MEDIA_TYPES.get(target.suffix.lower())
    return FileResponse(target, media_type=media, headers={
        "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
