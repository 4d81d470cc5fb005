"""`bedfinder token create --owner` and `bedfinder token list`: a token made from the command
line is owned by a named person or organization, recorded as the admin page records it, and
listed with its owner and state; an owner that names nobody is refused and nothing is made.
`bedfinder user list` / `assign`: the first admin, made without a bearer token."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import Server
from tests.people.conftest import Idp, authorize, callback_params, sign_in
from tests.people.test_signin import NORA
from tests.processes import app_env

BEDFINDER = str(Path(sys.executable).parent / "bedfinder")


async def bedfinder(server: Server, tmp_path: Path, *args: str
                    ) -> subprocess.CompletedProcess[str]:
    env = {**app_env(server.settings, tmp_path), "COLUMNS": "200"}
    return await asyncio.to_thread(subprocess.run, [BEDFINDER, *args], env=env,
                                   capture_output=True, text=True, timeout=120)


async def test_cli_tokens_are_owned_by_a_person_or_an_organization_and_listed(
        server: Server, idp: Idp, tmp_path: Path) -> None:
    await idp.user("nora", **NORA)
    org = await server.org("Harbor Health", "org-harbor")
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
    person = me["token_id"]

    made = await bedfinder(server, tmp_path, "token", "create", "--role", "display",
                           "--label", "Lobby screen", "--owner", person)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("bf_")
    feed = await bedfinder(server, tmp_path, "token", "create", "--role", "provider",
                           "--org", org, "--label", "EHR feed", "--owner", org)
    assert feed.returncode == 0, feed.stderr

    async with server.client(await server.token("admin")) as admin:
        listed = {t["label"]: t for t in (await admin.get("/api/v1/tokens")).json()}
    assert listed["Lobby screen"]["owner"] == f"Nora Navigator ({person})"
    assert listed["EHR feed"]["owner"] == org
    async with server.client(secret) as lobby:
        assert (await lobby.get("/api/v1/me")).json()["role"] == "display"

    shown = await bedfinder(server, tmp_path, "token", "list")
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if listed["Lobby screen"]["id"] in line)
    assert f"Nora Navigator ({person})" in row and "display" in row and "active" in row
    assert secret not in shown.stdout

    for nobody in ("usr-nobody", "org-nowhere"):
        refused = await bedfinder(server, tmp_path, "token", "create", "--role", "display",
                                  "--owner", nobody)
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        assert nobody in refused.stderr and "bf_" not in refused.stdout
    async with server.client(await server.token("admin")) as admin:
        after = (await admin.get("/api/v1/tokens")).json()
    assert len(after) == len(listed) + 1  # only the admin token made for this check


async def test_the_first_admin_is_assigned_from_the_command_line(
        server: Server, idp: Idp, tmp_path: Path) -> None:
    """A provider that sends no role claims (Google Workspace): the person signs in once,
    sees the "ask your admin" page, and the county's IT person makes them admin with
    `bedfinder user assign`, with no bearer token handed to anyone."""
    await idp.user("sam", name="Sam Newhire", email="sam@county.example")
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        answer = await authorize(browser, "sam")
        page = await browser.get("/auth/callback", params=callback_params(answer))
        assert "Ask your admin" in page.text
    listed = await bedfinder(server, tmp_path, "user", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "Sam Newhire" in line)
    sam = row.split()[0]
    assert sam.startswith("usr-") and "sam@county.example" in row and "active" in row

    made = await bedfinder(server, tmp_path, "user", "assign", sam, "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert "Sam Newhire" in made.stdout and "role admin" in made.stdout
    async with sign_in(server, "sam") as signed:
        assert (await signed.get("/api/v1/me")).json()["role"] == "admin"
        assert (await signed.get("/api/v1/users")).status_code == 200

    refused = await bedfinder(server, tmp_path, "user", "assign", "usr-nobody", "--role",
                              "admin")
    assert refused.returncode == 2 and "usr-nobody" in refused.stderr, refused


async def test_the_api_records_a_person_owner_by_name_and_refuses_an_unknown_one(
        server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        person = (await nora.get("/api/v1/me")).json()["token_id"]
    async with server.client(await server.token("admin")) as admin:
        made = await admin.post("/api/v1/tokens", json={
            "role": "display", "label": "Ward screen", "owner": person})
        assert made.status_code == 201, made.text
        assert made.json()["owner"] == f"Nora Navigator ({person})"
        before = len((await admin.get("/api/v1/tokens")).json())
        refused = await admin.post("/api/v1/tokens", json={
            "role": "display", "label": "Nobody's", "owner": "usr-nobody"})
        assert refused.status_code == 404 and "usr-nobody" in refused.text, refused.text
        assert len((await admin.get("/api/v1/tokens")).json()) == before
