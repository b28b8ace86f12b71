"""Shared fixtures: a real OpenHire server, started as `openhire serve` in a subprocess on a
free loopback port, and real httpx clients against it.

Every test that uses a server runs once per database backend, and its id says which:

- ``[embedded]``: each server starts its own PostgreSQL in its data directory (the default);
- ``[external]``: each server gets a fresh database of its own, created in the PostgreSQL named
  by ``OPENHIRE_TEST_DATABASE_URL`` (an admin URL, for example
  ``postgresql://postgres@127.0.0.1:5432/test``) and dropped after it, and runs with
  ``DATABASE_URL`` pointing at it. Only when that variable is set; ``.ci/run`` sets it.

Tests about the embedded PostgreSQL itself are marked ``embedded_only`` and get no
``[external]`` run. Slow tests whose subject is not the database (a real browser, WebRTC
peers, speech, the load generator, a cluster behind HAProxy) are marked ``one_backend`` and
run once: on the external PostgreSQL when there is one (the version Supabase runs), else on
the embedded one; every other server-backed test covers the database on both. With
``CI=true``, an external database that cannot be reached fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from server.store.database import describe_dsn

ROOT = Path(__file__).resolve().parents[1]
OPENHIRE = [sys.executable, "-m", "server.cli"]
TEST_DATABASE_URL_VAR = "OPENHIRE_TEST_DATABASE_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")


def external_admin_url() -> str | None:
    return os.environ.get(TEST_DATABASE_URL_VAR) or None


BACKENDS = ["embedded", "external"] if external_admin_url() else ["embedded"]


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, even code called from inside an
    async test (whose loop is running): in a thread with a loop of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def run_admin_sql(url: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    run_async(run)


def share_created_at(dsn: str, table: str, groups: list[list[str]]) -> list[str]:
    """Give each group of rows (ids) one ``created_at``, later groups later, as rows written in
    one transaction share its ``now()``. Returns the ids newest first, as a keyset list on
    ``(created_at, id)`` descending must give them: within a group, by id alone."""

    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            for n, ids in enumerate(groups):
                await conn.execute(
                    f"update public.{table} set created_at = $1 where id = any($2::uuid[])",
                    datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
                    [uuid.UUID(i) for i in ids],
                )
        finally:
            await conn.close()

    run_async(run)
    return [i for ids in reversed(groups) for i in sorted(ids, key=uuid.UUID, reverse=True)]


def with_database(url: str, name: str) -> str:
    """The same server, user and options as ``url``, another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


class DatabaseBackend:
    """Where the servers of a test keep their data: "embedded" (a PostgreSQL per data
    directory, started by the server) or "external" (a fresh database per data directory, in
    the PostgreSQL at OPENHIRE_TEST_DATABASE_URL; a server restarted on the same data directory
    finds the same database)."""

    def __init__(self, name: str, admin_url: str | None = None) -> None:
        self.name = name
        self.admin_url = admin_url
        self._databases: dict[Path, str] = {}

    @property
    def external(self) -> bool:
        return self.admin_url is not None

    def url_for(self, data_dir: Path) -> str | None:
        """DATABASE_URL for a server on ``data_dir``: None for the embedded database."""
        if self.admin_url is None:
            return None
        key = data_dir.resolve()
        if key not in self._databases:
            name = f"openhire_t_{uuid.uuid4().hex[:16]}"
            run_admin_sql(self.admin_url, f'create database "{name}"')
            self._databases[key] = with_database(self.admin_url, name)
        return self._databases[key]

    def release(self, data_dir: Path) -> None:
        url = self._databases.pop(data_dir.resolve(), None)
        if url is not None and self.admin_url is not None:
            name = urlsplit(url).path.lstrip("/")
            run_admin_sql(self.admin_url, f'drop database if exists "{name}" with (force)')

    def release_all(self) -> None:
        for data_dir in list(self._databases):
            self.release(data_dir)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that reaches a server through its fixtures runs on each backend; one that is
    # about the embedded PostgreSQL itself (marker embedded_only) on that one alone, and one
    # whose subject is not the database (marker one_backend) on the last of them only.
    if "database_backend" not in metafunc.fixturenames:
        return
    definition = metafunc.definition
    if definition.get_closest_marker("embedded_only"):
        names = ["embedded"]
    elif definition.get_closest_marker("one_backend"):
        names = BACKENDS[-1:]
    else:
        names = BACKENDS
    metafunc.parametrize("database_backend", names, indirect=True, scope="session", ids=names)


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> Iterator[DatabaseBackend]:
    if request.param == "embedded":
        yield DatabaseBackend("embedded")
        return
    admin_url = external_admin_url()
    assert admin_url is not None
    require_usable(admin_url)
    backend = DatabaseBackend("external", admin_url)
    yield backend
    backend.release_all()


