"""Schemathesis against the app's own OpenAPI schema, with every role's token and none, on
the demo directory: no 5xx, and no response that breaks the schema it documents."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import Server
from web.demo import load_directory

EXAMPLES = os.environ.get("BEDFINDER_SCHEMATHESIS_EXAMPLES", "10")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def schemathesis(server: Server, token: str | None, workdir: Path) -> tuple[int, str]:
    workdir.mkdir()
    command = [str(Path(sys.executable).with_name("schemathesis")), "run",
               f"{server.base_url}/openapi.json", "--max-examples", EXAMPLES, "--seed", "7",
               "--checks", "not_a_server_error,response_schema_conformance",
               "--request-timeout", "20", "--no-color"]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace")


async def test_no_role_can_make_the_api_fail_or_break_its_schema(
        server: Server, tmp_path: Path) -> None:
    await load_directory(server.svc.system)
    tokens = {"admin": await server.token("admin"),
              "provider": await server.token("provider", "org-fogline-recovery"),
              "navigator": await server.token("navigator"),
              "display": await server.token("display"), "none": None}
    # All roles at once: each run mostly waits on the app, which serves them all.
    runs = await asyncio.gather(*[schemathesis(server, token, tmp_path / role)
                                  for role, token in tokens.items()])
    failures = {}
    for role, (code, out) in zip(tokens, runs, strict=True):
        summary = [line for line in out.splitlines() if "generated" in line]
        print(f"\nschemathesis as {role}: {summary[-1].strip() if summary else '?'}")
        if code != 0:
            failures[role] = out[-6000:]
    assert not failures, "\n\n".join(f"== {role} ==\n{out}" for role, out in failures.items())
