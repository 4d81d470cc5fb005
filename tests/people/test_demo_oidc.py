"""`bedfinder demo --oidc`: the demo starts its local identity provider and a new user can
sign in end to end (the real command, over HTTP, following the provider's redirects): Nora
as a navigator, Sam (no role) onto the "ask your admin" page."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.test_startup_config import BEDFINDER, environment

SIGN_IN = re.compile(r"Sign in:\s+(http://\S+)/login\s+\(test provider at (http://\S+):")


@contextlib.asynccontextmanager
async def demo(tmp_path: Path, port: int) -> AsyncIterator[tuple[str, str]]:
    """`bedfinder demo --oidc` until the block ends; yields its address and the issuer it
    printed, once it answers /healthz."""
    process = await asyncio.create_subprocess_exec(
        BEDFINDER, "demo", "--oidc", "--port", str(port), env=environment(tmp_path),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    printed: list[str] = []
    found: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

    async def read() -> None:  # keeps draining, so the demo never blocks on a full pipe
        async for raw in process.stdout:  # type: ignore[union-attr]
            printed.append(raw.decode())
            match = SIGN_IN.search(printed[-1])
            if match and not found.done():
                found.set_result((match.group(1), match.group(2)))
        if not found.done():
            found.set_exception(AssertionError("the demo ended:\n" + "".join(printed)))

    reader = asyncio.create_task(read())
    try:
        base, issuer = await asyncio.wait_for(found, 150)
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
        yield base, issuer
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        reader.cancel()


async def sign_in_as(client: httpx.AsyncClient, issuer: str, sub: str) -> httpx.Response:
    """What a browser does: /login, the provider's form (it takes a subject), back to the
    callback; returns the last response, redirects followed."""
    start = await client.get("/login", follow_redirects=False)
    assert start.status_code == 302 and start.headers["location"].startswith(issuer), start
    form = await client.get(start.headers["location"])
    assert form.status_code == 200 and 'name="sub"' in form.text, form.text[:300]
    return await client.post(start.headers["location"], data={"sub": sub},
                             follow_redirects=True)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_demo_with_oidc_lets_a_new_user_sign_in(tmp_path: Path) -> None:
    async with demo(tmp_path, free_port()) as (base, issuer):
        async with httpx.AsyncClient(base_url=base, timeout=30) as nora:
            landed = await sign_in_as(nora, issuer, "nora")
            assert landed.status_code == 200 and str(landed.url) == f"{base}/", landed.url
            assert "bf_session" in nora.cookies
            me = (await nora.get("/api/v1/me")).json()
            assert (me["role"], me["label"]) == ("navigator", "Nora Navigator"), me
            assert (await nora.get("/api/v1/holds")).status_code == 200
        async with httpx.AsyncClient(base_url=base, timeout=30) as sam:
            page = await sign_in_as(sam, issuer, "sam")
            assert page.status_code == 200 and "Ask your admin" in page.text, page.text[:500]
            assert "Ada Admin" in page.text  # whom to ask, as the demo configures it
            assert "bf_session" not in sam.cookies
