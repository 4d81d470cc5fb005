"""The county's OpenID Connect provider, through Authlib: discovery, the authorization code
flow with PKCE and a nonce, ID-token checks, userinfo, refresh and RP-initiated logout.

No JWT or discovery code is written here: Authlib fetches the provider's metadata and keys
and checks the ID token's signature, `aud`, `exp`, `iat` and `nonce`; this module adds the
checks Authlib leaves to the caller: the provider's metadata must name the configured issuer
(a provider that calls itself something else is refused), and so must every ID token. Every
failure is a `SignInRefused` with a sentence a person can read.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from authlib.integrations.base_client import OAuthError

with warnings.catch_warnings():  # Authlib 1.9 warns that it will move to `httpx2`
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError

from inventory.actors import ROLES
from inventory.config import Settings
from inventory.users import Claims


class SignInRefused(Exception):
    """Sign-in (or a recheck) failed; the message says why, for the person and the log."""


def _issuer(url: str) -> str:
    return url.rstrip("/")


def role_from(value: Any) -> str | None:
    """A Bedfinder role from a claim: a string, or a list (Entra ID and Keycloak send roles
    as lists), whose first known role wins."""
    values = value if isinstance(value, list) else [value]
    return next((v for v in values if isinstance(v, str) and v in ROLES), None)


def org_from(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


class Provider:
    """One configured OpenID provider (`oidc_issuer`, `oidc_client_id`, ...)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = _issuer(settings.oidc_issuer)
        registry = OAuth()
        self.app: Any = registry.register(
            "county", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256",
                           "timeout": 10})

    async def metadata(self) -> Mapping[str, Any]:
        try:
            metadata = await self.app.load_server_metadata()
        except Exception as error:  # noqa: BLE001 - any failure: the provider is unreachable
            self.app.server_metadata.clear()
            raise SignInRefused(f"the identity provider at {self.issuer} did not answer "
                                f"({type(error).__name__}); try again in a minute") from None
        if _issuer(str(metadata.get("issuer", ""))) != self.issuer:
            self.app.server_metadata.clear()
            raise SignInRefused(f"the identity provider at {self.issuer} calls itself "
                                f"{metadata.get('issuer')!r}; Bedfinder trusts only "
                                f"{self.issuer}")
        return metadata

    async def start(self, redirect_uri: str) -> dict[str, str]:
        """The provider's authorization address, with a fresh state, nonce and PKCE
        verifier (S256), which the caller keeps until the callback."""
        await self.metadata()
        started = await self.app.create_authorization_url(
            redirect_uri, **dict(parse_qsl(self.settings.oidc_authorize_params)))
        return {"url": started["url"], "state": started["state"],
                "nonce": started["nonce"], "code_verifier": started["code_verifier"]}

    async def finish(self, redirect_uri: str, code: str, nonce: str, code_verifier: str
                     ) -> tuple[Claims, dict[str, Any]]:
        """Exchange the code (once: the provider refuses a replay) and check the ID token."""
        await self.metadata()
        try:
            token = await self.app.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
        except OAuthError as error:
            raise SignInRefused(f"the identity provider refused the sign-in code "
                                f"({error.error}): start again") from None
        except Exception as error:  # noqa: BLE001 - unreachable, or a broken answer
            raise SignInRefused(f"the identity provider did not exchange the sign-in code "
                                f"({type(error).__name__}): start again") from None
        claims = await self._id_token_claims(token, nonce)
        return await self._claims(claims, token), token

    async def _id_token_claims(self, token: Mapping[str, Any], nonce: str | None
                               ) -> Mapping[str, Any]:
        if "id_token" not in token:
            raise SignInRefused("the identity provider sent no ID token; check that the "
                                "'openid' scope is allowed for this client")
        try:
            return await self.app.parse_id_token(
                token, nonce=nonce, leeway=self.settings.oidc_clock_skew_seconds,
                claims_options={"iss": {"essential": True, "value": self.issuer}})
        except JoseError as error:
            raise SignInRefused(f"the ID token was refused: {error.description or error.error}"
                                ) from None

    async def _claims(self, id_claims: Mapping[str, Any], token: Mapping[str, Any]) -> Claims:
        """Who the person is: the ID token's claims, completed by userinfo when the role or
        organization claim is not in the ID token."""
        merged = dict(id_claims)
        role_claim, org_claim = self.settings.oidc_role_claim, self.settings.oidc_org_claim
        if (role_claim not in merged or org_claim not in merged) and "access_token" in token:
            merged.update({k: v for k, v in (await self._userinfo(token)).items()
                           if k not in ("sub", "iss", "aud")})
        name = merged.get("name") or " ".join(
            str(merged[k]) for k in ("given_name", "family_name") if merged.get(k))
        return Claims(issuer=self.issuer, subject=str(id_claims["sub"]),
                      display_name=str(name or merged.get("preferred_username") or ""),
                      email=merged.get("email") if isinstance(merged.get("email"), str) else None,
                      role=role_from(merged.get(role_claim)),
                      organization_id=org_from(merged.get(org_claim)))

    async def _userinfo(self, token: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = await self.metadata()
        if not metadata.get("userinfo_endpoint"):
            return {}
        try:
            return await self.app.userinfo(token=dict(token))
        except Exception as error:  # noqa: BLE001 - httpx or OAuth errors alike
            raise SignInRefused(f"the identity provider refused the userinfo request "
                                f"({type(error).__name__})") from None

    async def recheck(self, subject: str, refresh_token: str | None
                      ) -> tuple[Claims, str | None]:
        """Ask the provider again whether this person may still sign in (a refresh grant;
        a disabled person's refresh token is refused) and what their claims are now."""
        if not refresh_token:
            raise SignInRefused("the identity provider gave no refresh token; sign in again")
        await self.metadata()
        try:
            token = await self.app.fetch_access_token(
                grant_type="refresh_token", refresh_token=refresh_token)
        except Exception as error:  # noqa: BLE001 - refused, revoked or unreachable
            raise SignInRefused(f"the identity provider no longer accepts this session "
                                f"({type(error).__name__}); sign in again") from None
        id_claims: Mapping[str, Any] = {"sub": subject}
        if "id_token" in token:
            id_claims = await self._id_token_claims(token, None)
        if str(id_claims.get("sub")) != subject:
            raise SignInRefused("the identity provider answered for another person")
        claims = await self._claims(id_claims, token)
        return claims, token.get("refresh_token") or refresh_token

    async def logout_url(self, id_token: str | None, after: str) -> str | None:
        """Where to send the browser to sign out at the provider too; None when the provider
        does not offer RP-initiated logout."""
        try:
            metadata = await self.metadata()
        except SignInRefused:
            return None
        if not metadata.get("end_session_endpoint"):
            return None
        made = await self.app.create_logout_url(
            post_logout_redirect_uri=after, id_token_hint=id_token,
            client_id=self.settings.oidc_client_id)
        return str(made["url"])
