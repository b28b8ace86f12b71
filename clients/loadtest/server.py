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
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    proc: subprocess.Popen[bytes],
    url: str,
    what: str,
    timeout: float = 30.0,
    detail: Callable[[], str] = str,
) -> None:
    """Wait until ``GET url`` answers 200; a RuntimeError naming ``what`` (and ``detail()``)
    if ``proc`` exits first or ``timeout`` passes (then ``proc`` is stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}{detail()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"{what} did not become ready{detail()}")


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30.0
) -> None:
    """Ask ``proc`` to stop with ``sig`` (Ctrl-C, as a user would); kill it after ``timeout``."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_module(module: str, args: list[str], url: str, what: str) -> subprocess.Popen[bytes]:
    """``python -m module args`` (importable from wherever this package is, installed or in a
    source tree), once ``url`` answers 200."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(proc, url, what)
    return proc


class Started:
    """``with`` it: ``start()`` on entering the block, ``stop()`` on leaving it."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class BenchServer(Started):
    """``with BenchServer() as srv:`` a running server at ``srv.url``, its data (and embedded
    PostgreSQL) in ``srv.data_dir``, removed afterwards unless ``keep`` is set."""

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
        try:
            wait_ready(
                self.proc, self.url + "/readyz", "server", timeout, lambda: f":\n{self.output()}"
            )
        except RuntimeError:
            self.proc = None
            self.stop()
            raise

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if not self.keep and self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
