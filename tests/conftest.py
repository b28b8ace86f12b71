"""Shared fixtures: a real OpenHire server, started as `openhire serve` in a subprocess on a
free loopback port with its own embedded PostgreSQL, and real httpx clients against it."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
OPENHIRE = [sys.executable, "-m", "server.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One `openhire serve` process; can be stopped, killed and started again on its data."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    env_overrides: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        """The embedded PostgreSQL's DSN (unix socket in the data directory)."""
        return f"postgresql://postgres@/postgres?host={self.data_dir.resolve() / 'postgres'}"

    def env(self) -> dict[str, str]:
        # Nothing from the developer's environment that would change the server's behaviour:
        # an OPENAI_API_KEY there would send the scripted tests to the real OpenAI.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENHIRE_", "DATABASE_URL", "OPENAI_"))
        }
        env.update(
            OPENHIRE_DATA_DIR=str(self.data_dir),
            OPENHIRE_PORT=str(self.port),
            OPENHIRE_HOST="127.0.0.1",
            OPENHIRE_DEMO="0",
            OPENHIRE_LOG_FORMAT="json",
        )
        env.update(self.env_overrides)
        return env

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None, "already running"
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*OPENHIRE, "serve"],
            cwd=self.data_dir.parent,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
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
        self.kill()
        raise RuntimeError(f"server did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, timeout: float = 30.0) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def stop_leftover_postgres(data_dir: Path) -> None:
    """After a SIGKILL the embedded PostgreSQL outlives its server; stop it at teardown."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (OSError, IndexError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory for servers of a test's own (restart, lock and seed tests)."""
    made: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> ServerProcess:
        if data_dir is None:
            data_dir = tmp_path_factory.mktemp("srv") / "data"
        server = ServerProcess(data_dir=data_dir, env_overrides=env)
        made.append(server)
        return server

    yield make
    for server in made:
        if server.proc is not None:
            server.stop()
        stop_leftover_postgres(server.data_dir)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The server most tests share; tests keep apart by creating their own accounts."""
    srv = ServerProcess(data_dir=tmp_path_factory.mktemp("shared") / "data")
    srv.start()
    yield srv
    if srv.proc is not None:
        # Ctrl-C: uvicorn shuts down gracefully, then re-raises SIGINT: exit status 130.
        code = srv.stop()
        assert code == 130, srv.output()
        assert "embedded_postgres.stopped" in srv.output()
    stop_leftover_postgres(srv.data_dir)
    shutil.rmtree(srv.data_dir, ignore_errors=True)


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@dataclass
class Account:
    id: str
    email: str
    password: str
    role: str
    token: str
    client: httpx.Client

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"


@pytest.fixture
def signup(server: ServerProcess) -> Iterator[Any]:
    """signup(role) -> Account with its own authenticated httpx client."""
    clients: list[httpx.Client] = []

    def make(role: str, *, full_name: str | None = None) -> Account:
        email = unique_email(role)
        password = secrets.token_urlsafe(12)
        resp = httpx.post(
            server.url + "/auth/signup",
            json={
                "email": email,
                "password": password,
                "full_name": full_name or f"Test {role.title()}",
                "role": role,
            },
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        token = body["access_token"]
        c = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        clients.append(c)
        return Account(body["user"]["id"], email, password, role, token, c)

    yield make
    for c in clients:
        c.close()


def job_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Senior Python Engineer",
        "description": "Build async services with Starlette and PostgreSQL.",
        "job_type": "full_time",
        "location": "Berlin",
        "remote": True,
        "salary_min": 60000,
        "salary_max": 90000,
        "salary_currency": "EUR",
        "required_skills": ["python", "postgresql"],
    }
    body.update(overrides)
    return body


def minimal_pdf(text: str = "Curriculum vitae") -> bytes:
    """A small, well-formed one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
