"""Row-level security, tested in PostgreSQL itself as Supabase uses it: the rows are made through
the HTTP API, then each check switches to the `authenticated` (or `anon`) role with a user's JWT
claims set, inside a transaction that is rolled back afterwards. Storage objects are inserted as
`service_role`, as the Storage API does with the service key. docs/security.md lists the rules.

The whole suite runs once per Supabase default-privilege regime (``rls_server``): a project
created before 2026-05-30, whose default privileges give the API roles ALL on every new table
and EXECUTE on every new function, and a newer one, which still gives TRUNCATE, REFERENCES and
TRIGGER. The stand-in bootstrap reproduces each before the first migration."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server.http.jobs import InterviewPlan
from server.store import migrations
from tests.conftest import (
    ROOT,
    DatabaseBackend,
    ServerProcess,
    job_payload,
    running_server,
    unique_email,
)

PUBLIC_TABLES = {
    "interview_evaluations",
    "users",
    "jobs",
    "applications",
    "interviews",
    "interview_events",
    "interview_artifacts",
    "notifications",
}


@dataclass
class World:
    r1: str
    r2: str
    c1: str
    c2: str
    c3: str  # applied to nothing
    open1: str  # r1's
    closed1: str  # r1's
    open2: str  # r2's
    closed2: str  # r2's
    c1_open1: str
    c1_open2: str
    c2_open1: str  # rejected by r1
    i_c1_open1: str  # interview of c1_open1, scheduled by r1
    i_c1_open2: str  # interview of c1_open2, scheduled by r2

    def u(self, name: str) -> uuid.UUID:
        return uuid.UUID(getattr(self, name))


# server.store.migrations.DEFAULT_PRIVILEGES: what a Supabase project's default privileges give
# the API roles on new objects in `public`, before and after 2026-05-30. (A plain PostgreSQL's
# "none" is checked on a database of its own, below.)
SUPABASE_REGIMES = ["supabase-legacy", "supabase"]


@pytest.fixture(scope="module", params=SUPABASE_REGIMES)
def rls_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
) -> Iterator[ServerProcess]:
    """A server whose database was bootstrapped with a Supabase project's default privileges
    before the migrations ran."""
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("rls") / "data",
        OPENHIRE_BOOTSTRAP_DEFAULT_PRIVILEGES=request.param,
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def world(rls_server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=rls_server.url, timeout=30) as http:

        def account(role: str) -> tuple[str, dict[str, str]]:
            resp = http.post(
                "/auth/signup",
                json={
                    "email": unique_email(role),
                    "password": uuid.uuid4().hex,
                    "full_name": f"RLS {role}",
                    "role": role,
                },
            )
            assert resp.status_code == 201, resp.text
            body = resp.json()
            return body["user"]["id"], {"Authorization": f"Bearer {body['access_token']}"}

        def job(headers: dict[str, str], status: str) -> str:
            resp = http.post("/jobs", json=job_payload(status=status), headers=headers)
            assert resp.status_code == 201, resp.text
            return str(resp.json()["id"])

        def apply(headers: dict[str, str], job_id: str) -> str:
            resp = http.post(
                f"/jobs/{job_id}/applications",
                files={"cover_letter": (None, "RLS")},
                headers=headers,
            )
            assert resp.status_code == 201, resp.text
            return str(resp.json()["id"])

        (r1, h_r1), (r2, h_r2) = account("recruiter"), account("recruiter")
        (c1, h_c1), (c2, h_c2), (c3, _) = (
            account("candidate"),
            account("candidate"),
            account("candidate"),
        )
        open1, closed1 = job(h_r1, "open"), job(h_r1, "closed")
        open2, closed2 = job(h_r2, "open"), job(h_r2, "closed")
        c1_open1, c1_open2, c2_open1 = apply(h_c1, open1), apply(h_c1, open2), apply(h_c2, open1)
        rejected = http.patch(
            f"/applications/{c2_open1}", json={"status": "rejected"}, headers=h_r1
        )
        assert rejected.status_code == 200, rejected.text

        def schedule(headers: dict[str, str], application_id: str) -> str:
            resp = http.post(f"/applications/{application_id}/interviews", json={}, headers=headers)
            assert resp.status_code == 201, resp.text
            return str(resp.json()["id"])

        i_c1_open1, i_c1_open2 = schedule(h_r1, c1_open1), schedule(h_r2, c1_open2)
        yield World(
            r1,
            r2,
            c1,
            c2,
            c3,
            open1,
            closed1,
            open2,
            closed2,
            c1_open1,
            c1_open2,
            c2_open1,
            i_c1_open1,
            i_c1_open2,
        )


@pytest.fixture
async def conn(rls_server: ServerProcess) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(rls_server.dsn)
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[None]:
    tr = conn.transaction()
    await tr.start()
    try:
        yield
    finally:
        await tr.rollback()


async def become(
    conn: asyncpg.Connection, user_id: str | None, role: str = "authenticated"
) -> None:
    """What PostgREST does for each request: the role, and the JWT's claims (transaction-local)."""
    claims: dict[str, Any] = {"role": role}
    if user_id is not None:
        claims["sub"] = user_id
    await conn.execute("reset role")
    await conn.execute("select set_config('request.jwt.claims', $1, true)", json.dumps(claims))
    await conn.execute(f"set local role {role}")
    # The check is only worth something if it really runs as that role, with that identity.
    assert await conn.fetchval("select current_user") == role
    assert await conn.fetchval("select auth.uid()::text") == user_id


@contextlib.asynccontextmanager
async def acting_as(
    conn: asyncpg.Connection, user_id: str | None, role: str = "authenticated"
) -> AsyncIterator[None]:
    async with rolled_back(conn):
        await become(conn, user_id, role)
        yield


@contextlib.asynccontextmanager
async def refused(match: str) -> AsyncIterator[None]:
    """The statement in the block fails with insufficient_privilege; its savepoint is undone
    (the caller must be inside a transaction), so later statements still run."""
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=match):
        yield


async def ids(conn: asyncpg.Connection, sql: str, *args: Any) -> set[str]:
    return {str(r[0]) for r in await conn.fetch(sql, *args)}


RLS_VIOLATION = "row-level security"
NO_PRIVILEGE = "permission denied"


# --- the schema -----------------------------------------------------------------------------


async def test_every_public_table_has_row_level_security(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "select c.relname, c.relrowsecurity from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind in ('r', 'p')"
    )
    tables = {r["relname"]: r["relrowsecurity"] for r in rows}
    assert set(tables) >= PUBLIC_TABLES
    assert [name for name, enabled in tables.items() if not enabled] == []


