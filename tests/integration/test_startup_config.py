"""`bedfinder` starts or fails early and clearly: a port in use, a bad configuration, a
folder that cannot be written or an unknown token id is one line on stderr and a non-zero
exit, before any token is printed; `--version` answers; the wheel carries its defaults."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import free_port

BEDFINDER = str(Path(sys.executable).with_name("bedfinder"))
REPO = Path(__file__).resolve().parents[2]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDFINDER_")}
    return {**env, "BEDFINDER_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **extra}


def bedfinder(tmp_path: Path, *args: str, timeout: float = 60, **extra: str
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BEDFINDER, *args], capture_output=True, text=True, timeout=timeout,
                          env=environment(tmp_path, **extra), cwd=tmp_path, check=False)


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bedfinder: "), result.stderr
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_port_in_use_is_one_line_before_any_token(tmp_path: Path, busy_port: int,
                                                  command: str) -> None:
    started = time.monotonic()
    result = bedfinder(tmp_path, command, "--port", str(busy_port), timeout=30)
    elapsed = time.monotonic() - started
    line = one_line_refusal(result)
    assert line == (f"bedfinder: port {busy_port} on 127.0.0.1 is already in use; stop the "
                    f"other server or choose another --port")
    assert elapsed < 5, elapsed
    assert not (tmp_path / "data").exists()  # nothing was migrated or seeded


def test_version_answers(tmp_path: Path) -> None:
    result = bedfinder(tmp_path, "--version")
    assert result.returncode == 0 and re.fullmatch(r"bedfinder \d+\.\d+\.\d+\n", result.stdout)


def test_missing_config_file_is_one_line(tmp_path: Path, busy_port: int) -> None:
    line = one_line_refusal(bedfinder(tmp_path, "serve", "--port", str(busy_port),
                                      BEDFINDER_CONFIG=str(tmp_path / "gone.yaml")))
    assert "gone.yaml, which does not exist" in line


def test_unknown_key_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text() + "hold_minuts: 90\n")
    line = one_line_refusal(bedfinder(tmp_path, "db", "upgrade"))  # ./config.yaml is used
    assert line.endswith("unknown setting 'hold_minuts'; did you mean 'hold_minutes'?")


def test_out_of_range_and_mistyped_environment_values_are_one_line(tmp_path: Path) -> None:
    line = one_line_refusal(bedfinder(tmp_path, "token", "create", "--role", "admin",
                                      BEDFINDER_HOLD_MINUTES="-5"))
    assert "BEDFINDER_HOLD_MINUTES='-5': hold_minutes: Input should be greater than" in line
    line = one_line_refusal(bedfinder(tmp_path, "db", "upgrade",
                                      BEDFINDER_SUBSCRIBER_QUEUE="lots"))
    assert "BEDFINDER_SUBSCRIBER_QUEUE='lots'" in line


def test_unwritable_data_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_line_refusal(bedfinder(tmp_path, "token", "create", "--role", "admin",
                                      BEDFINDER_DATA_DIR=str(blocker / "data")))
    assert f"the data folder {blocker / 'data'} cannot be written" in line


def test_unknown_token_id_is_one_line(tmp_path: Path) -> None:
    line = one_line_refusal(bedfinder(tmp_path, "token", "revoke", "tok-nobody"))
    assert line == "bedfinder: token 'tok-nobody' does not exist"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_built_wheel_ships_its_defaults_and_works_from_any_directory(tmp_path: Path) -> None:
    """The built wheel installed into a fresh virtual environment (its dependencies borrowed
    from this one through a .pth file, so only the build backend comes from pip's cache)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", purelib], capture_output=True, text=True,
                          check=True)
    ours = subprocess.run([sys.executable, "-c", purelib], capture_output=True, text=True,
                          check=True)
    Path(site.stdout.strip(), "borrowed.pth").write_text(ours.stdout.strip() + "\n")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(REPO)], check=True, timeout=200, cwd=tmp_path)
    [wheel] = wheels.glob("bedfinder-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, timeout=200, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = environment(tmp_path)
    version = subprocess.run([str(venv / "bin" / "bedfinder"), "--version"], cwd=elsewhere,
                             capture_output=True, text=True, env=env, timeout=60, check=False)
    assert version.returncode == 0 and version.stdout.startswith("bedfinder "), version
    loaded = subprocess.run([str(python), "-c", (
        "import inventory.config as c; s = c.load_settings(); "
        "print(c.DEFAULT_CONFIG, len(s.levels_of_care), s.hold_minutes)")],
        cwd=elsewhere, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert loaded.returncode == 0, loaded.stderr
    path, levels, hold = loaded.stdout.split()
    assert path.startswith(str(venv)) and path.endswith("inventory/config.yaml")
    assert (levels, hold) == ("16", "120")


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_demo_enforces_the_same_connection_and_message_limits(tmp_path: Path) -> None:
    port = free_port()
    env = environment(tmp_path, BEDFINDER_HEADER_TIMEOUT_SECONDS="1")
    process = await asyncio.create_subprocess_exec(
        BEDFINDER, "demo", "--port", str(port), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        token = await asyncio.wait_for(display_token(process), 120)
        base = f"127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=f"http://{base}") as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 408")
        writer.close()
        async with connect(f"ws://{base}/ws/inventory?token={token}", max_size=None) as ws:
            assert orjson.loads(await ws.recv())["type"] == "snapshot"
            await ws.send("x" * 1_000_000)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def display_token(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async for line in process.stdout:
        found = re.search(r"display token: (bf_\S+)", line.decode())
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no display token")
