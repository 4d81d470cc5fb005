"""The `bedfinder` command: serve, demo, database migration, tokens and people.

Start-up fails early and in one line on stderr with exit status 2: a configuration problem,
a data folder that cannot be written, a port already in use (checked by binding the port
before anything is migrated or any token printed), an unknown token id. Heavy modules (the
web app, SQL, Redis clients) are imported inside the commands, so these checks answer in
about a second even on a busy machine.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from feeds import cli as feeds_cli
from inventory.actors import ROLES
from inventory.config import ConfigError, Settings, load_settings
from inventory.errors import InventoryError
from simulation import cli as simulation_cli
from web import i18n_cli

if TYPE_CHECKING:
    import uvicorn

    from inventory.embedded_redis import EmbeddedRedis


class CommandFailed(Exception):
    """A start-up or command problem a person can fix; printed as one line."""


def one_line(error: Exception) -> str | None:
    """What to print for an expected failure, or None for a bug (which keeps its traceback)."""
    if isinstance(error, ConfigError | CommandFailed | InventoryError):
        return str(error)
    sql = sys.modules.get("sqlalchemy.exc")
    if sql is not None and isinstance(error, sql.DBAPIError):
        return f"the database cannot be used: {' '.join(str(error.orig).split())}"
    redis = sys.modules.get("redis.exceptions")
    if redis is not None and isinstance(error, redis.ConnectionError):
        return f"Redis cannot be reached: {error}"
    return None


class Bedfinder(typer.Typer):
    """The command group: an expected failure is one line on stderr and exit status 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            message = one_line(error)
            if message is None:
                raise
            print(f"bedfinder: {message}", file=sys.stderr)
            sys.exit(2)


def package_version() -> str:
    try:
        return version("bedfinder")
    except PackageNotFoundError:
        return "unknown (not installed)"


app = Bedfinder(help="Bedfinder: real-time beds and treatment slots.", no_args_is_help=True)
db_app = typer.Typer(help="The SQL database.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="People who sign in with the identity provider.",
                       no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feeds_cli.app, name="import")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(i18n_cli.app, name="i18n")
app.command("simulate")(simulation_cli.simulate)
console = Console()

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def show_version(value: bool) -> None:
    if value:
        print(f"bedfinder {package_version()}")
        raise typer.Exit()


@app.callback()
def main(_version: Annotated[bool, typer.Option(
        "--version", callback=show_version, is_eager=True,
        help="Print the version and exit.")] = False) -> None:
    """Bedfinder: real-time beds and treatment slots."""


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def report(ctx: typer.Context) -> None:
    """Export an analytics measure as CSV (bedfinder report --help)."""
    from web import report_cli  # imports the web app: only when asked for

    report_cli.app(args=ctx.args, prog_name="bedfinder report")


def writable_data_dir(folder: Path) -> None:
    """Create the data folder, or say in one line why it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(f"the data folder {folder} cannot be written ({error.strerror}); "
                          f"set BEDFINDER_DATA_DIR to a folder you can write") from None


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so a port in use is one
    line and a non-zero exit, not tokens and addresses that point at another server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise CommandFailed(f"port {port} on {host} is already in use; stop the other "
                                f"server or choose another --port") from None
        raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def run_server(config: uvicorn.Config, sock: socket.socket) -> None:
    """uvicorn on an already-bound socket: one process, or `workers` processes sharing it."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if config.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise CommandFailed("the server did not start; see the log above")


async def upgrade_database(settings: Settings) -> None:
    """Refuse an unwritable data folder in one line, then migrate."""
    from inventory.database import upgrade_database as migrate_to_latest

    writable_data_dir(settings.data_dir)
    await migrate_to_latest(settings)


def shared_redis(settings: Settings) -> EmbeddedRedis | None:
    """Start the embedded Redis once for all workers, and point them at it. uvicorn re-raises
    SIGTERM once it has shut down; turning that into SystemExit lets the caller's `finally`
    stop the embedded server instead of leaving it running."""
    from inventory.embedded_redis import EmbeddedRedis
    from inventory.system import redis_address

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if redis_address(settings):
        return None
    embedded = EmbeddedRedis(settings.data_dir)
    os.environ["BEDFINDER_REDIS_URL"] = embedded.start()
    embedded.supervise()  # killed or crashed, it is started again within a second
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
    sock = bind(host, port)
    from web.connection_guard import uvicorn_config
    from web.logs import json_config

    asyncio.run(upgrade_database(settings))
    embedded = shared_redis(settings)
    try:
        run_server(uvicorn_config("web.app:app_factory", settings, host, port, workers,
                                  log_config=json_config(), access_log=False), sock)
    finally:
        if embedded:
            embedded.stop()


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000,
         simulate: Annotated[bool, typer.Option(help="Move counts now and then.")] = False,
         history: Annotated[str | None, typer.Option(
             help="First fill this much simulated history for /analytics, e.g. 30d.")] = None,
         oidc: Annotated[bool, typer.Option(
             help="Also start a local test identity provider to try signing in.")] = False
         ) -> None:
    """Run with a demo system of about 40 San Francisco programs (embedded defaults)."""
    if oidc:
        from web.demo_oidc import DemoProviderMissing, start_demo_provider
        try:
            issuer, _ = start_demo_provider(host, f"http://{host}:{port}")
        except DemoProviderMissing as missing:
            raise CommandFailed(str(missing)) from None
    settings = load_settings()
    sock = bind(host, port)
    from web.connection_guard import uvicorn_config
    from web.demo import seed, simulate_forever, start_in_thread

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
        if oidc:
            console.print(f"Sign in:   {base}/login  (test provider at {issuer}: nora, pat, "
                          "ada or sam; demo only)", soft_wrap=True)
        if simulate:
            start_in_thread(simulate_forever(base, tokens["admin"]))
        run_server(uvicorn_config("web.app:app_factory", settings, host, port,
                                  log_level="warning"), sock)
    finally:
        if embedded:
            embedded.stop()