async def test_api_roles_cannot_bypass_rls(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "select rolname, rolbypassrls, rolsuper from pg_roles"
        " where rolname in ('anon', 'authenticated')"
    )
    assert {r["rolname"] for r in rows} == {"anon", "authenticated"}
    assert not any(r["rolbypassrls"] or r["rolsuper"] for r in rows)


# --- privileges: the same under every regime ------------------------------------------------

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")
# "public" is PostgreSQL's PUBLIC: what every role holds.
API_ROLES = ("public", "anon", "authenticated", "service_role")
JOB_COLUMNS = (
    "title, description, job_type, location, remote, salary_min, salary_max, salary_currency,"
    " required_skills, status"
)
DATA_API = {"SELECT", "INSERT", "UPDATE", "DELETE"}
POLICY_HELPERS = (
    "can_read_application(uuid)",
    "can_read_interview(uuid)",
    "current_app_role()",
    "is_candidate_of_recruiter(uuid)",
    "is_job_recruiter(uuid)",
    "storage_object_folder_id(text)",
)
# Every table, view, sequence and function in `public` the API roles hold anything on, and
# exactly what: docs/security.md in privileges. A migration that adds an object or changes a
# grant updates this list; one that forgets to revoke first fails here under the older regime.
JOB_READABLE_COLUMNS = (
    "id, recruiter_id, title, description, job_type, location, remote, salary_min, salary_max,"
    " salary_currency, required_skills, status, created_at, updated_at, title_lower,"
    " interview_summary"
)
EXPECTED_PRIVILEGES: dict[tuple[str, str], set[str]] = {
    # The company name is shown on a recruiter's jobs (20261219000000_accounts.sql).
    ("users", "authenticated"): {"SELECT", "UPDATE (full_name, company_name)"},
    # Every column but interview_plan (20261207010000_job_plan_privacy.sql); the owner reads the
    # plan through job_interview_plan().
    ("jobs", "anon"): {f"SELECT ({JOB_READABLE_COLUMNS})"},
    ("jobs", "authenticated"): {
        f"SELECT ({JOB_READABLE_COLUMNS})",
        f"INSERT (recruiter_id, {JOB_COLUMNS})",
        f"UPDATE ({JOB_COLUMNS})",
        "DELETE",
    },
    ("applications", "authenticated"): {
        "SELECT",
        "INSERT (job_id, candidate_id, cover_letter)",
        "UPDATE (status)",
    },
    # Every column but evaluation (20261209000000_evaluation_versions.sql): recruiters read
    # evaluations from interview_evaluations, candidates none.
    ("interviews", "authenticated"): {
        "SELECT (id, application_id, job_id, candidate_id, recruiter_id, state, state_reason,"
        " expires_at, started_at, ended_at, created_at, updated_at, extra_time_percent,"
        " opens_at, closes_at)"
    },
    ("interview_evaluations", "authenticated"): {"SELECT"},
    ("interview_events", "authenticated"): {"SELECT"},
    ("interview_artifacts", "authenticated"): {"SELECT"},
    # A user reads their own notifications and marks them read (20261210000000_notifications).
    ("notifications", "authenticated"): {"SELECT", "UPDATE (read_at)"},
    **{(table, "service_role"): DATA_API for table in PUBLIC_TABLES},
    **{
        (f"function {helper}", role): {"EXECUTE"}
        for helper in POLICY_HELPERS
        for role in ("authenticated", "service_role")
    },
    ("function job_interview_plan(uuid)", "authenticated"): {"EXECUTE"},
}


async def effective_privileges(conn: asyncpg.Connection) -> dict[tuple[str, str], set[str]]:
    """What each API role may do to each object in `public`, wherever the privilege comes from
    (a grant to the role, to PUBLIC, or a default privilege): a table-level privilege by name,
    a column-level one as "PRIVILEGE (columns)"."""
    found: dict[tuple[str, str], set[str]] = {}
    relations = await conn.fetch(
        "select c.oid, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')"
    )
    functions = await conn.fetch(
        "select p.oid, p.oid::regprocedure::text as name from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
        " and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')"
    )
    for role in API_ROLES:
        for rel in relations:
            held = set()
            for privilege in TABLE_PRIVILEGES:
                if await conn.fetchval(
                    "select has_table_privilege($1, $2::oid, $3)", role, rel["oid"], privilege
                ):
                    held.add(privilege)
                elif privilege in COLUMN_PRIVILEGES:
                    columns = await conn.fetchval(
                        "select string_agg(attname, ', ' order by attnum) from pg_attribute"
                        " where attrelid = $1 and attnum > 0 and not attisdropped"
                        " and has_column_privilege($2, $1, attnum, $3)",
                        rel["oid"],
                        role,
                        privilege,
                    )
                    if columns:
                        held.add(f"{privilege} ({columns})")
            if held:
                found[(rel["relname"], role)] = held
        for function in functions:
            if await conn.fetchval(
                "select has_function_privilege($1, $2::oid, 'EXECUTE')", role, function["oid"]
            ):
                found[(f"function {function['name'].removeprefix('public.')}", role)] = {"EXECUTE"}
    return found


async def test_privileges_are_exactly_the_expected_ones(conn: asyncpg.Connection) -> None:
    assert await effective_privileges(conn) == EXPECTED_PRIVILEGES


async def test_api_roles_cannot_truncate(conn: asyncpg.Connection, world: World) -> None:
    """TRUNCATE skips row-level security: whoever holds it empties a table of everyone's rows.
    Newer Supabase projects still grant it on new tables by default."""
    for role in ("anon", "authenticated", "service_role"):
        user = world.c1 if role == "authenticated" else None
        async with acting_as(conn, user, role=role):
            for table in sorted(PUBLIC_TABLES):
                async with refused(NO_PRIVILEGE), conn.transaction():
                    await conn.execute(f"truncate public.{table} cascade")
    async with rolled_back(conn):
        assert await conn.fetchval("select count(*) from public.applications") > 0


# --- reading --------------------------------------------------------------------------------


async def test_candidates_see_only_their_own_applications(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.c1):
        assert await ids(conn, "select id from public.applications") == {
            world.c1_open1,
            world.c1_open2,
        }
        # Not even by asking for another's by id.
        assert (
            await ids(
                conn, "select id from public.applications where id = $1", uuid.UUID(world.c2_open1)
            )
            == set()
        )
    async with acting_as(conn, world.c2):
        assert await ids(conn, "select id from public.applications") == {world.c2_open1}
    async with acting_as(conn, world.c3):
        assert await conn.fetchval("select count(*) from public.applications") == 0


async def test_recruiters_see_only_applications_to_their_jobs(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.r1):
        assert await ids(conn, "select id from public.applications") == {
            world.c1_open1,
            world.c2_open1,
        }
    async with acting_as(conn, world.r2):
        assert await ids(conn, "select id from public.applications") == {world.c1_open2}


