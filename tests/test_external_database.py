"""An external PostgreSQL (DATABASE_URL): start-up that fails fast and says why, TLS as the URL
asks, a bounded pool, the statement cache off behind a transaction pooler, passwords kept out of
every line, and a server that rides out a restart of its database (503 meanwhile, then requests
and a live interview's acks again).

The database here is a cluster of the test's own on a loopback port (tests/private_postgres.py),
so that it can be stopped and started under a running server, and served over TLS.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from clients.interview_client import CandidateSession, WatcherSession
from server.config import Settings
from server.errors import ConfigurationError, DatabaseUnavailable
from server.store.database import describe_dsn, open_pool, parse_database_url
from tests.conftest import IN_CI, OPENHIRE, ServerProcess, free_port, stop_leftover_postgres
from tests.live_helpers import LONG_ANSWER, close_clients, new_interview, stored_events
from tests.private_postgres import PrivatePostgres, TlsFiles, make_ca, make_tls_files

PASSWORD = "pw-" + uuid.uuid4().hex  # in every DATABASE_URL here; must never be printed


@pytest.fixture(scope="module")
def plain_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """A cluster without TLS."""
    pg = PrivatePostgres(tmp_path_factory.mktemp("plainpg"))
    pg.init()
    pg.start()
    yield pg
    pg.stop_if_running()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_postgres(
    tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[PrivatePostgres]:
    """A cluster serving TLS with a certificate for 127.0.0.1 signed by the test CA."""
    pg = PrivatePostgres(tmp_path_factory.mktemp("tlspg"), tls=tls_files)
    pg.init()
    try:
        pg.start()
    except RuntimeError as exc:
        if "SSL is not supported" not in str(exc) or IN_CI:
            raise
        pytest.skip(f"these PostgreSQL binaries ({pg.bin}) have no TLS support")
    yield pg
    pg.stop_if_running()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    made: list[ServerProcess] = []
    yield made
    for srv in made:
        if srv.proc is not None:
            srv.stop()
        stop_leftover_postgres(srv.data_dir)


def server_on(
    servers: list[ServerProcess], tmp_path: Path, database_url: str, **env: str
) -> ServerProcess:
    srv = ServerProcess(
        data_dir=tmp_path / f"data-{len(servers)}", database_url=database_url, env_overrides=env
    )
    servers.append(srv)
    return srv


def run_openhire(
    tmp_path: Path, command: str, database_url: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    environ = ServerProcess(data_dir=tmp_path / "data", database_url=database_url).env()
    environ.update(env)
    started = time.monotonic()
    result = subprocess.run(
        [*OPENHIRE, command],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def assert_error_shape(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


# --- start-up that fails fast, with one line naming the database --------------------------


@pytest.mark.parametrize(
    "case",
    ["refused", "unknown_host", "no_such_database", "tls_required_but_absent", "untrusted_cert"],
)
def test_start_up_against_a_bad_database_fails_fast_with_one_line(
    case: str,
    tmp_path: Path,
    plain_postgres: PrivatePostgres,
    tls_postgres: PrivatePostgres,
) -> None:
    if case == "refused":
        port = free_port()  # nothing listens there
        url = f"postgresql://openhire:{PASSWORD}@127.0.0.1:{port}/openhire"
        expected = f"cannot reach the database at 127.0.0.1:{port}/openhire (DATABASE_URL):"
        expected_reason = "connection refused"
    elif case == "unknown_host":
        url = f"postgresql://openhire:{PASSWORD}@db.openhire.invalid:5432/openhire"
        expected = "cannot resolve the database host db.openhire.invalid:5432/openhire"
        expected_reason = "DATABASE_URL"
    elif case == "no_such_database":
        url = plain_postgres.url("no_such_db", password=PASSWORD)
        expected = f"the database at 127.0.0.1:{plain_postgres.port}/no_such_db"
        expected_reason = 'database "no_such_db" does not exist'
    elif case == "tls_required_but_absent":
        url = plain_postgres.url("postgres", password=PASSWORD, query="?sslmode=require")
        expected = f"the database at 127.0.0.1:{plain_postgres.port}/postgres does not accept TLS"
        expected_reason = "sslmode=require"
    else:
        other_ca, _ = make_ca(tmp_path, "Some other CA")
        url = tls_postgres.url(
            "postgres", password=PASSWORD, query=f"?sslmode=verify-full&sslrootcert={other_ca}"
        )
        expected = f"the TLS certificate of the database at 127.0.0.1:{tls_postgres.port}"
        expected_reason = "could not be verified"

    result, elapsed = run_openhire(tmp_path, "serve", url, OPENHIRE_PORT=str(free_port()))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    # The default connect budget is 5 s; a refused connection is retried until then, the
    # other cases are not worth retrying and end at once.
    assert elapsed < (15 if case == "refused" else 8), f"took {elapsed:.1f} s:\n{output}"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("openhire: "), output
    assert expected in last, output
    assert expected_reason in last, output
    assert "Traceback" not in output
    assert PASSWORD not in output
    # uvicorn never started: nothing listened.
    assert "server.ready" not in output


def test_migrate_against_an_unreachable_database_fails_with_the_same_line(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"postgresql://openhire:{PASSWORD}@127.0.0.1:{port}/openhire"
    result, elapsed = run_openhire(tmp_path, "migrate", url, OPENHIRE_DB_CONNECT_TIMEOUT="1")
    assert result.returncode == 2
    assert elapsed < 10
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"openhire: cannot reach the database at 127.0.0.1:{port}/openhire (DATABASE_URL):"
            " connection refused; gave up after"
        )
    )
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# --- TLS ----------------------------------------------------------------------------------


async def test_tls_verify_full_against_a_trusted_certificate(
    tmp_path: Path,
    servers: list[ServerProcess],
    tls_postgres: PrivatePostgres,
    tls_files: TlsFiles,
) -> None:
    database = tls_postgres.create_database()
    url = tls_postgres.url(
        database,
        password=PASSWORD,
        query=f"?sslmode=verify-full&sslrootcert={tls_files.ca_cert}",
    )
    srv = server_on(servers, tmp_path, url)
    srv.start()
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        resp = await http.post(
            "/auth/signup",
            json={
                "email": f"tls-{uuid.uuid4().hex[:8]}@example.test",
                "password": "correct horse battery",
                "full_name": "Over TLS",
                "role": "recruiter",
            },
        )
        assert resp.status_code == 201, resp.text
    # Every connection the server holds is encrypted.
    admin = await asyncpg.connect(tls_postgres.admin_url)
    try:
        rows = await admin.fetch(
            "select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid)"
            " where a.datname = $1 and a.application_name = 'openhire'",
            database,
        )
    finally:
        await admin.close()
    assert rows and all(r["ssl"] for r in rows), rows
    assert '"sslmode": "verify-full"' in srv.output() or "verify-full" in srv.output()
    assert PASSWORD not in srv.output()


# --- the pool and the statement cache -----------------------------------------------------


async def test_the_pool_never_holds_more_than_its_maximum(
    tmp_path: Path, servers: list[ServerProcess], plain_postgres: PrivatePostgres
) -> None:
    database = plain_postgres.create_database()
    srv = server_on(
        servers,
        tmp_path,
        plain_postgres.url(database, password=PASSWORD),
        OPENHIRE_DB_POOL_MIN="1",
        OPENHIRE_DB_POOL_MAX="2",
    )
    srv.start()
    admin = await asyncpg.connect(plain_postgres.admin_url)
    peak = 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            count = await admin.fetchval(
                "select count(*) from pg_stat_activity"
                " where datname = $1 and application_name = 'openhire'",
                database,
            )
            peak = max(peak, count)
            await asyncio.sleep(0.005)

    try:
        async with httpx.AsyncClient(base_url=srv.url, timeout=60) as http:
            signup = await http.post(
                "/auth/signup",
                json={
                    "email": f"pool-{uuid.uuid4().hex[:8]}@example.test",
                    "password": "correct horse battery",
                    "full_name": "Pool",
                    "role": "candidate",
                },
            )
            assert signup.status_code == 201, signup.text
            headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
            sampler = asyncio.create_task(sample())
            responses = await asyncio.gather(
                *(http.get("/jobs", params={"title": f"x{i}"}, headers=headers) for i in range(60))
            )
            done.set()
            await sampler
            # Beside the pool, one connection LISTENs for notifications, under its own name.
            listeners = await admin.fetchval(
                "select count(*) from pg_stat_activity"
                " where datname = $1 and application_name = 'openhire-listen'",
                database,
            )
    finally:
        await admin.close()
    assert listeners == 1
    # Sixty requests at once all served, by at most two connections.
    assert [r.status_code for r in responses] == [200] * 60
    assert 1 <= peak <= 2, peak


@pytest.mark.parametrize(
    ("query", "env", "cached"),
    [
        ("", {}, True),
        ("?pgbouncer=true", {}, False),  # asyncpg would send pgbouncer to the server: stripped
        ("", {"OPENHIRE_DB_STATEMENT_CACHE": "0"}, False),
    ],
    ids=["direct", "pgbouncer_hint", "forced_off"],
)
async def test_statement_cache_is_off_behind_a_transaction_pooler(
    plain_postgres: PrivatePostgres, query: str, env: dict[str, str], cached: bool
) -> None:
    url = plain_postgres.url("postgres", password=PASSWORD, query=query)
    settings = Settings.from_env({"DATABASE_URL": url, **env}, dotenv=False)
    assert settings.database_url is not None
    pool = await open_pool(settings.database_url, settings)
    try:
        async with pool.acquire() as conn:
            for _ in range(3):
                assert await conn.fetchval("select $1::int + 1", 41) == 42
            # Named (cached) prepared statements live in the session; unnamed ones do not.
            prepared = await conn.fetchval("select count(*) from pg_prepared_statements")
    finally:
        await pool.close()
    assert (prepared > 0) is cached, prepared


def test_database_urls_are_read_as_libpq_would() -> None:
    pooler = parse_database_url(
        f"postgresql://postgres.abcd:{PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    )
    assert pooler.transaction_pooler
    assert pooler.where == "aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    session = parse_database_url(
        f"postgresql://postgres.abcd:{PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres"
    )
    assert not session.transaction_pooler
    hinted = parse_database_url(
        f"postgresql://u:{PASSWORD}@db.example.test/app?pgbouncer=true&sslmode=require"
        "&connect_timeout=3"
    )
    assert hinted.transaction_pooler
    assert hinted.sslmode == "require"
    assert hinted.connect_timeout_s == 3.0
    # What asyncpg would pass to the server as settings is gone; the rest is kept.
    assert "pgbouncer" not in hinted.dsn and "connect_timeout" not in hinted.dsn
    assert "sslmode=require" in hinted.dsn
    assert parse_database_url(f"postgresql://u:{PASSWORD}@[::1]:6543/x").transaction_pooler
    socket = parse_database_url("postgresql://postgres@/postgres?host=/run/pg")
    assert socket.where == "/run/pg/postgres"
    # A password is never part of what is shown.
    for url in (
        f"postgresql://u:{PASSWORD}@db.example.test:5432/app",
        f"postgres://u:{PASSWORD}@h1:5432,h2:5433/app?sslmode=verify-full",
    ):
        target = parse_database_url(url)
        assert PASSWORD not in target.where
        assert PASSWORD not in repr(target)
        assert PASSWORD not in describe_dsn(url)
    assert PASSWORD not in repr(Settings.from_env({"DATABASE_URL": url}, dotenv=False))
    with pytest.raises(ConfigurationError, match="postgresql://") as bad:
        parse_database_url(f"mysql://u:{PASSWORD}@db/app")
    assert PASSWORD not in str(bad.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENHIRE_DB_POOL_MAX": "0"}, "OPENHIRE_DB_POOL_MIN and OPENHIRE_DB_POOL_MAX"),
        ({"OPENHIRE_DB_POOL_MIN": "5", "OPENHIRE_DB_POOL_MAX": "2"}, "min=5, max=2"),
        ({"OPENHIRE_DB_POOL_MIN": "-1"}, "0 <= min <= max"),
        ({"OPENHIRE_DB_POOL_MAX": "many"}, "OPENHIRE_DB_POOL_MAX must be a whole number"),
        ({"OPENHIRE_DB_STATEMENT_CACHE": "-1"}, "OPENHIRE_DB_STATEMENT_CACHE must be 0 or more"),
        ({"OPENHIRE_DB_CONNECT_TIMEOUT": "0"}, "OPENHIRE_DB_CONNECT_TIMEOUT must be more than 0"),
    ],
)
def test_database_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        Settings.from_env(env, dotenv=False)


def test_database_settings_defaults_and_overrides() -> None:
    defaults = Settings.from_env({}, dotenv=False)
    assert (defaults.database_pool_min, defaults.database_pool_max) == (1, 10)
    assert defaults.database_statement_cache is None  # automatic
    assert defaults.database_connect_timeout_s == 5.0
    custom = Settings.from_env(
        {
            "OPENHIRE_DB_POOL_MIN": "0",
            "OPENHIRE_DB_POOL_MAX": "3",
            "OPENHIRE_DB_STATEMENT_CACHE": "0",
            "OPENHIRE_DB_CONNECT_TIMEOUT": "2.5",
        },
        dotenv=False,
    )
    assert (custom.database_pool_min, custom.database_pool_max) == (0, 3)
    assert custom.database_statement_cache == 0
    assert custom.database_connect_timeout_s == 2.5


def test_database_unavailable_is_a_503_and_a_transient_connection_error() -> None:
    exc = DatabaseUnavailable("down")
    assert (exc.status, exc.code) == (503, "database_unavailable")
    assert isinstance(exc, ConnectionError)  # what the persistence queue retries


async def test_a_connection_lost_mid_request_is_a_503_and_the_next_request_is_served(
    tmp_path: Path, servers: list[ServerProcess], plain_postgres: PrivatePostgres
) -> None:
    database = plain_postgres.create_database()
    srv = server_on(servers, tmp_path, plain_postgres.url(database, password=PASSWORD))
    srv.start()
    iv = await new_interview(srv)
    admin = await asyncpg.connect(plain_postgres.url(database))
    try:
        # Hold a lock that every authenticated request waits for (it reads public.users)...
        locker = admin.transaction()
        await locker.start()
        await admin.execute("lock table public.users in access exclusive mode")
        request = asyncio.create_task(iv.recruiter.get(f"/interviews/{iv.id}"))
        async with asyncio.timeout(10):
            while True:
                waiting = await admin.fetchval(
                    "select count(*) from pg_stat_activity where datname = $1"
                    " and application_name = 'openhire' and wait_event_type = 'Lock'",
                    database,
                )
                if waiting:
                    break
                await asyncio.sleep(0.02)
        # ...and end the waiting connection from the database's side, as a failover would.
        killed = await admin.fetchval(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = $1"
            " and application_name = 'openhire' and wait_event_type = 'Lock'",
            database,
        )
        assert killed == 1
        resp = await asyncio.wait_for(request, 10)
        await locker.rollback()
    finally:
        await admin.close()
        await close_clients(iv)
    assert_error_shape(resp, 503, "database_unavailable")
    assert resp.headers["retry-after"] == "2"
    # The pool replaces the lost connection: the same request now succeeds.
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        assert (await http.get("/readyz")).status_code == 200
    assert "request.database_unavailable" in srv.output()
    assert "request.failed" not in srv.output()


# --- a restart of the database under a running server -------------------------------------


async def wait_for_ready(http: httpx.AsyncClient, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while (await http.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "the server did not see its database come back"
        await asyncio.sleep(0.1)


async def test_the_server_rides_out_a_restart_of_its_database(
    tmp_path: Path, servers: list[ServerProcess], plain_postgres: PrivatePostgres
) -> None:
    database = plain_postgres.create_database()
    srv = server_on(servers, tmp_path, plain_postgres.url(database, password=PASSWORD))
    srv.start()
    iv = await new_interview(srv)
    candidate = watcher = None
    try:
        candidate = await CandidateSession.open(iv.candidate, iv.id)
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        question = await candidate.next_question()
        before = await candidate.proctor("tab_hidden")
        assert before["type"] == "ack", before
        assert (await iv.recruiter.get(f"/interviews/{iv.id}")).status_code == 200

        await asyncio.to_thread(plain_postgres.stop)

        # Meanwhile: requests get a clear 503 in the one error shape, never a 500.
        for path in (f"/interviews/{iv.id}", "/jobs", "/users/me"):
            resp = await iv.recruiter.get(path)
            assert_error_shape(resp, 503, "database_unavailable")
            assert resp.headers["retry-after"] == "2"
        assert_error_shape(await iv.recruiter.get("/readyz"), 503, "database_unavailable")
        assert (await iv.recruiter.get("/healthz")).status_code == 200
        # The sockets stay open; an answer sent now cannot be committed, so it is not acked.
        answer_id = uuid.uuid4().hex
        answer = asyncio.create_task(
            candidate.request(
                {
                    "type": "answer",
                    "question_id": question["question_id"],
                    "text": LONG_ANSWER,
                    "client_id": answer_id,
                },
                timeout=60,
            )
        )
        await asyncio.sleep(1.5)
        assert not answer.done(), answer
        assert candidate.close_code is None and watcher.close_code is None

        await asyncio.to_thread(plain_postgres.start)

        # The answer is committed once the database is back, and only then acked.
        ack = await asyncio.wait_for(answer, 30)
        assert ack["type"] == "ack", ack
        assert ack["offset"] > before["offset"]
        await wait_for_ready(iv.recruiter)
        # The watcher, subscribed before the restart, sees the answer as a committed event.
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(20):
            async for event in watcher.events(timeout=20):
                seen.append(event)
                if event["offset"] >= ack["offset"]:
                    break
        assert any(e.get("offset") == ack["offset"] for e in seen), seen
        # HTTP works again, and the interview goes on: the next question, another acked message.
        got = await iv.recruiter.get(f"/interviews/{iv.id}")
        assert got.status_code == 200, got.text
        assert got.json()["state"] == "in_progress"
        follow = await candidate.next_question(timeout=20)
        after = await candidate.proctor("tab_visible")
        assert after["type"] == "ack" and after["offset"] > ack["offset"], after
        stored = {e["client_id"]: e for e in await stored_events(srv, iv.id) if e["client_id"]}
        assert stored[answer_id]["offset"] == ack["offset"]
        assert stored[answer_id]["kind"] == "answer"
        assert stored[after["client_id"]]["offset"] == after["offset"]
        assert follow["question_id"] != question["question_id"]
    finally:
        for session in (candidate, watcher):
            if session is not None:
                await session.close()
        await close_clients(iv)
    output = srv.output()
    assert PASSWORD not in output
    assert '"database.connected"' in output or "database.connected" in output
    assert "request.failed" not in output  # no 500 with a traceback during the outage
