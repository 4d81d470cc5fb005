"""How a provider's claims and an admin's assignment become a role (pure rules); what the
authorization request carries."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from inventory.config import Settings
from inventory.users import Person
from tests.conftest import Server, serve
from web.oidc import org_from, role_from
from web.signin import safe_next


def test_role_claim_may_be_a_string_or_a_list_and_unknown_roles_are_ignored() -> None:
    assert role_from("navigator") == "navigator"
    assert role_from(["Bedfinder.Users", "provider", "admin"]) == "provider"
    assert role_from(["superuser"]) is None
    assert role_from(None) is None and role_from(7) is None
    assert org_from(["org-harbor"]) == "org-harbor" and org_from("") is None


def test_a_provider_without_an_organization_or_a_disabled_person_cannot_act() -> None:
    person = Person(id="usr-1", display_name="Pat", email=None, role="provider",
                    organization_id=None, disabled=False)
    assert person.actor() is None
    assert Person("usr-1", "Pat", None, "provider", "org-a", False).actor() is not None
    assert Person("usr-1", "Pat", None, "navigator", None, True).actor() is None
    navigator = Person("usr-2", "Nora", None, "navigator", "org-a", False).actor()
    assert navigator is not None and navigator.organization_id is None  # only providers bind


def test_after_sign_in_the_browser_goes_only_to_a_path_on_this_site() -> None:
    assert safe_next("/provider") == "/provider"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "", None):
        assert safe_next(hostile) == "/"


async def test_without_an_issuer_sign_in_is_off_and_says_to_use_a_token(settings, port
                                                                        ) -> None:  # type: ignore[no-untyped-def]
    plain = settings.model_copy(update={"oidc_issuer": ""})
    async for server in serve(plain, port):
        await _signin_is_off(server)


async def _signin_is_off(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        login = await client.get("/login")
        page = await client.get("/")
    assert login.status_code == 404 and "use the access token" in login.text
    assert "/login" not in page.text


async def test_extra_authorization_parameters_reach_the_provider_and_cannot_replace_ours(
        settings: Settings, port: int) -> None:
    """Google needs `access_type=offline&prompt=consent` for a refresh token; the state,
    nonce and PKCE parameters stay Bedfinder's own."""
    google = settings.model_copy(update={
        "oidc_authorize_params": "access_type=offline&prompt=consent"})
    async for server in serve(google, port):
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            start = await client.get("/login")
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["access_type"] == ["offline"] and sent["prompt"] == ["consent"]
    assert sent["code_challenge_method"] == ["S256"] and sent["state"] and sent["nonce"]
    with pytest.raises(ValidationError, match="may not set nonce, state"):
        Settings(oidc_authorize_params="state=mine&nonce=mine&access_type=offline")