async def test_users_see_themselves_and_recruiters_their_applicants(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.c1):
        assert await ids(conn, "select id from public.users") == {world.c1}
    async with acting_as(conn, world.c3):
        assert await ids(conn, "select id from public.users") == {world.c3}
    async with acting_as(conn, world.r1):
        assert await ids(conn, "select id from public.users") == {world.r1, world.c1, world.c2}
    async with acting_as(conn, world.r2):
        assert await ids(conn, "select id from public.users") == {world.r2, world.c1}


async def test_open_jobs_for_everyone_closed_jobs_for_their_recruiter(
    conn: asyncpg.Connection, world: World
) -> None:
    mine = [world.u(n) for n in ("open1", "closed1", "open2", "closed2")]
    query = "select id from public.jobs where id = any($1::uuid[])"
    for user in (world.c1, world.c3):
        async with acting_as(conn, user):
            assert await ids(conn, query, mine) == {world.open1, world.open2}
            assert (
                await conn.fetchval("select count(*) from public.jobs where status <> 'open'") == 0
            )
    async with acting_as(conn, world.r1):
        assert await ids(conn, query, mine) == {world.open1, world.closed1, world.open2}
        assert (
            await conn.fetchval(
                "select count(*) from public.jobs where status = 'closed' and recruiter_id <> $1",
                world.u("r1"),
            )
            == 0
        )
    async with acting_as(conn, world.r2):
        assert await ids(conn, query, mine) == {world.open1, world.open2, world.closed2}


async def test_anon_sees_open_jobs_and_nothing_else(conn: asyncpg.Connection, world: World) -> None:
    mine = [world.u(n) for n in ("open1", "closed1", "open2", "closed2")]
    async with acting_as(conn, None, role="anon"):
        assert await ids(conn, "select id from public.jobs where id = any($1::uuid[])", mine) == {
            world.open1,
            world.open2,
        }
        assert await conn.fetchval("select count(*) from public.jobs where status <> 'open'") == 0
        # Not an empty answer: no privilege at all (an older project's default privileges
        # would give anon SELECT, leaving only row-level security between it and the rows).
        for table in sorted(PUBLIC_TABLES - {"jobs"}):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch(f"select * from public.{table}")
        for helper in POLICY_HELPERS:
            name, args = helper.split("(")
            values = {"uuid": f"'{world.c1}'::uuid", "text": "'x'", "": ""}[args.rstrip(")")]
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch(f"select public.{name}({values})")
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.execute(
                "insert into public.jobs (recruiter_id, title, description, job_type,"
                " interview_plan) values ($1, 'x', 'x', 'contract', '{}')",
                world.u("r1"),
            )
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetch("select * from auth.users")


# --- writing --------------------------------------------------------------------------------

INSERT_JOB = (
    "insert into public.jobs (recruiter_id, title, description, job_type)"
    " values ($1, 'Written directly', 'Via the database', 'contract') returning id"
)
INSERT_APPLICATION = (
    "insert into public.applications (job_id, candidate_id, cover_letter)"
    " values ($1, $2, 'direct') returning id"
)


async def test_only_recruiters_insert_jobs_and_only_their_own(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.c1):
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_JOB, world.u("c1"))
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_JOB, world.u("r1"))
    async with acting_as(conn, world.r1):
        # The positive control: a recruiter posts a job of their own.
        assert await conn.fetchval(INSERT_JOB, world.u("r1")) is not None
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_JOB, world.u("r2"))


async def test_candidates_insert_only_their_own_applications_to_open_jobs(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.c3):
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_APPLICATION, world.u("open1"), world.u("c1"))
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_APPLICATION, world.u("closed1"), world.u("c3"))
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(INSERT_APPLICATION, world.u("closed2"), world.u("c3"))
        async with refused(f"{RLS_VIOLATION}|{NO_PRIVILEGE}"), conn.transaction():
            await conn.fetchval(
                "insert into public.applications (job_id, candidate_id, status)"
                " values ($1, $2, 'hired')",
                world.u("open1"),
                world.u("c3"),
            )
        # Nor may a candidate point their application at somebody else's résumé.
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.execute(
                "insert into public.applications (job_id, candidate_id, resume_key)"
                " values ($1, $2, $3)",
                world.u("open1"),
                world.u("c3"),
                f"resumes/{world.c1_open1}/resume.pdf",
            )
        # The positive control: their own application to an open job.
        assert await conn.fetchval(INSERT_APPLICATION, world.u("open1"), world.u("c3"))
    async with acting_as(conn, world.r1), refused(RLS_VIOLATION), conn.transaction():
        await conn.fetchval(INSERT_APPLICATION, world.u("open2"), world.u("r1"))


async def test_candidates_cannot_set_what_the_server_sets(
    conn: asyncpg.Connection, world: World
) -> None:
    """A status change the policies allow cannot carry a change the column grants forbid: on an
    older project the table-level UPDATE from default privileges would let it through."""
    others_resume = f"'resumes/{world.c2_open1}/resume.pdf'"
    long_ago = "'2001-01-01T00:00:00Z'"
    async with acting_as(conn, world.c1):
        for column, value in (
            ("resume_key", others_resume),
            ("resume_filename", "'cv.pdf'"),
            ("created_at", long_ago),
            ("candidate_id", f"'{world.c2}'"),
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    f"update public.applications set status = 'withdrawn', {column} = {value}"
                    " where id = $1",
                    world.u("c1_open1"),
                )
    async with acting_as(conn, world.c3):
        for column, value in (
            ("resume_key", others_resume),
            ("resume_size", "1"),
            ("created_at", long_ago),
            ("status", "'submitted'"),
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    "insert into public.applications (job_id, candidate_id, cover_letter,"
                    f" {column}) values ($1, $2, 'direct', {value})",
                    world.u("open1"),
                    world.u("c3"),
                )
        # The positive control: the same insert without the server's columns.
        assert await conn.fetchval(INSERT_APPLICATION, world.u("open1"), world.u("c3"))


async def test_recruiters_cannot_move_an_application_to_another_candidate_or_job(
    conn: asyncpg.Connection, world: World
) -> None:
    async with acting_as(conn, world.r1):
        for column, value in (
            ("candidate_id", world.u("c3")),
            ("job_id", world.u("closed1")),
            ("resume_key", f"resumes/{world.c1_open2}/resume.pdf"),
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    f"update public.applications set status = 'reviewing', {column} = $2"
                    " where id = $1",
                    world.u("c1_open1"),
                    value,
                )
        # The positive control: the status alone.
        assert (
            await conn.fetchval(
                "update public.applications set status = 'reviewing' where id = $1"
                " returning status",
                world.u("c1_open1"),
            )
            == "reviewing"
        )


