"""The database underneath: migrations, persistence across restarts and crashes, the data
directory lock, file modes, demo data, a clean Ctrl-C, and migrations on a plain PostgreSQL.

Tests that take a server run on both backends (see tests/conftest.py); those about the embedded
PostgreSQL's own processes and lock are marked embedded_only."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server.config import Settings
from server.store import migrations
from server.store.sql_script import split_statements
from tests.conftest import (
    OPENHIRE,
    ROOT,
    DatabaseBackend,
    ServerProcess,
    free_port,
    job_payload,
    run_admin_sql,
    unique_email,
    with_database,
)

MIGRATIONS = sorted((ROOT / "supabase" / "migrations").glob("*.sql"))
DEMO_PASSWORD = "openhire-demo"
DEMO_RECRUITER = "recruiter@demo.openhire.dev"
DEMO_CANDIDATE = "candidate@demo.openhire.dev"


def run_cli(
    data_dir: Path, *args: str, database_url: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = ServerProcess(data_dir=data_dir, database_url=database_url).env()
    environ.update(env)
    return subprocess.run(
        [*OPENHIRE, *args],
        cwd=data_dir.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def signup(server: ServerProcess, role: str) -> dict[str, Any]:
    password = "pw-" + uuid.uuid4().hex
    resp = httpx.post(
        server.url + "/auth/signup",
        json={
            "email": unique_email(role),
            "password": password,
            "full_name": f"Persistent {role}",
            "role": role,
        },
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return {**resp.json(), "password": password}


def login(server: ServerProcess, email: str, password: str) -> dict[str, Any]:
    resp = httpx.post(
        server.url + "/auth/login", json={"email": email, "password": password}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def alive(pid: int) -> bool:
    """A zombie (exited, not yet reaped) counts as gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def postgres_processes(data_dir: Path) -> list[int]:
    """Live processes whose command line names this data directory's cluster."""
    pgdata = str((data_dir / "postgres").resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if pgdata in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def start_in_own_session(server: ServerProcess, timeout: float = 60.0) -> None:
    """Start like ServerProcess.start, but as the leader of a process group of its own, so
    that a test can send SIGINT to the whole group as a terminal's Ctrl-C does."""
    server.log_path = server.data_dir.parent / f"server-{server.port}.log"
    with server.log_path.open("ab") as log:
        server.proc = subprocess.Popen(
            [*OPENHIRE, "serve"],
            cwd=server.data_dir.parent,
            env=server.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server did not become ready:\n{server.output()}")


# --- migrations -----------------------------------------------------------------------------


async def test_migrate_applies_pending_files_once(
    make_server, database_backend: DatabaseBackend, tmp_path: Path
) -> None:
    # [external]: `openhire migrate` with DATABASE_URL naming a fresh database.
    data_dir = tmp_path / "data"
    database_url = database_backend.url_for(data_dir)
    first = run_cli(data_dir, "migrate", database_url=database_url)
    assert first.returncode == 0, first.stderr
    versions = [p.name.split("_", 1)[0] for p in MIGRATIONS]
    assert f"applied {len(MIGRATIONS)} migration(s): {', '.join(versions)}" in first.stdout
    if database_url is not None:
        # Checked straight away (an embedded database stops with `migrate`; see below).
        conn = await asyncpg.connect(database_url)
        try:
            recorded = await conn.fetch(
                "select version from supabase_migrations.schema_migrations order by version"
            )
            assert [r["version"] for r in recorded] == versions
            for table in ("users", "jobs", "applications", "interviews", "interview_events"):
                assert await conn.fetchval("select to_regclass($1) is not null", f"public.{table}")
        finally:
            await conn.close()
        assert not (data_dir / "postgres").exists()  # no embedded PostgreSQL was started

    again = run_cli(data_dir, "migrate", database_url=database_url)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert "migrations.applied" not in again.stderr

    # A new file is pending.
    extra_dir = tmp_path / "migrations"
    extra_dir.mkdir()
    for path in MIGRATIONS:
        (extra_dir / path.name).write_text(path.read_text())
    (extra_dir / "20991231000000_extra_table.sql").write_text(
        "create table public.migration_probe (id int primary key);\n"
        "alter table public.migration_probe enable row level security;\n"
    )

    # `openhire serve` applies pending migrations at start too: only the new one.
    srv = make_server(data_dir, OPENHIRE_MIGRATIONS_DIR=str(extra_dir))
    srv.start()
    applied = [line for line in srv.output().splitlines() if "migrations.applied" in line]
    assert len(applied) == 1, applied
    assert "20991231000000" in applied[0]
    conn = await asyncpg.connect(srv.dsn)
    try:
        rows = await conn.fetch(
            "select version, name, statements from supabase_migrations.schema_migrations"
            " order by version"
        )
        assert await conn.fetchval("select to_regclass('public.migration_probe') is not null")
        assert await conn.fetchval("select to_regclass('public.applications') is not null")
    finally:
        await conn.close()
    expected = [(p.name[:14], p.name[15:-4], p.read_text()) for p in MIGRATIONS]
    expected.append(("20991231000000", "extra_table", None))
    assert [(r["version"], r["name"]) for r in rows] == [(v, n) for v, n, _ in expected]
    for row, (_, _, sql) in zip(rows, expected, strict=True):
        if sql is not None:
            assert row["statements"] == split_statements(sql)


async def test_a_migration_refused_for_lack_of_privilege_is_one_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    """As on a hosted Supabase project, the role running migrations is not a superuser and does
    not own Storage's tables (Supabase lets `postgres` create policies on them by its own
    policy grants). `openhire migrate` then stops on the statement it may not run with one line
    naming the file and the statement, exit status 2, and the file leaves nothing behind; once
    the privilege is there, the same command finishes the job."""
    role = f"migrator_{uuid.uuid4().hex[:10]}"
    name = f"openhire_priv_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server.dsn)
    # Supabase's `postgres`: no superuser, but it bypasses row-level security.
    await admin.execute(f'create role "{role}" login nosuperuser createdb createrole bypassrls')
    await admin.execute(f'create database "{name}" template template0')
    try:
        db = await asyncpg.connect(server.dsn, database=name)
        try:
            # What Supabase provides, made by the superuser as Supabase's own roles make it.
            assert await migrations.bootstrap_supabase_objects(db) is True
            # What Supabase's `postgres` role holds on them, short of owning Storage's tables.
            await db.execute(
                f'grant create on database "{name}" to "{role}";'
                f' grant usage, create on schema public, extensions to "{role}";'
                f' grant usage on schema auth, storage to "{role}";'
                f' grant all on all tables in schema auth, storage to "{role}";'
                f' grant anon, authenticated, service_role to "{role}";'
                # Realtime's publication is `postgres`'s on a Supabase project.
                f' alter publication supabase_realtime owner to "{role}";'
            )
            url = with_database(server.dsn.replace("postgres@", f"{role}@", 1), name)
            data_dir = tmp_path / "data"
            data_dir.mkdir()

            refused = run_cli(data_dir, "migrate", database_url=url)
            assert refused.returncode == 2, refused.stderr
            assert "Traceback" not in refused.stderr + refused.stdout
            lines = [line for line in refused.stderr.splitlines() if line.startswith("openhire:")]
            assert len(lines) == 1, refused.stderr
            assert lines[0].startswith(
                "openhire: migration 20261126000000_storage.sql failed at statement"
            )
            assert "(create policy openhire_resumes_select on storage.objects" in lines[0]
            assert "must be owner of table objects [SQLSTATE 42501]" in lines[0]
            # The refused file left nothing: no row, no policy, no function of it.
            assert await db.fetchval(
                "select array_agg(version order by version)"
                " from supabase_migrations.schema_migrations"
            ) == ["20261125000000"]
            assert (
                await db.fetchval("select to_regprocedure('public.can_read_interview(uuid)')")
                is None
            )

            # Supabase's policy grants stand in here as ownership.
            await db.execute(f'alter table storage.objects owner to "{role}"')
            done = run_cli(data_dir, "migrate", database_url=url)
            assert done.returncode == 0, done.stderr
            recorded = await db.fetchval(
                "select array_agg(version order by version)"
                " from supabase_migrations.schema_migrations"
            )
            assert recorded == [p.name[:14] for p in MIGRATIONS]
        finally:
            await db.close()
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'drop role if exists "{role}"')
        await admin.close()


def test_every_migration_file_is_named_as_supabase_expects() -> None:
    assert MIGRATIONS, "no migrations found"
    found = migrations.find_migrations(ROOT / "supabase" / "migrations")
    assert [m.path for m in found] == MIGRATIONS
    assert len({m.version for m in found}) == len(found)


# --- persistence, restarts and the lock -----------------------------------------------------


def test_data_and_keys_survive_a_restart_and_are_owner_only(make_server) -> None:
    srv = make_server()
    srv.start()
    recruiter = signup(srv, "recruiter")
    token = recruiter["access_token"]
    job = httpx.post(
        srv.url + "/jobs", json=job_payload(title="Survives Restarts"), headers=bearer(token)
    ).json()
    assert srv.stop() == 130
    first_log = len(srv.output())

    again = make_server(srv.data_dir)
    again.port = srv.port  # the token's issuer names the port
    again.start()
    # A token issued before the restart is still valid: the signing key was kept.
    me = httpx.get(again.url + "/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == recruiter["user"]["id"]
    # And the password still logs in; the job is still there.
    session = login(again, recruiter["user"]["email"], recruiter["password"])
    seen = httpx.get(f"{again.url}/jobs/{job['id']}", headers=bearer(session["access_token"]))
    assert seen.status_code == 200
    assert seen.json()["title"] == "Survives Restarts"
    assert seen.json()["interview_plan"] == job["interview_plan"]
    # Nothing was migrated twice.
    assert "migrations.applied" not in again.output()[first_log:]

    key = srv.data_dir / "jwt_signing_key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_uid == os.geteuid()
    if srv.embedded:
        assert stat.S_IMODE((srv.data_dir / "postgres").stat().st_mode) == 0o700
        assert stat.S_IMODE((srv.data_dir / "openhire.lock").stat().st_mode) == 0o600
    else:
        # No embedded cluster, so no cluster directory and no lock guarding one.
        assert not (srv.data_dir / "postgres").exists()
    assert stat.S_IMODE((srv.data_dir / "blobs").stat().st_mode) == 0o700


@pytest.mark.embedded_only  # the lock guards the embedded cluster; its processes are checked
def test_second_server_on_the_same_data_dir_fails_fast_and_a_killed_server_recovers(
    make_server,
) -> None:
    first = make_server()
    first.start()
    assert first.proc is not None
    candidate = signup(first, "candidate")

    started = time.monotonic()
    second = run_cli(first.data_dir, "serve", OPENHIRE_PORT=str(free_port()))
    elapsed = time.monotonic() - started
    assert second.returncode != 0
    assert elapsed < 15, f"the second server took {elapsed:.1f} s to give up"
    message = second.stderr + second.stdout
    assert "in use by another OpenHire server" in message
    assert f"pid {first.proc.pid}" in message
    assert "Traceback" not in message
    # The first server never noticed.
    assert httpx.get(first.url + "/readyz").status_code == 200
    me = httpx.get(first.url + "/users/me", headers=bearer(candidate["access_token"]))
    assert me.status_code == 200

    # SIGKILL: no clean-up at all; PostgreSQL outlives its server.
    postmaster = postmaster_pid(first.data_dir)
    first.kill()
    assert alive(postmaster)

    recovered = make_server(first.data_dir)
    recovered.start()
    session = login(recovered, candidate["user"]["email"], candidate["password"])
    assert session["user"]["id"] == candidate["user"]["id"]
    assert httpx.get(recovered.url + "/readyz").status_code == 200
    # The orphaned cluster was adopted, not started a second time.
    assert postmaster_pid(first.data_dir) == postmaster
    assert postgres_processes(first.data_dir) == [postmaster]

    assert recovered.stop() == 130
    assert not alive(postmaster)
    assert postgres_processes(first.data_dir) == []


# --- demo data and Ctrl-C -------------------------------------------------------------------


@pytest.mark.embedded_only  # Ctrl-C must stop the embedded cluster's processes; checked here
async def test_demo_data_ctrl_c_and_no_duplicates_on_restart(make_server) -> None:
    srv = make_server(OPENHIRE_DEMO="1")
    start_in_own_session(srv)
    assert srv.proc is not None

    banner = srv.output()
    assert DEMO_RECRUITER in banner
    assert DEMO_CANDIDATE in banner
    assert DEMO_PASSWORD in banner

    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:

        async def demo_login(email: str) -> dict[str, Any]:
            resp = await http.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

        recruiter = await demo_login(DEMO_RECRUITER)
        candidate = await demo_login(DEMO_CANDIDATE)
        assert recruiter["user"]["role"] == "recruiter"
        assert candidate["user"]["role"] == "candidate"
        jobs = (
            await http.get(
                "/jobs",
                params={"recruiter_id": recruiter["user"]["id"]},
                headers=bearer(candidate["access_token"]),
            )
        ).json()
        assert jobs["total"] == 1
        demo_job = jobs["items"][0]
        assert demo_job["status"] == "open"
        # The demo flow works end to end: the demo candidate can apply to the demo job.
        applied = await http.post(
            f"/jobs/{demo_job['id']}/applications",
            files={"cover_letter": (None, "Trying the demo")},
            headers=bearer(candidate["access_token"]),
        )
        assert applied.status_code == 201, applied.text

    # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    postmaster = postmaster_pid(srv.data_dir)
    assert postgres_processes(srv.data_dir) == [postmaster]
    os.killpg(srv.proc.pid, signal.SIGINT)
    code = srv.proc.wait(30)
    srv.proc = None
    assert code == 130, srv.output()
    assert "embedded_postgres.stopped" in srv.output()
    assert not alive(postmaster)
    assert postgres_processes(srv.data_dir) == []
    assert not (srv.data_dir / "postgres" / "postmaster.pid").exists()
    assert "Traceback" not in srv.output()

    again = make_server(srv.data_dir, OPENHIRE_DEMO="1")
    again.start()
    assert DEMO_PASSWORD in again.output()
    conn = await asyncpg.connect(again.dsn)
    try:
        users = await conn.fetchval(
            "select count(*) from public.users where email like '%@demo.openhire.dev'"
        )
        identities = await conn.fetchval(
            "select count(*) from auth.users where email like '%@demo.openhire.dev'"
        )
        demo_jobs = await conn.fetchval(
            "select count(*) from public.jobs where recruiter_id = $1",
            uuid.UUID(recruiter["user"]["id"]),
        )
        applications = await conn.fetchval(
            "select count(*) from public.applications where job_id = $1",
            uuid.UUID(demo_job["id"]),
        )
    finally:
        await conn.close()
    assert (users, identities, demo_jobs) == (2, 2, 1)
    # The seed leaves what people did with the demo alone.
    assert applications == 1
    async with httpx.AsyncClient(base_url=again.url, timeout=30) as http:
        resp = await http.post(
            "/auth/login", json={"email": DEMO_CANDIDATE, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200


def test_no_demo_accounts_without_demo(server: ServerProcess) -> None:
    # The shared server runs with OPENHIRE_DEMO=0.
    resp = httpx.post(
        server.url + "/auth/login", json={"email": DEMO_RECRUITER, "password": DEMO_PASSWORD}
    )
    assert resp.status_code == 401
    assert DEMO_PASSWORD not in server.output()


# --- settings and an external PostgreSQL ----------------------------------------------------


def test_settings_read_database_url() -> None:
    url = "postgresql://openhire:secret@db.example.test:5432/openhire"
    settings = Settings.from_env({"DATABASE_URL": url}, dotenv=False)
    assert settings.database_url == url
    assert not settings.embedded_database
    assert settings.demo is False  # demo data is for the embedded database only

    embedded = Settings.from_env({}, dotenv=False)
    assert embedded.database_url is None
    assert embedded.embedded_database
    assert embedded.demo is True
    assert embedded.data_dir == Path(".openhire")

    # An empty variable is as good as unset; the demo can still be asked for explicitly.
    assert Settings.from_env({"DATABASE_URL": ""}, dotenv=False).embedded_database
    assert Settings.from_env({"DATABASE_URL": url, "OPENHIRE_DEMO": "1"}, dotenv=False).demo
    custom = Settings.from_env({"OPENHIRE_DATA_DIR": "/srv/openhire"}, dotenv=False)
    assert custom.data_dir == Path("/srv/openhire")


async def test_migrations_apply_to_a_plain_postgresql(external_database_url: str) -> None:
    """The migrations, step by step, on a fresh database of OPENHIRE_TEST_DATABASE_URL's
    PostgreSQL (the machine's PostgreSQL 15 in CI, the version Supabase runs). The roles the
    bootstrap creates are cluster-wide and stay: other databases of that cluster (the
    [external] servers) use them too."""
    name = f"openhire_test_{uuid.uuid4().hex[:12]}"
    run_admin_sql(external_database_url, f'create database "{name}"')
    try:
        conn = await asyncpg.connect(with_database(external_database_url, name))
        try:
            assert await conn.fetchval("select to_regclass('auth.users')") is None
            assert await migrations.bootstrap_supabase_objects(conn) is True
            applied = await migrations.apply_migrations(conn, migrations.default_migrations_dir())
            assert applied == [p.name[:14] for p in MIGRATIONS]
            # Twice: nothing to do.
            assert await migrations.bootstrap_supabase_objects(conn) is False
            assert (
                await migrations.apply_migrations(conn, migrations.default_migrations_dir()) == []
            )
            recorded = await conn.fetchval(
                "select count(*) from supabase_migrations.schema_migrations"
            )
            assert recorded == len(MIGRATIONS)
            tables = await conn.fetch(
                "select c.relname, c.relrowsecurity from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'public' and c.relkind in ('r', 'p')"
            )
            assert {t["relname"] for t in tables} >= {
                "users",
                "jobs",
                "applications",
                "interviews",
                "interview_events",
                "interview_artifacts",
            }
            assert all(t["relrowsecurity"] for t in tables), tables
            # The seed applies there too, and RLS works as on the embedded database.
            seed = ROOT / "supabase" / "seed.sql"
            await migrations.apply_seed(conn, seed)
            await migrations.apply_seed(conn, seed)
            assert await conn.fetchval("select count(*) from public.jobs") == 1
            async with conn.transaction():
                await conn.execute("set local role anon")
                assert await conn.fetchval("select count(*) from public.jobs") == 1
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    async with conn.transaction():
                        await conn.fetch("select * from public.users")
        finally:
            await conn.close()
    finally:
        run_admin_sql(external_database_url, f'drop database if exists "{name}" with (force)')


@pytest.mark.one_backend
def test_a_one_backend_test_runs_on_the_external_database_when_there_is_one(
    database_backend: DatabaseBackend,
) -> None:
    """Collected once, on the last backend: the external PostgreSQL when
    OPENHIRE_TEST_DATABASE_URL names one (CI), else the embedded one. Marked tests rely on it
    to be covered on the platform's PostgreSQL; were the marker ignored, this would also run
    on the embedded database and fail there."""
    expected = "external" if os.environ.get("OPENHIRE_TEST_DATABASE_URL") else "embedded"
    assert database_backend.name == expected
    assert database_backend.external == (expected == "external")
