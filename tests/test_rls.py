"""Row-level security, tested in PostgreSQL itself as Supabase uses it: the rows are made through
the HTTP API, then each check switches to the `authenticated` (or `anon`) role with a user's JWT
claims set, inside a transaction that is rolled back afterwards."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import ServerProcess, job_payload, unique_email

PUBLIC_TABLES = {
    "users",
    "jobs",
    "applications",
    "interviews",
    "interview_events",
    "interview_artifacts",
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

    def u(self, name: str) -> uuid.UUID:
        return uuid.UUID(getattr(self, name))


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=server.url, timeout=30) as http:

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
        yield World(
            r1, r2, c1, c2, c3, open1, closed1, open2, closed2, c1_open1, c1_open2, c2_open1
        )


@pytest.fixture
async def conn(server: ServerProcess) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(server.dsn)
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
        for table in ("users", "applications", "interviews", "interview_events"):
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch(f"select * from public.{table}")
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
    "insert into public.jobs (recruiter_id, title, description, job_type, interview_plan)"
    " values ($1, 'Written directly', 'Via the database', 'contract', '{}') returning id"
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