async def test_application_status_changes_follow_the_api_rules(
    conn: asyncpg.Connection, world: World
) -> None:
    update = "update public.applications set status = $2 where id = $1 returning status"
    c1_open1, c2_open1 = world.u("c1_open1"), world.u("c2_open1")
    async with acting_as(conn, world.c1):
        # Moves the recruiter could make (so only the role stands in the way).
        for target in ("reviewing", "shortlisted", "rejected"):
            async with refused(RLS_VIOLATION), conn.transaction():
                await conn.fetchval(update, c1_open1, target)
        for column, value in (
            ("cover_letter", "'rewritten'"),
            ("job_id", f"'{world.open2}'"),
            ("resume_key", f"'resumes/{world.c2_open1}/resume.pdf'"),
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    f"update public.applications set {column} = {value} where id = $1", c1_open1
                )
        # Another's application is invisible: nothing is updated.
        assert await conn.fetchval(update, c2_open1, "withdrawn") is None
        assert await conn.fetchval(update, c1_open1, "withdrawn") == "withdrawn"
    async with acting_as(conn, world.r1):
        async with refused(RLS_VIOLATION), conn.transaction():
            await conn.fetchval(update, c1_open1, "withdrawn")
        assert await conn.fetchval(update, c1_open1, "reviewing") == "reviewing"
        # Final is final, here as in the API.
        with pytest.raises(asyncpg.CheckViolationError, match="cannot become"):
            async with conn.transaction():
                await conn.fetchval(update, c2_open1, "hired")
    async with acting_as(conn, world.c2):
        # A rejected candidate cannot withdraw afterwards either.
        with pytest.raises(asyncpg.CheckViolationError, match="cannot become"):
            async with conn.transaction():
                await conn.fetchval(update, c2_open1, "withdrawn")
    async with acting_as(conn, world.r2):
        # Applications to another recruiter's job are out of reach.
        assert await conn.fetchval(update, c1_open1, "reviewing") is None


async def test_users_cannot_change_their_role(conn: asyncpg.Connection, world: World) -> None:
    async with acting_as(conn, world.c1):
        async with refused("row-level security|permission denied"), conn.transaction():
            await conn.execute(
                "update public.users set role = 'recruiter' where id = $1", world.u("c1")
            )
        # Nor their email: the one recruiters see must be the one they log in with.
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.execute(
                "update public.users set email = 'someone.else@example.test' where id = $1",
                world.u("c1"),
            )
        renamed = await conn.fetchval(
            "update public.users set full_name = 'New Name' where id = $1 returning full_name",
            world.u("c1"),
        )
        assert renamed == "New Name"
        # Other users' rows are out of reach.
        assert (
            await conn.fetchval(
                "update public.users set full_name = 'x' where id = $1 returning id", world.u("c2")
            )
            is None
        )


async def test_interviews_are_read_only_and_private(conn: asyncpg.Connection, world: World) -> None:
    async with rolled_back(conn):
        # As the server (the table owner) would: an interview for c1's application to r1's job.
        interview = await conn.fetchval(
            "insert into public.interviews (application_id, job_id, candidate_id, recruiter_id)"
            " values ($1, $2, $3, $4) returning id",
            world.u("c1_open1"),
            world.u("open1"),
            world.u("c1"),
            world.u("r1"),
        )
        await conn.execute(
            'insert into public.interview_events (interview_id, "offset", kind)'
            " values ($1, 1, 'started')",
            interview,
        )
        await conn.execute(
            "insert into public.interview_artifacts (interview_id, kind, blob_key, content_type,"
            " size_bytes) values ($1, 'screenshot', $2, 'image/png', 10)",
            interview,
            f"screenshots/{interview}/1.png",
        )

        def counts() -> Any:
            return conn.fetchrow(
                "select (select count(*) from public.interviews where id = $1) as interviews,"
                " (select count(*) from public.interview_events where interview_id = $1) as events,"
                " (select count(*) from public.interview_artifacts where interview_id = $1)"
                " as artifacts",
                interview,
            )

        for user, visible in (
            (world.c1, 1),
            (world.r1, 1),
            (world.c2, 0),
            (world.r2, 0),
            (world.c3, 0),
        ):
            await become(conn, user)
            assert tuple(await counts()) == (visible, visible, visible), user
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    'insert into public.interview_events (interview_id, "offset", kind)'
                    " values ($1, 2, 'forged')",
                    interview,
                )
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    "insert into public.interview_artifacts (interview_id, kind, blob_key,"
                    " content_type, size_bytes) values ($1, 'recording', $2, 'audio/webm', 1)",
                    interview,
                    f"recordings/{uuid.uuid4()}/a.webm",
                )
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    "insert into public.interviews (application_id, job_id, candidate_id,"
                    " recruiter_id) values ($1, $2, $3, $4)",
                    world.u("c1_open1"),
                    world.u("open1"),
                    world.u("c1"),
                    world.u("r1"),
                )
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    "update public.interviews set evaluation = '{}' where id = $1", interview
                )
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    "delete from public.interview_events where interview_id = $1", interview
                )

        await become(conn, None, role="anon")
        for table in ("interviews", "interview_events", "interview_artifacts"):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch(f"select * from public.{table}")


async def test_evaluations_are_the_recruiters_alone(conn: asyncpg.Connection, world: World) -> None:
    """The candidate reads their interview but not its evaluation: not the column, not a
    version, not the log entry. The job's recruiter reads them all; nobody writes them."""
    async with rolled_back(conn):
        evaluation = '{"criteria": [], "model": "m", "interviewer": "scripted"}'
        interview = await conn.fetchval(
            "insert into public.interviews (application_id, job_id, candidate_id, recruiter_id,"
            " state, evaluation) values ($1, $2, $3, $4, 'completed', $5::jsonb) returning id",
            world.u("c1_open1"),
            world.u("open1"),
            world.u("c1"),
            world.u("r1"),
            evaluation,
        )
        await conn.execute(
            "insert into public.interview_evaluations (interview_id, version, evaluation,"
            " interviewer, model, prompt_version, rubric_version, reason)"
            " values ($1, 1, $2::jsonb, 'scripted', 'm', 'p', 'r', 'interview_completed')",
            interview,
            evaluation,
        )
        await conn.execute(
            'insert into public.interview_events (interview_id, "offset", kind, data)'
            " values ($1, 1, 'answer', '{}'), ($1, 2, 'evaluation', $2::jsonb)",
            interview,
            evaluation,
        )

        async def readable() -> tuple[int, int]:
            versions = await conn.fetchval(
                "select count(*) from public.interview_evaluations where interview_id = $1",
                interview,
            )
            logged = await conn.fetchval(
                "select count(*) from public.interview_events where interview_id = $1"
                " and kind = 'evaluation'",
                interview,
            )
            return versions, logged

        await become(conn, world.c1)
        assert (
            await conn.fetchval("select state from public.interviews where id = $1", interview)
            == "completed"
        )
        assert await readable() == (0, 0)
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetchval("select evaluation from public.interviews where id = $1", interview)
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetch("select * from public.interviews")
        for user, expected in ((world.r1, (1, 1)), (world.r2, (0, 0)), (world.c2, (0, 0))):
            await become(conn, user)
            assert await readable() == expected, user
            for statement in (
                "update public.interview_evaluations set model = 'x' where interview_id = $1",
                "delete from public.interview_evaluations where interview_id = $1",
                "insert into public.interview_evaluations (interview_id, version, evaluation,"
                " interviewer, model, prompt_version, rubric_version, reason)"
                " values ($1, 2, '{}', 'scripted', 'm', 'p', 'r', 'rescored')",
            ):
                async with refused(NO_PRIVILEGE), conn.transaction():
                    await conn.execute(statement, interview)
        await become(conn, None, role="anon")
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetch("select * from public.interview_evaluations")


