"""The `bedfinder` command: serve, demo, database migration and tokens."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from typing import Annotated

import typer
import uvicorn
from redis.asyncio import Redis
from rich.console import Console

from feeds import cli as feeds_cli
from simulation import cli as simulation_cli
from web import report_cli
from inventory.actors import ROLES
from inventory.config import Settings, load_settings
from inventory.database import create_engine, session_factory, upgrade_database
from inventory.notify import Notifier
from inventory.tokens import create_token, revoke_token
from inventory.embedded_redis import EmbeddedRedis
from web.logs import json_config
from web.services import utcnow

app = typer.Typer(help="Bedfinder: real-time beds and treatment slots.", no_args_is_help=True)
db_app = typer.Typer(help="The SQL database.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feeds_cli.app, name="import")
app.add_typer(token_app, name="token")
app.add_typer(report_cli.app, name="report")
app.command("simulate")(simulation_cli.simulate)
console = Console()
GRACE_SECONDS = 10  # websockets are closed with 1012 (reconnect) and requests finish

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def shared_redis(settings: Settings) -> EmbeddedRedis | None:
    """Start the embedded Redis once for all workers, and point them at it. uvicorn re-raises
    SIGTERM once it has shut down; turning that into SystemExit lets the caller's `finally`
    stop the embedded server instead of leaving it running."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if settings.redis_url:
        return None
    embedded = EmbeddedRedis(settings.data_dir)
    os.environ["BEDFINDER_REDIS_URL"] = embedded.start()
    return embedded


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    settings = load_settings()
    asyncio.run(upgrade_database(settings))
    console.print(f"[green]database is up to date[/]: {settings.sqlalchemy_url()}")


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000,
          workers: Annotated[int, typer.Option(min=1, help="App processes.")] = 1) -> None:
    """Run the service (migrating the database first)."""
    settings = load_settings()
    asyncio.run(upgrade_database(settings))
    embedded = shared_redis(settings)
    try:
        uvicorn.run("web.app:app_factory", factory=True, host=host, port=port,
                    workers=workers, log_config=json_config(), access_log=False,
                    ws_max_size=65_536, timeout_graceful_shutdown=GRACE_SECONDS)
    finally:
        if embedded:
            embedded.stop()


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000,
         simulate: Annotated[bool, typer.Option(help="Move counts now and then.")] = False,
         history: Annotated[str | None, typer.Option(
             help="First fill this much simulated history for /analytics, e.g. 30d.")] = None
         ) -> None:
    """Run with a demo system of about 40 San Francisco programs (embedded defaults)."""
    from web.demo import seed, simulate_forever, start_in_thread

    settings = load_settings()
    asyncio.run(upgrade_database(settings))
    embedded = shared_redis(settings)
    try:
        tokens = asyncio.run(seed(load_settings()))
        if history:
            from web.demo_history import run_history
            console.print(asyncio.run(run_history(load_settings(), history)), soft_wrap=True)
        base = f"http://{host}:{port}"
        console.rule("[bold]Bedfinder demo")
        for role, token in tokens.items():
            console.print(f"{role:>9} token: [bold]{token}[/]")
        console.print(f"\nAPI docs:  {base}/docs\nPrograms:  {base}/api/v1/programs"
                      f"\nLive feed: ws://{host}:{port}/ws/inventory?token={tokens['display']}",
                      soft_wrap=True)
        if simulate:
            start_in_thread(simulate_forever(base, tokens["admin"]))
        uvicorn.run("web.app:app_factory", factory=True, host=host, port=port,
                    log_level="warning")
    finally:
        if embedded:
            embedded.stop()


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    org: Annotated[str | None, typer.Option(help="Organization id (provider tokens).")] = None,
    label: Annotated[str, typer.Option(help="Who or what uses it.")] = "",
    expires_in_days: Annotated[float | None, typer.Option(
        min=0.001, help="Refused everywhere once this has passed; default never.")] = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from inventory.errors import InventoryError

    async def run() -> str:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            now = utcnow()
            expires = None if expires_in_days is None else now + timedelta(days=expires_in_days)
            plaintext, _ = await create_token(session_factory(engine), role, now, org, label,
                                              expires)
            return plaintext
        finally:
            await engine.dispose()

    try:
        print(asyncio.run(run()))
    except InventoryError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id (tok-...)."""

    async def run() -> bool:
        settings = load_settings()
        engine = create_engine(settings.sqlalchemy_url())
        try:
            await revoke_token(session_factory(engine), token_id, utcnow())
        finally:
            await engine.dispose()
        if not settings.redis_url:
            return False
        redis = Redis.from_url(settings.redis_url)
        try:
            await Notifier(redis, settings.redis_prefix).revoked(token_id)
        finally:
            await redis.aclose()
        return True

    told = asyncio.run(run())
    console.print(f"revoked {token_id}" + (
        "; running processes were told" if told else
        "; running processes refuse it within token_cache_seconds"))
