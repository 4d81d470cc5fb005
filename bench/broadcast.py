"""Provider update to the last of N websocket subscribers: the app against a bare baseline.

    python -m bench.broadcast --subscribers 1000 --rate 100 --seconds 20 \
        [--database sqlite|postgres|URL] [--redis embedded|URL] [--processes 4]

Starts the real app (uvicorn, one process) on real Redis and SQL, connects N subscribers to
`/ws/inventory` from several client processes, and sends provider updates at `rate`, taking
turns between HTTP `PUT /api/v1/units/{id}/availability` and the provider websocket. For
each acknowledged update it takes the time from the send to its receipt at the last of
the N subscribers; it counts (subscriber, update) pairs never received. Then it runs the
bare `websockets` baseline (bench.baseline) with the same clients, rate and message size,
and prints the ratios. Exits 1 if anything was lost or unacknowledged.
"""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable

import httpx
import typer

from bench import baseline
from bench.common import bench_settings, profiler, running_app
from bench.directory import DISPLAY_TOKEN, PROVIDER_TOKEN, provider_tokens, small_directory
from bench.drive import Result, Send, WsSender
from bench.harness import measure

P50_TARGET, P99_TARGET = 1.3, 1.5


def app_senders(base: str, units: list[str], via: str, tokens: list[str]
                ) -> Callable[[], Awaitable[tuple[list[Send], Callable[[], Awaitable[None]]]]]:
    """HTTP PUT and/or provider-websocket senders; update i sets unit i % len(units). HTTP
    updates take turns between `tokens` (many providers: rate limits are per token)."""

    def body(i: int) -> dict[str, object]:
        return {"available": i % 4, "note": f"bench {i}"}

    async def open_senders() -> tuple[list[Send], Callable[[], Awaitable[None]]]:
        http = httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=64))
        ws_url = base.replace("http://", "ws://") + f"/ws/provider?token={PROVIDER_TOKEN}"
        ws = await WsSender.open(ws_url, lambda i: {"op": "set",
                                                     "unit_id": units[i % len(units)],
                                                     **body(i)})

        async def put(i: int) -> int:
            reply = await http.put(f"/api/v1/units/{units[i % len(units)]}/availability",
                                   json=body(i), headers={
                                       "Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            reply.raise_for_status()
            return int(reply.json()["seq"])

        async def close() -> None:
            await ws.close()
            await http.aclose()

        options: dict[str, list[Send]] = {"http": [put], "ws": [ws], "both": [put, ws]}
        chosen = options[via]
        return chosen, close

    return open_senders


def ratio_line(app: Result, base: Result) -> str:
    p50, p99 = app.p50 / base.p50, app.p99 / base.p99
    verdict = ("met" if p50 <= P50_TARGET and p99 <= P99_TARGET and app.lost == 0
               else "NOT met")
    return (f"   ratio: p50 {p50:.2f}x (target <= {P50_TARGET}), p99 {p99:.2f}x "
            f"(target <= {P99_TARGET}), lost {app.lost} (target 0): {verdict}")


def main(subscribers: list[int] = typer.Option([1000], help="Repeat for several sizes."),  # noqa: B008
         rate: float = 100, seconds: float = 20, processes: int = 4,
         database: str = typer.Option("sqlite", help="sqlite, postgres, or a URL."),
         redis: str = typer.Option("embedded", help="embedded, or a redis:// URL."),
         via: str = typer.Option("both", help="http, ws, or both (alternating)."),
         with_baseline: bool = typer.Option(True, "--baseline/--no-baseline"),
         workers: int = typer.Option(1, help="App processes (uvicorn --workers)."),
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs, loses nothing."),
         profile: str = typer.Option("", help="Write py-spy collapsed stacks of the app here.")
         ) -> None:
    if smoke:
        subscribers, rate, seconds, processes = [20], 20, 1, 2
    results: list[Result] = []
    with bench_settings(database, redis) as settings:
        units = small_directory(settings)
        tokens = provider_tokens(settings, max(int(rate), 10))
        print(f"app ({workers} process(es)) on {settings.sqlalchemy_url().split(':')[0]}, "
              f"redis {'embedded' if redis == 'embedded' else 'external'}; updates via {via}")
        with running_app(settings, workers) as (base, pid):
            url = base.replace("http://", "ws://") + f"/ws/inventory?token={DISPLAY_TOKEN}"
            for n in subscribers:
                spies: list[subprocess.Popen[bytes]] = []

                def start_profiler(spies: list[subprocess.Popen[bytes]] = spies) -> None:
                    if profile:
                        spies.append(profiler(pid, profile, seconds))

                app = measure("app", url, pid, n, processes, rate, seconds,
                              app_senders(base, units, via, tokens), start_profiler)
                for spy in spies:
                    spy.wait(60)
                print(app.line(), flush=True)
                results.append(app)
                if with_baseline:
                    bare = baseline.run(n, rate, seconds, processes, app.message_bytes)
                    print(bare.line(), flush=True)
                    print(ratio_line(app, bare), flush=True)
                    results.append(bare)
    if not all(r.ok for r in results):
        print("FAILED: messages lost, unacknowledged or out of order")
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