async def test_events_and_artifacts_follow_their_interview(
    conn: asyncpg.Connection, world: World
) -> None:
    """Two interviews of one candidate with two recruiters: each recruiter reads only the log
    and artifacts of the interview for their own job, the candidate both, others none."""
    i1, i2 = world.u("i_c1_open1"), world.u("i_c1_open2")
    async with rolled_back(conn):
        for interview in (i1, i2):
            await conn.execute(
                'insert into public.interview_events (interview_id, "offset", kind)'
                " values ($1, 1, 'started'), ($1, 2, 'question')",
                interview,
            )
            await conn.execute(
                "insert into public.interview_artifacts (interview_id, kind, blob_key,"
                " content_type, size_bytes) values ($1, 'screenshot', $2, 'image/jpeg', 10)",
                interview,
                f"screenshots/{interview}/000002.jpg",
            )
        mine = [i1, i2]
        for user, visible in (
            (world.c1, {world.i_c1_open1, world.i_c1_open2}),
            (world.r1, {world.i_c1_open1}),
            (world.r2, {world.i_c1_open2}),
            (world.c2, set()),
            (world.c3, set()),
        ):
            await become(conn, user)
            for table in ("interview_events", "interview_artifacts"):
                assert (
                    await ids(
                        conn,
                        f"select interview_id from public.{table}"
                        " where interview_id = any($1::uuid[])",
                        mine,
                    )
                    == visible
                ), (user, table)
            assert (
                await ids(conn, "select id from public.interviews where id = any($1::uuid[])", mine)
                == visible
            ), user
            # Every row of the log the candidate or recruiter reads is one of theirs.
            assert (
                await conn.fetchval(
                    "select count(*) from public.interview_events e"
                    " join public.interviews i on i.id = e.interview_id"
                    " where $1 not in (i.candidate_id, i.recruiter_id)",
                    uuid.UUID(user),
                )
                == 0
            )
        await become(conn, None, role="anon")
        for table in ("interview_events", "interview_artifacts"):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch(f"select interview_id from public.{table}")


async def test_notifications_are_their_recipients_own(
    conn: asyncpg.Connection, world: World
) -> None:
    """The world's own flow wrote them: applications told their recruiters, a rejection and
    the interviews told their candidates. Each user reads and marks only their own, and
    changes nothing but the read mark; only the server writes them."""
    owners = {
        str(r["user_id"]): r["count"]
        for r in await conn.fetch(
            "select user_id, count(*) from public.notifications where user_id = any($1::uuid[])"
            " group by user_id",
            [world.u(name) for name in ("r1", "r2", "c1", "c2", "c3")],
        )
    }
    assert owners == {world.r1: 2, world.r2: 1, world.c1: 2, world.c2: 1}
    someone_elses = await conn.fetchval(
        "select id from public.notifications where user_id = $1 limit 1", world.u("r1")
    )
    for name in ("r1", "r2", "c1", "c2", "c3"):
        user = getattr(world, name)
        async with acting_as(conn, user):
            rows = await conn.fetch("select user_id, read_at from public.notifications")
            assert {str(r["user_id"]) for r in rows} <= {user}, name
            assert len(rows) == owners.get(user, 0), name
            marked = await conn.fetchval(
                "with m as (update public.notifications set read_at = now() returning 1)"
                " select count(*) from m"
            )
            assert marked == owners.get(user, 0), name
            if name != "r1":
                assert (
                    await conn.execute(
                        "update public.notifications set read_at = now() where id = $1",
                        someone_elses,
                    )
                    == "UPDATE 0"
                )
            for statement in (
                "update public.notifications set kind = 'interview.started'",
                "update public.notifications set user_id = auth.uid()",
                "update public.notifications set payload = '{}'",
                "delete from public.notifications",
                "insert into public.notifications (user_id, seq, kind)"
                " values (auth.uid(), 999, 'interview.started')",
            ):
                async with refused(NO_PRIVILEGE), conn.transaction():
                    await conn.execute(statement)
            # The server's own bookkeeping (counters, webhooks and their secrets, queues) is in
            # a schema no API role may enter.
            for table in (
                "notification_counters",
                "webhooks",
                "webhook_deliveries",
                "refresh_tokens",
                "password_resets",
                "application_notes",
            ):
                async with refused(NO_PRIVILEGE), conn.transaction():
                    await conn.fetch(f"select * from openhire.{table}")
    async with acting_as(conn, None, role="anon"), refused(NO_PRIVILEGE):
        await conn.fetch("select id from public.notifications")


async def test_notifications_are_published_to_realtime(conn: asyncpg.Connection) -> None:
    assert (
        await conn.fetchval(
            "select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"
            " and schemaname = 'public' and tablename = 'notifications'"
        )
        == 1
    )


