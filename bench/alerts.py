"""Alert latency: from the triggering change to the e-mail at an SMTP server and the Web Push
at a push endpoint, through the real app in its own process.

    python -m bench.alerts --rounds 20

Each round a navigator starts a transition, invites a person (with an e-mail address) to its
care team and refers the client to a program; the program's provider then declines the
referral through the API. The clock starts just before that request is sent and stops when
the SMTP server has the member's e-mail and when the push endpoint has decrypted the lead's
notification. The app runs with its defaults (`alerts.poll_seconds` 3): delivery is woken by
the timeline's pub/sub message, so the numbers show the nudge path, not the poll.
Exits 1 if an alert is missing, late beyond 30 s, or arrives twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import typer
from sqlalchemy import insert

from bench.alert_receivers import PushService, SmtpServer
from bench.common import bench_settings, free_port, percentiles, running_app
from bench.directory import NAVIGATOR_TOKEN, PROVIDER_TOKEN, small_directory
from inventory.config import Settings
from inventory.database import create_engine
from inventory.users import User

WAIT = 30.0
MEMBER_EMAIL = "member@example.org"


async def add_member(settings: Settings) -> str:
    """A signed-in person of another organization, with an e-mail address."""
    engine = create_engine(settings.sqlalchemy_url())
    async with engine.begin() as conn:
        await conn.execute(insert(User).values(
            id="usr-bench-member", issuer="https://idp.example.org", subject="member",
            display_name="Bench Member", email=MEMBER_EMAIL, role="navigator",
            created_at=datetime.now(UTC)))
    await engine.dispose()
    return "usr-bench-member"


async def rounds(base: str, count: int, member: str, smtp: SmtpServer, push: PushService
                 ) -> tuple[list[float], list[float]]:
    nav = httpx.AsyncClient(base_url=base, timeout=30,
                            headers={"Authorization": f"Bearer {NAVIGATOR_TOKEN}"})
    provider = httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {PROVIDER_TOKEN}"})
    (await nav.post("/api/v1/push/subscriptions",
                    json=push.browser("lead").subscription())).raise_for_status()
    loop = asyncio.get_running_loop()
    to_mail: list[float] = []
    to_push: list[float] = []
    try:
        for i in range(count):
            ref = f"B-{i:04d}"
            made = await nav.post("/api/v1/transitions", json={
                "client_ref": ref, "from_program_id": "prg-0",
                "discharge_at": (datetime.now(UTC) + timedelta(days=20)).isoformat()})
            made.raise_for_status()
            trn = made.json()["id"]
            (await nav.post(f"/api/v1/transitions/{trn}/team", json={
                "member": member, "release_on_file": True})).raise_for_status()
            sent = await nav.post("/api/v1/referrals", json={
                "client_ref": ref, "program_ids": ["prg-1"], "transition_id": trn,
                "note": "needs a lower bunk"})
            sent.raise_for_status()
            referral = sent.json()[0]["id"]
            started = loop.time()
            (await provider.post(f"/api/v1/referrals/{referral}/decline",
                                 json={"reason": "no_bed"})).raise_for_status()
            mail = await asyncio.wait_for(smtp.inbox.get(), WAIT)
            pushed = await asyncio.wait_for(push.inbox.get(), WAIT)
            assert ref in mail.message["Subject"] and ref in pushed.payload["body"]
            to_mail.append((mail.at - started) * 1000)
            to_push.append((pushed.at - started) * 1000)
            (await nav.post(f"/api/v1/transitions/{trn}/cancel", json={})).raise_for_status()
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        assert smtp.inbox.empty() and push.inbox.empty(), "an alert arrived twice"
    finally:
        await nav.aclose()
        await provider.aclose()
    return to_mail, to_push


async def measure(settings: Settings, count: int) -> tuple[list[float], list[float]]:
    smtp = SmtpServer(free_port())
    smtp.start()
    push = PushService()
    await push.start()
    member = await add_member(settings)
    env = {"BEDFINDER_SMTP__HOST": "127.0.0.1", "BEDFINDER_SMTP__PORT": str(smtp.port),
           "BEDFINDER_SMTP__STARTTLS": "false", "BEDFINDER_ALERTS__PUSH_HOSTS": '["127.0.0.1"]'}
    try:
        with running_app(settings, extra_env=env) as (base, _pid):
            return await rounds(base, count, member, smtp, push)
    finally:
        smtp.stop()
        await push.stop()


def main(rounds_: int = typer.Option(20, "--rounds"),
         database: str = typer.Option("sqlite", help="sqlite, postgres, or a URL."),
         redis: str = typer.Option("embedded", help="embedded, or a redis:// URL."),
         smoke: bool = typer.Option(False, help="Three rounds: checks it runs.")) -> None:
    count = 3 if smoke else rounds_
    with bench_settings(database, redis) as settings:
        small_directory(settings, programs=2, units_per_program=1)
        to_mail, to_push = asyncio.run(measure(settings, count))
    for name, samples in (("e-mail (SMTP receipt)", to_mail), ("web push (decrypted)", to_push)):
        stats = percentiles(samples)
        print(f"alert latency, referral declined -> {name}: {count} rounds, p50 "
              f"{stats['p50']:.0f} ms, mean {stats['mean']:.0f} ms, p99 {stats['p99']:.0f} "
              f"ms, max {stats['max']:.0f} ms")


if __name__ == "__main__":
    typer.run(main)
