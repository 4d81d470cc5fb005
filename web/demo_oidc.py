"""`bedfinder demo --oidc`: a local OpenID provider so a new user can try signing in.

The provider is the `oidc-provider-mock` package (installed with the test extra): it signs in
anyone who types a name, so it is for the demo only, never a deployment. Four people are
offered on its sign-in form: a navigator, a provider at Fogline Recovery Collective, an
admin, and a person with no role (who sees the "ask your admin" page).
"""

from __future__ import annotations

import os
import threading
from typing import Any

DEMO_PEOPLE: dict[str, dict[str, object]] = {
    "nora": {"name": "Nora Navigator", "email": "nora@demo.example", "bedfinder_role": "navigator"},
    "pat": {"name": "Pat Provider", "email": "pat@demo.example", "bedfinder_role": "provider",
            "bedfinder_org": "org-fogline-recovery"},
    "ada": {"name": "Ada Admin", "email": "ada@demo.example", "bedfinder_role": "admin"},
    "sam": {"name": "Sam Newhire", "email": "sam@demo.example"},
}


class DemoProviderMissing(RuntimeError):
    """The test provider package is not installed."""


def start_demo_provider(host: str, app_base_url: str) -> tuple[str, Any]:
    """Start the provider on a free port of `host` in a daemon thread and point this
    process's settings at it (environment, read by the app factory). Returns its issuer and
    the server (call `shutdown()` to stop it)."""
    try:
        import oidc_provider_mock
        import werkzeug.serving
    except ImportError as error:
        raise DemoProviderMissing(
            "--oidc needs the test provider: pip install 'bedfinder[test]' "
            f"(or pip install oidc-provider-mock); {error}") from None
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in DEMO_PEOPLE.items()]
    server = werkzeug.serving.make_server(
        host, 0, oidc_provider_mock.app(user_claims=users), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-oidc").start()
    issuer = f"http://{host}:{server.server_port}"
    os.environ.update({
        "BEDFINDER_OIDC_ISSUER": issuer, "BEDFINDER_OIDC_CLIENT_ID": "bedfinder-demo",
        "BEDFINDER_OIDC_CLIENT_SECRET": "demo-only", "BEDFINDER_PUBLIC_BASE_URL": app_base_url,
        "BEDFINDER_OIDC_ADMIN_CONTACT": "Ada Admin (sign in as ada to assign a role)"})
    return issuer, server