async def test_recruiters_cannot_forge_a_jobs_dates_id_or_plan(
    conn: asyncpg.Connection, world: World
) -> None:
    """A job's id and dates are the server's: writing them directly would let a recruiter pin a
    job to the top of everyone's listing."""
    async with acting_as(conn, world.r1):
        for column, value in (
            ("created_at", "now() + interval '10 years'"),
            ("updated_at", "now() - interval '1 year'"),
            ("id", "gen_random_uuid()"),
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(
                    f"update public.jobs set {column} = {value} where id = $1", world.u("open1")
                )
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.execute(
                "insert into public.jobs (recruiter_id, title, description, job_type,"
                " interview_plan, created_at) values ($1, 'x', 'x', 'contract', '{}',"
                " now() + interval '10 years')",
                world.u("r1"),
            )
        # Nor the interview plan, which only the API validates: a direct insert gets the
        # API's default plan, exactly.
        for statement in (
            "update public.jobs set interview_plan = '{\"question_count\": 0}' where id = $1",
            "update public.jobs set interview_plan = interview_plan || '{\"x\": 1}' where id = $1",
        ):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute(statement, world.u("open1"))
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.execute(
                "insert into public.jobs (recruiter_id, title, description, job_type,"
                " interview_plan) values ($1, 'x', 'x', 'contract', '{}')",
                world.u("r1"),
            )
        job_id = await conn.fetchval(
            "insert into public.jobs (recruiter_id, title, description, job_type)"
            " values ($1, 'x', 'x', 'contract') returning id",
            world.u("r1"),
        )
        # Its recruiter reads the plan through job_interview_plan (test_plan_privacy.py).
        plan = await conn.fetchval("select public.job_interview_plan($1)", job_id)
        assert json.loads(plan) == InterviewPlan().model_dump(mode="json")
        # What the API lets a recruiter change, they still may.
        assert (
            await conn.fetchval(
                "update public.jobs set title = 'Renamed', status = 'closed' where id = $1"
                " returning title",
                world.u("open1"),
            )
            == "Renamed"
        )


# --- Supabase Storage -----------------------------------------------------------------------

BUCKETS = ("resumes", "screenshots", "recordings")
UUID_TEXT = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
INSERT_OBJECT = (
    "insert into storage.objects (bucket_id, name, owner_id, metadata)"
    " values ($1, $2, $3, $4::jsonb) returning id"
)


def storage_world(world: World) -> dict[str, tuple[str, str]]:
    """The objects the server would store for the world: its blob keys split into bucket and
    name, by what they are."""
    keys = {
        "resume_c1_open1": f"resumes/{world.c1_open1}/resume.pdf",
        "resume_c1_open2": f"resumes/{world.c1_open2}/resume.pdf",
        "resume_c2_open1": f"resumes/{world.c2_open1}/resume.pdf",
        "shot_i1_1": f"screenshots/{world.i_c1_open1}/000001.jpg",
        "shot_i1_2": f"screenshots/{world.i_c1_open1}/000002.png",
        "shot_i2_1": f"screenshots/{world.i_c1_open2}/000001.jpg",
        "rec_i1_1": f"recordings/{world.i_c1_open1}/1765000000000-audio.webm",
    }
    return {label: (key.split("/", 1)[0], key.split("/", 1)[1]) for label, key in keys.items()}


async def put_objects(conn: asyncpg.Connection, objects: list[tuple[str, str]]) -> None:
    """As the Storage API does with the service role key: service_role, which bypasses RLS."""
    await become(conn, None, role="service_role")
    for bucket, name in objects:
        content_type = {"resumes": "application/pdf", "recordings": "audio/webm"}.get(
            bucket, "image/jpeg"
        )
        await conn.fetchval(
            INSERT_OBJECT, bucket, name, None, json.dumps({"mimetype": content_type})
        )


async def visible_objects(conn: asyncpg.Connection, objects: list[tuple[str, str]]) -> set[str]:
    rows = await conn.fetch(
        "select o.bucket_id, o.name from storage.objects o"
        " join unnest($1::text[], $2::text[]) as w(bucket_id, name)"
        " on w.bucket_id = o.bucket_id and w.name = o.name",
        [b for b, _ in objects],
        [n for _, n in objects],
    )
    return {f"{r['bucket_id']}/{r['name']}" for r in rows}


async def test_storage_schema_is_supabases(conn: asyncpg.Connection) -> None:
    """What the storage policies and bucket declarations rely on, as Supabase has it."""
    columns = {
        (r["table_name"], r["column_name"]): (r["data_type"], r["is_generated"])
        for r in await conn.fetch(
            "select table_name, column_name, data_type, is_generated"
            " from information_schema.columns where table_schema = 'storage'"
            " and table_name in ('buckets', 'objects')"
        )
    }
    for column, data_type in {
        "id": "text",
        "name": "text",
        "owner": "uuid",
        "public": "boolean",
        "file_size_limit": "bigint",
        "allowed_mime_types": "ARRAY",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
    }.items():
        assert columns.get(("buckets", column), (None,))[0] == data_type, column
    for column, data_type in {
        "id": "uuid",
        "bucket_id": "text",
        "name": "text",
        "owner": "uuid",
        "owner_id": "text",
        "metadata": "jsonb",
        "path_tokens": "ARRAY",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
        "last_accessed_at": "timestamp with time zone",
        "version": "text",
        "user_metadata": "jsonb",
    }.items():
        assert columns.get(("objects", column), (None,))[0] == data_type, column
    assert columns[("objects", "path_tokens")][1] == "ALWAYS"

    helpers = await conn.fetchrow(
        "select storage.foldername('a/b/c.tar.gz') as folders,"
        " storage.filename('a/b/c.tar.gz') as file, storage.extension('a/b/c.tar.gz') as ext,"
        " storage.foldername('c.pdf') as top, storage.extension('a/README') as bare"
    )
    assert dict(helpers) == {
        "folders": ["a", "b"],
        "file": "c.tar.gz",
        "ext": "gz",
        "top": [],
        "bare": "README",
    }

    rls = {
        r["relname"]: r["relrowsecurity"]
        for r in await conn.fetch(
            "select c.relname, c.relrowsecurity from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'storage' and c.relname in ('buckets', 'objects')"
        )
    }
    assert rls == {"buckets": True, "objects": True}
    # The API roles hold the privileges; row-level security alone keeps them out.
    for role in ("anon", "authenticated"):
        for table in ("storage.buckets", "storage.objects"):
            for privilege in ("select", "insert", "update", "delete"):
                assert await conn.fetchval(
                    "select has_table_privilege($1, $2, $3)", role, table, privilege
                ), (role, table, privilege)


async def test_buckets_are_private_with_the_servers_limits(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "select id, name, public, file_size_limit, allowed_mime_types from storage.buckets"
        " where id = any($1::text[]) order by id",
        list(BUCKETS),
    )
    buckets = {r["id"]: dict(r) for r in rows}
    assert buckets == {
        "resumes": {
            "id": "resumes",
            "name": "resumes",
            "public": False,
            "file_size_limit": 10 * 1024 * 1024,
            "allowed_mime_types": ["application/pdf"],
        },
        "screenshots": {
            "id": "screenshots",
            "name": "screenshots",
            "public": False,
            "file_size_limit": 512 * 1024,
            "allowed_mime_types": ["image/jpeg", "image/png"],
        },
        # WebRTC recordings' segments (20261213000000_recordings_bucket.sql), and spoken
        # answers' audio (20261220000000_plan_answer_mode.sql).
        "recordings": {
            "id": "recordings",
            "name": "recordings",
            "public": False,
            "file_size_limit": 10 * 1024 * 1024,
            "allowed_mime_types": ["audio/webm", "video/webm", "audio/wav"],
        },
    }
    # supabase/config.toml declares the same buckets for the Supabase CLI.
    with (ROOT / "supabase" / "config.toml").open("rb") as handle:
        declared = tomllib.load(handle)["storage"]["buckets"]
    assert set(declared) == set(BUCKETS)
    for bucket, config in declared.items():
        assert config["public"] is buckets[bucket]["public"], bucket
        assert cli_size(config["file_size_limit"]) == buckets[bucket]["file_size_limit"], bucket
        assert config["allowed_mime_types"] == buckets[bucket]["allowed_mime_types"], bucket


def cli_size(text: str) -> int:
    """A size as the Supabase CLI reads config.toml (docker/go-units RAMInBytes: 1024-based)."""
    match = re.fullmatch(r"(\d+) ?([kKmMgG])?[iI]?[bB]?", text)
    assert match is not None, text
    return int(match[1]) * 1024 ** " KMG".index((match[2] or " ").upper())


async def test_storage_objects_are_read_only_by_their_candidate_and_recruiter(
    conn: asyncpg.Connection, world: World
) -> None:
    objects = storage_world(world)
    everything = list(objects.values())

    def keys(*labels: str) -> set[str]:
        return {"/".join(objects[label]) for label in labels}

    async with rolled_back(conn):
        await put_objects(conn, everything)
        # The positive control: the server's role sees them all.
        assert await visible_objects(conn, everything) == keys(*objects)
        for user, expected in (
            (
                world.c1,
                keys(
                    "resume_c1_open1",
                    "resume_c1_open2",
                    "shot_i1_1",
                    "shot_i1_2",
                    "shot_i2_1",
                    "rec_i1_1",
                ),
            ),
            (world.c2, keys("resume_c2_open1")),
            (world.c3, set()),
            (
                world.r1,
                keys("resume_c1_open1", "resume_c2_open1", "shot_i1_1", "shot_i1_2", "rec_i1_1"),
            ),
            (world.r2, keys("resume_c1_open2", "shot_i2_1")),
        ):
            await become(conn, user)
            assert await visible_objects(conn, everything) == expected, user
        await become(conn, world.c3)
        assert (
            await conn.fetchval(
                "select count(*) from storage.objects where bucket_id = any($1::text[])",
                list(BUCKETS),
            )
            == 0
        )
        # anon may query the table, as on Supabase, and reads no row of it at all.
        await become(conn, None, role="anon")
        assert await conn.fetchval("select count(*) from storage.objects") == 0


async def test_malformed_object_names_match_no_one(conn: asyncpg.Connection, world: World) -> None:
    app, interview = world.c1_open1, world.i_c1_open1
    malformed = [
        ("resumes", "not-a-uuid/resume.pdf"),
        ("resumes", f"{app.upper()}/resume.pdf"),  # another spelling of the id
        ("resumes", f"{{{app}}}/resume.pdf"),
        ("resumes", f"{app.replace('-', '')}/resume.pdf"),
        ("resumes", app),  # the id, but as a file at the top, not a folder
        ("resumes", f"/{app}/resume.pdf"),  # an empty first folder
        ("resumes", f"{app}x/resume.pdf"),
        ("resumes", f"{app[:-1]}g/resume.pdf"),  # a uuid's shape, not a uuid
        ("resumes", "resume.pdf"),
        ("resumes", ""),
        # The right id in the wrong bucket: an application is not an interview, nor the reverse.
        ("screenshots", f"{app}/000001.jpg"),
        ("resumes", f"{interview}/resume.pdf"),
    ]
    elsewhere = ("elsewhere", f"{app}/resume.pdf")  # a bucket these policies do not cover
    proper = ("resumes", f"{app}/resume.pdf")
    async with rolled_back(conn):
        await become(conn, None, role="service_role")
        await conn.execute(
            "insert into storage.buckets (id, name) values ('elsewhere', 'elsewhere')"
        )
        await put_objects(conn, [*malformed, elsewhere, proper])
        await conn.fetchval(INSERT_OBJECT, "resumes", None, None, None)  # a null name, too
        for user in (world.c1, world.r1):
            await become(conn, user)
            # No cast error, and no match; only the well-formed name is theirs to read.
            assert await visible_objects(conn, [*malformed, elsewhere, proper]) == {
                "/".join(proper)
            }, user
            assert (
                await conn.fetchval(
                    "select count(*) from storage.objects"
                    " where name is null or bucket_id = 'elsewhere' or name !~ $1",
                    f"^{UUID_TEXT}/",
                )
                == 0
            ), user


async def test_only_the_server_writes_storage_objects(
    conn: asyncpg.Connection, world: World
) -> None:
    objects = storage_world(world)
    resume, shot = objects["resume_c1_open1"], objects["shot_i1_1"]
    in_buckets = "bucket_id = any($1::text[])"
    async with rolled_back(conn):
        await put_objects(conn, [resume, shot])
        for user, role in (
            (world.c1, "authenticated"),
            (world.r1, "authenticated"),
            (None, "anon"),
        ):
            await become(conn, user, role)
            # Not even into the folder of their own application or interview.
            for bucket, name in (
                resume,
                shot,
                ("resumes", f"{world.c1_open2}/resume.pdf"),
                ("screenshots", f"{world.i_c1_open1}/000009.jpg"),
            ):
                async with refused(RLS_VIOLATION), conn.transaction():
                    await conn.fetchval(INSERT_OBJECT, bucket, name, user, None)
                async with refused(RLS_VIOLATION), conn.transaction():
                    await conn.execute(
                        "insert into storage.objects (bucket_id, name) values ($1, $2)"
                        " on conflict (bucket_id, name) do update set metadata = '{}'::jsonb",
                        bucket,
                        name,
                    )
            # Rows they may read, they may not change: no update reaches any of them.
            status = await conn.execute(
                "update storage.objects set name = name || '.exe', metadata = '{}'::jsonb"
                f" where {in_buckets}",
                list(BUCKETS),
            )
            assert status == "UPDATE 0", user
            # A plain DELETE is refused before any policy is asked, as on Supabase ...
            async with refused("Direct deletion"), conn.transaction():
                await conn.execute(f"delete from storage.objects where {in_buckets}", list(BUCKETS))
            # ... and the way the Storage API deletes (with the user's role) reaches no row.
            async with conn.transaction():
                await conn.execute("select set_config('storage.allow_delete_query', 'true', true)")
                status = await conn.execute(
                    f"delete from storage.objects where {in_buckets}", list(BUCKETS)
                )
                assert status == "DELETE 0", user
                # (A savepoint released keeps the setting: end it for the next user.)
                await conn.execute("select set_config('storage.allow_delete_query', '', true)")
        await become(conn, None, role="service_role")
        rows = await conn.fetch(
            f"select bucket_id, name, metadata from storage.objects where {in_buckets}"
            " and name = any($2::text[])",
            list(BUCKETS),
            [resume[1], shot[1]],
        )
        assert sorted((r["bucket_id"], r["name"]) for r in rows) == sorted([resume, shot])
        assert all(r["metadata"] != "{}" for r in rows)


async def test_users_cannot_create_or_change_buckets(
    conn: asyncpg.Connection, world: World
) -> None:
    async with rolled_back(conn):
        for user, role in (
            (world.r1, "authenticated"),
            (world.c1, "authenticated"),
            (None, "anon"),
        ):
            await become(conn, user, role)
            # Making a bucket public, or lifting its limits, would open it to anyone.
            status = await conn.execute(
                "update storage.buckets set public = true, file_size_limit = null,"
                " allowed_mime_types = null where id = any($1::text[])",
                list(BUCKETS),
            )
            assert status == "UPDATE 0", user
            async with refused(RLS_VIOLATION), conn.transaction():
                await conn.execute(
                    "insert into storage.buckets (id, name, public) values ('open', 'open', true)"
                )
            async with conn.transaction():
                await conn.execute("select set_config('storage.allow_delete_query', 'true', true)")
                assert await conn.execute("delete from storage.buckets") == "DELETE 0", user
                await conn.execute("select set_config('storage.allow_delete_query', '', true)")
        await become(conn, None, role="service_role")
        assert await conn.fetchval(
            "select count(*) from storage.buckets where id = any($1::text[])"
            " and not public and file_size_limit is not null",
            list(BUCKETS),
        ) == len(BUCKETS)


# --- the bootstrap, on a database of its own -------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(server: ServerProcess) -> AsyncIterator[asyncpg.Connection]:
    """A new, empty database in the cluster the suite runs on, dropped afterwards."""
    admin = await asyncpg.connect(server.dsn)
    name = f"rls_{uuid.uuid4().hex[:12]}"
    # template0: template1 may be in use by another test creating a database at the same time.
    await admin.execute(f'create database "{name}" template template0')
    try:
        scratch = await asyncpg.connect(server.dsn, database=name)
        try:
            yield scratch
        finally:
            await scratch.close()
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


# Supabase's own auth.uid() stands in for any object of a real project that is not ours.
NOT_OURS_UID = "00000000-0000-4000-8000-00000000cafe"
# What OpenHire's bootstrap made of Storage before it carried Storage's helpers.
EARLIER_STORAGE = """
create schema if not exists storage;
create table storage.buckets (
  id text primary key, name text not null unique, public boolean not null default false,
  file_size_limit bigint, allowed_mime_types text[],
  created_at timestamptz not null default now(), updated_at timestamptz not null default now()
);
create table storage.objects (
  id uuid primary key default gen_random_uuid(), bucket_id text references storage.buckets (id),
  name text, owner uuid, metadata jsonb,
  created_at timestamptz not null default now(), updated_at timestamptz not null default now()
);
alter table storage.objects enable row level security;
insert into storage.buckets (id, name) values ('kept', 'kept');
insert into storage.objects (bucket_id, name) values ('kept', 'a/b/c.pdf');
"""


async def test_bootstrap_adds_storage_where_auth_exists_without_touching_auth(
    server: ServerProcess,
) -> None:
    async with scratch_database(server) as db:
        auth_sql = resources.files("server.store").joinpath("sql/supabase_bootstrap.sql")
        await db.execute(auth_sql.read_text())
        await db.execute(
            "create or replace function auth.uid() returns uuid language sql stable"
            f" as $$ select '{NOT_OURS_UID}'::uuid $$"
        )
        await db.execute(EARLIER_STORAGE)
        assert await migrations.bootstrap_supabase_objects(db) is True
        # Auth was there, so its script did not run again.
        assert str(await db.fetchval("select auth.uid()")) == NOT_OURS_UID
        # Storage was brought up to date, its rows kept.
        assert await db.fetchval(
            "select path_tokens from storage.objects where bucket_id = 'kept'"
        ) == ["a", "b", "c.pdf"]
        assert await db.fetchval("select storage.foldername('a/b/c.pdf')") == ["a", "b"]
        assert await migrations.apply_migrations(db, migrations.default_migrations_dir())
        assert await db.fetchval(
            "select count(*) from storage.buckets where id = any($1::text[])", list(BUCKETS)
        ) == len(BUCKETS)
        # Everything present: nothing runs.
        assert await migrations.bootstrap_supabase_objects(db) is False


async def test_bootstrap_is_idempotent(server: ServerProcess) -> None:
    async with scratch_database(server) as db:
        assert await migrations.bootstrap_supabase_objects(db) is True
        for script in (
            "sql/supabase_bootstrap.sql",
            "sql/supabase_auth_users_bootstrap.sql",
            "sql/supabase_storage_bootstrap.sql",
            "sql/supabase_realtime_bootstrap.sql",
        ):
            await db.execute(resources.files("server.store").joinpath(script).read_text())
        assert await migrations.apply_migrations(db, migrations.default_migrations_dir())
        await db.execute(
            resources.files("server.store")
            .joinpath("sql/supabase_storage_bootstrap.sql")
            .read_text()
        )
        assert await migrations.bootstrap_supabase_objects(db) is False
        assert (
            await db.fetchval(
                "select count(*) from pg_policies where schemaname = 'storage'"
                " and tablename = 'objects' and policyname like 'openhire_%'"
            )
            == 3
        )


async def test_a_plain_postgresql_gets_the_same_privileges(server: ServerProcess) -> None:
    """Without Supabase's default privileges (the embedded database, CI's PostgreSQL) the
    migrations leave exactly what they leave on a Supabase project of either age."""
    async with scratch_database(server) as db:
        assert await migrations.bootstrap_supabase_objects(db, default_privileges="none")
        await migrations.apply_migrations(db, migrations.default_migrations_dir())
        assert await effective_privileges(db) == EXPECTED_PRIVILEGES


async def test_a_migration_that_grants_without_revoking_first_is_caught(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The check above is what keeps later migrations honest: a table created with only the
    grants it needs still carries an older project's default privileges."""
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.default_migrations_dir(), directory)
    (directory / "29991231000000_notes.sql").write_text(
        "create table public.notes (id uuid primary key, body text not null);\n"
        "alter table public.notes enable row level security;\n"
        "grant select on public.notes to authenticated;\n"
    )
    async with scratch_database(server) as db:
        await migrations.bootstrap_supabase_objects(db, default_privileges="supabase-legacy")
        await migrations.apply_migrations(db, directory)
        found = await effective_privileges(db)
    assert found[("notes", "anon")] == set(TABLE_PRIVILEGES)
    assert {key: found[key] for key in EXPECTED_PRIVILEGES} == EXPECTED_PRIVILEGES
