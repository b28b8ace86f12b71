"""Start a throw-away ``openhire serve`` for a benchmark: its own data directory (embedded
PostgreSQL), a free loopback port, stopped with Ctrl-C (SIGINT) as a user would."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchServer:
    """``with BenchServer() as srv:`` a running server at ``srv.url``, its database at
    ``srv.dsn``; the data directory is removed afterwards unless ``keep`` is set."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        keep: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self._tmp = None if data_dir else Path(tempfile.mkdtemp(prefix="openhire-bench-"))
        self.data_dir = (data_dir or (self._tmp or Path()) / "data").resolve()
        self.port = free_port()
        self.keep = keep
        self.extra_env = env or {}
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        """The embedded PostgreSQL's DSN: its unix socket, where the server puts it."""
        from server.store.embedded import EmbeddedPostgres

        return EmbeddedPostgres(self.data_dir).dsn

    def start(self, timeout: float = 120.0) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("OPENHIRE_", "DATABASE_URL"))
        }
        env.update(
            OPENHIRE_DATA_DIR=str(self.data_dir),
            OPENHIRE_PORT=str(self.port),
            OPENHIRE_HOST="127.0.0.1",
            OPENHIRE_DEMO="0",
            OPENHIRE_LOG_FORMAT="json",
        )
        env.update(self.extra_env)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"],
                cwd=self.data_dir.parent,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if not self.keep and self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> BenchServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