@pytest.fixture
def external_database_url() -> str:
    """OPENHIRE_TEST_DATABASE_URL, for tests about a plain (non-embedded) PostgreSQL as such.
    Unset: skipped with a reason, except in CI, where it is a failure."""
    url = external_admin_url()
    if url is None:
        message = f"{TEST_DATABASE_URL_VAR} is not set: no external PostgreSQL to test against"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    require_usable(url)
    return url


def require_usable(admin_url: str) -> None:
    """Skip (fail in CI) with one line, naming the host but never the password, when the
    external PostgreSQL cannot be used."""
    try:
        run_admin_sql(admin_url, "select 1")
    except Exception as exc:
        message = (
            f"{TEST_DATABASE_URL_VAR} is set, but the PostgreSQL at {describe_dsn(admin_url)}"
            f" cannot be used: {type(exc).__name__}: {exc}"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One `openhire serve` process; can be stopped, killed and started again on its data.

    With ``database_url`` it runs against that database (DATABASE_URL); without, against an
    embedded PostgreSQL in its data directory."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    env_overrides: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    database_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def dsn(self) -> str:
        """The database the server uses: DATABASE_URL, or the embedded PostgreSQL's (unix
        socket in the data directory)."""
        if self.database_url is not None:
            return self.database_url
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
        if self.database_url is not None:
            env["DATABASE_URL"] = self.database_url
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


def new_server(database_backend: DatabaseBackend, data_dir: Path, **env: str) -> ServerProcess:
    """A server (not started) on ``data_dir`` and the backend's database for it; release it
    with ``database_backend.release(data_dir)`` once stopped."""
    return ServerProcess(
        data_dir=data_dir, database_url=database_backend.url_for(data_dir), env_overrides=env
    )


@contextlib.contextmanager
def running_server(
    database_backend: DatabaseBackend, data_dir: Path, *, check_exit: bool = False, **env: str
) -> Iterator[ServerProcess]:
    """A server started on ``data_dir`` with ``env``, stopped and its database released when
    the block ends (its embedded PostgreSQL too, should a test have killed it). With
    ``check_exit``, a block that ends normally asserts the server shut down gracefully
    (Ctrl-C: exit status 130)."""
    srv = new_server(database_backend, data_dir, **env)
    srv.start()
    try:
        yield srv
        if check_exit and srv.proc is not None:
            assert srv.stop() == 130, srv.output()
    finally:
        if srv.proc is not None:
            srv.stop()
        stop_leftover_postgres(srv.data_dir)
        database_backend.release(srv.data_dir)


@pytest.fixture
def make_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[Any]:
    """Factory for servers of a test's own (restart, lock and seed tests). A server made on
    the data directory of an earlier one uses the same database."""
    made: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> ServerProcess:
        if data_dir is None:
            data_dir = tmp_path_factory.mktemp("srv") / "data"
        server = new_server(database_backend, data_dir, **env)
        made.append(server)
        return server

    yield make
    for server in made:
        if server.proc is not None:
            server.stop()
        stop_leftover_postgres(server.data_dir)
    for server in made:
        database_backend.release(server.data_dir)


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """The server most tests share; tests keep apart by creating their own accounts."""
    with running_server(database_backend, tmp_path_factory.mktemp("shared") / "data") as srv:
        yield srv
        if srv.proc is not None:
            # Ctrl-C: uvicorn shuts down gracefully, then re-raises SIGINT: exit status 130.
            code = srv.stop()
            assert code == 130, srv.output()
            if srv.embedded:
                assert "embedded_postgres.stopped" in srv.output()
            else:
                # With DATABASE_URL no PostgreSQL of its own is started (or stopped).
                assert "embedded_postgres" not in srv.output()
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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the module's own (tests/cluster_harness.py), on a free port."""
    from tests.cluster_harness import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"


@pytest.fixture
def signup(server: ServerProcess) -> Iterator[Any]:
    """signup(role) -> Account with its own authenticated httpx client."""
    yield from signups_on(server)


def signups_on(server: ServerProcess) -> Iterator[Any]:
    """The body of the ``signup`` fixture, for a fixture of another server."""
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
