"""Sign-in pages: `/login` sends the browser to the county's identity provider,
`/auth/callback` comes back with a code, `/logout` ends the session here and at the provider.

Refusals are pages that say what happened and what to do, never a stack trace: a callback
whose state is unknown (forged, replayed or older than ten minutes), a code the provider
refuses, an ID token from another issuer or past its expiry. A person the provider knows but
who has no role here gets the "ask your admin" page naming whom to ask; no session is made.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from inventory.actors import ROLES
from web.i18n import N_
from web.oidc import Provider, SignInRefused
from web.pages import language_context, security_headers, templates
from web.people import People
from web.web_sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, digest_of, socket_key

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def people_of(request: Request) -> People:
    return request.app.state.people


def provider_of(request: Request) -> Provider:
    provider = people_of(request).provider
    if provider is None:
        raise HTTPException(404, "sign-in with an identity provider is not configured here; "
                                 "use the access token you were given")
    return provider


def base_url(request: Request) -> str:
    return request.app.state.settings.public_base_url.rstrip("/")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (`//evil`, `https://evil`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def message_page(request: Request, status: int, title: str, message: str,
                 values: dict[str, str] | None = None, **extra: Any) -> Response:
    """A sign-in page in the request's language (`title` and `message` are msgids, with
    `%(name)s` filled from `values`); its sign-out form may be redirected on to the
    provider's sign-out."""
    speaking = language_context(request)
    title = speaking["i18n"].gettext(title)
    if message:
        message = speaking["i18n"].gettext(message) % (values or {})
    headers = security_headers(request)
    provider = people_of(request).provider
    if provider is not None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(provider.issuer))
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    return templates.TemplateResponse(
        request, "signin_message.html",
        {"title": title, "message": message, "status": status,
         "oidc": provider is not None, **speaking, **extra},
        status_code=status, headers=headers)


@router.get("/login")
async def login(request: Request, next: str | None = None) -> Response:
    """Start the authorization code flow (PKCE S256, state, nonce)."""
    provider = provider_of(request)
    try:
        started = await provider.start(f"{base_url(request)}/auth/callback")
    except SignInRefused as refused:
        return message_page(request, 503, N_("Sign-in is unavailable"), "%(detail)s",
                            {"detail": str(refused)})
    await people_of(request).sessions.begin_signin(started["state"], {
        "nonce": started["nonce"], "code_verifier": started["code_verifier"],
        "next": safe_next(next)})
    return RedirectResponse(started["url"], status_code=302,
                            headers={"Cache-Control": "no-store"})


@router.get("/auth/callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = "",
                   error_description: str = "") -> Response:
    """Finish sign-in: the state must be one this server issued and not yet used."""
    provider = provider_of(request)
    people = people_of(request)
    if error:
        return message_page(request, 400, N_("Sign-in did not finish"),
                            N_("The identity provider answered: %(answer)s."),
                            {"answer": error_description or error})
    begun = await people.sessions.take_signin(state) if state else None
    if begun is None:
        return message_page(request, 400, N_("Sign-in link not valid"),
                            N_("This sign-in answer does not match a sign-in started here (it "
                               "was already used, is more than ten minutes old, or was not "
                               "made by this site). Start again."))
    try:
        claims, token = await provider.finish(f"{base_url(request)}/auth/callback", code,
                                              begun["nonce"], begun["code_verifier"])
    except SignInRefused as refused:
        log.warning("sign-in refused: %s", refused)
        # The provider's reason is for the county's IT: it stays in English.
        return message_page(request, 400, N_("Sign-in refused"), "%(detail)s",
                            {"detail": f"{str(refused)[:1].upper()}{str(refused)[1:]}."})
    person = await people.users.signed_in(claims, people.clock())
    if person.disabled:
        return message_page(request, 403, N_("Access turned off"),
                            N_("Your Bedfinder access has been turned off. Ask %(contact)s if "
                               "this is a mistake."),
                            {"contact": people.settings.oidc_admin_contact})
    if person.actor() is None:
        return message_page(request, 200, N_("Ask your admin for access"), "", ask_admin=True,
                            person=person.display_name, contact=people.settings.oidc_admin_contact,
                            role_claim=people.settings.oidc_role_claim, roles=ROLES)
    old = request.cookies.get(SESSION_COOKIE)
    session_id, record = await people.sessions.create(
        person, people.clock(), token.get("refresh_token"), token.get("id_token"),
        replaces=digest_of(old) if old else None)
    response = RedirectResponse(begun["next"], status_code=303,
                                headers={"Cache-Control": "no-store"})
    secure = base_url(request).startswith("https://") or request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax",
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, record.csrf, httponly=False, samesite="lax",
                        secure=secure, path="/")
    return response


@router.get("/logout", response_class=HTMLResponse)
async def logout_page(request: Request) -> Response:
    """A button, not an action: a link elsewhere cannot sign anyone out."""
    record = None
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        record = await people_of(request).sessions.get(digest_of(session_id),
                                                        people_of(request).clock())
    return message_page(request, 200, N_("Sign out"), "", confirm_logout=record is not None,
                        csrf=record.csrf if record else "")


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session here, then at the provider when it offers RP-initiated logout."""
    people = people_of(request)
    form = parse_qs((await request.body())[:4096].decode("latin-1"))
    csrf = (form.get("csrf") or [""])[0]
    session_id = request.cookies.get(SESSION_COOKIE)
    digest = digest_of(session_id) if session_id else None
    record = await people.sessions.get(digest, people.clock()) if digest else None
    if record is not None and not record.csrf_matches(csrf or request.headers.get(CSRF_HEADER)):
        return message_page(request, 403, N_("Sign out"),
                            N_("This sign-out did not come from a Bedfinder page. Use the "
                               "Sign out button."))
    target = f"{base_url(request)}/signed-out"
    if digest:
        await people.sessions.end(digest)
        await people.notifier.revoked(socket_key(digest))  # this session's open websockets
    if record is not None and people.provider is not None:
        target = await people.provider.logout_url(record.id_token, target) or target
    response: Response
    if "application/json" in request.headers.get("accept", ""):
        response = JSONResponse({"redirect": target}, headers={"Cache-Control": "no-store"})
    else:
        response = RedirectResponse(target, status_code=303,
                                    headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> Response:
    return message_page(request, 200, N_("Signed out"),
                        N_("You are signed out of Bedfinder. Close this window on a shared "
                           "computer."))