def utcnow() -> datetime:
    return datetime.now(UTC)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    org: Annotated[str | None, typer.Option(help="Organization id (provider tokens).")] = None,
    label: Annotated[str, typer.Option(help="Who or what uses it.")] = "",
    expires_in_days: Annotated[float | None, typer.Option(
        min=0.001, help="Refused everywhere once this has passed; default never.")] = None,
    owner: Annotated[str | None, typer.Option(
        help="Who answers for it: a person's id (usr-...) or an organization's id; "
             "default: its organization for a provider token.")] = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from inventory.database import create_engine, session_factory
    from inventory.tokens import create_token
    from inventory.users import Users

    async def run() -> str:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            sessions = session_factory(engine)
            now = utcnow()
            expires = None if expires_in_days is None else now + timedelta(days=expires_in_days)
            named = await Users(sessions).token_owner(owner) if owner else None
            plaintext, _ = await create_token(sessions, role, now, org, label, expires, named)
            return plaintext
        finally:
            await engine.dispose()

    print(asyncio.run(run()))


@token_app.command("list")
def token_list() -> None:
    """Every token with its owner and state, newest first; never the token itself."""
    from rich.table import Table

    from inventory.database import create_engine, session_factory
    from inventory.tokens import list_tokens, state_of

    async def run() -> Table:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            tokens = await list_tokens(session_factory(engine))
        finally:
            await engine.dispose()
        table = Table("id", "role", "organization", "label", "owner", "created", "expires",
                      "state", box=None)
        now = utcnow()
        for t in tokens:
            table.add_row(t.id, t.role, t.organization_id or "", t.label, t.owner or "unknown",
                          f"{t.created_at:%Y-%m-%d %H:%M}",
                          f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never",
                          state_of(t, now))
        return table

    Console(width=200).print(asyncio.run(run()))


@user_app.command("list")
def user_list() -> None:
    """Everyone who has signed in, with the role and organization assigned here."""
    from rich.table import Table

    from inventory.database import create_engine, session_factory
    from inventory.users import Users

    async def run() -> Table:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            people = await Users(session_factory(engine)).list()
        finally:
            await engine.dispose()
        table = Table("id", "name", "e-mail", "role", "organization", "last seen", "state",
                      box=None)
        for u in people:
            table.add_row(u.id, u.display_name, u.email or "", u.role or "",
                          u.organization_id or "",
                          f"{u.last_seen_at:%Y-%m-%d %H:%M}" if u.last_seen_at else "",
                          "disabled" if u.disabled_at else "active")
        return table

    Console(width=200).print(asyncio.run(run()))


@user_app.command("assign")
def user_assign(
    user_id: str,
    role: Annotated[str | None, typer.Option(
        help=f"One of: {', '.join(ROLES)}; used when the provider sends no role claim.")] = None,
    org: Annotated[str | None, typer.Option(help="Organization id (provider role).")] = None,
    disabled: Annotated[bool | None, typer.Option(
        "--disable/--enable", help="Refuse (or allow again) this person here.")] = None,
) -> None:
    """Assign a person's role or organization, or disable them: how the first admin is made
    when the provider sends no role claims. A disabled person's open websockets close within
    token_sweep_seconds."""
    from inventory.database import create_engine, session_factory
    from inventory.users import Users

    async def run() -> str:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            row = await Users(session_factory(engine)).assign(
                user_id, utcnow(), role=role, organization_id=org, disabled=disabled)
        finally:
            await engine.dispose()
        return (f"{row.display_name} ({row.id}): role {row.role or 'none'}, organization "
                f"{row.organization_id or 'none'}, {'disabled' if row.disabled_at else 'active'}")

    print(asyncio.run(run()))


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id (tok-...)."""
    from inventory.database import create_engine, session_factory
    from inventory.embedded_redis import EmbeddedRedis
    from inventory.notify import Notifier
    from inventory.system import connect_redis, redis_address
    from inventory.tokens import revoke_token

    async def run() -> bool:
        settings = load_settings()
        await upgrade_database(settings)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            await revoke_token(session_factory(engine), token_id, utcnow())
        finally:
            await engine.dispose()
        address = redis_address(settings)
        embedded = EmbeddedRedis(settings.data_dir)
        if not address and embedded.answering():  # the embedded Redis of a running serve
            address = embedded.url
        if not address:
            return False
        redis = connect_redis(address)
        try:
            await Notifier(redis, settings.redis_prefix).revoked(token_id)
        finally:
            await redis.aclose()
        return True

    told = asyncio.run(run())
    console.print(f"revoked {token_id}" + (
        "; running processes were told" if told else
        "; no running process answered: each refuses it within token_cache_seconds and "
        "closes its websockets within token_sweep_seconds"))
