"""Candidates do not see the interview before it starts (issue 11, part 2).

A job's interview plan (the recruiter's questions, the rubric's descriptions and weights) is
shown to the recruiter who posted the job only: over HTTP everyone else gets a ``JobListing``
with a summary, and in the database `anon` and `authenticated` cannot read the plan's column
(its recruiter reads it through ``job_interview_plan``). A question the recruiter injects is
the candidate's to read once it is asked, not before: neither in their event log over HTTP,
nor on their socket, nor in the database. docs/security.md lists these defences.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import orjson
import pytest

from clients.interview_client import CandidateSession, WatcherSession
from server.sessions.session import HIDDEN_FROM_CANDIDATE
from tests import test_rls
from tests.conftest import ROOT, ServerProcess, job_payload, signups_on
from tests.live_helpers import LONG_ANSWER, close_clients, new_interview
from tests.test_rls import NO_PRIVILEGE, World, acting_as, become, refused, rolled_back

# The RLS suite's fixtures: a real database connection, and its users, jobs and interviews.
rls_server = test_rls.rls_server
conn = test_rls.conn


@pytest.fixture
def db_signup(rls_server: ServerProcess) -> Iterator[Any]:
    """Accounts on the server whose database ``conn`` reads (``signup`` uses the shared one)."""
    yield from signups_on(rls_server)


world = test_rls.world

SECRET_QUESTIONS = [
    "What would you cut from our roadmap, and why?",
    "Walk us through the outage of March 3rd.",
]
SECRET_DESCRIPTION = "Knows when to stop digging and call for help."
PLAN = {
    "question_count": 4,
    "follow_ups_per_question": 2,
    "answer_time_limit_s": 90,
    "total_time_limit_min": 20,
    "custom_questions": SECRET_QUESTIONS,
    "rubric": [
        {"name": "Judgement", "description": SECRET_DESCRIPTION, "weight": 3.0},
        {"name": "Clarity", "description": "Short sentences.", "weight": 1.0},
    ],
}
# What a candidate may know: the interview's length and timing, and what it is scored on.
SUMMARY = {
    "question_count": 4,
    "follow_ups_per_question": 2,
    "answer_time_limit_s": 90,
    "total_time_limit_min": 20,
    "criteria": ["Judgement", "Clarity"],
    "answer_mode": "text",
}
MIGRATION = ROOT / "supabase" / "migrations" / "20261207010000_job_plan_privacy.sql"


def assert_no_plan(text: str) -> None:
    for secret in [*SECRET_QUESTIONS, SECRET_DESCRIPTION, "Short sentences."]:
        assert secret not in text
    for key in ("interview_plan", "custom_questions", "rubric", "weight"):
        assert key not in text


# --- over HTTP ------------------------------------------------------------------------------


def test_only_the_recruiter_who_posted_a_job_sees_its_interview_plan(signup: Any) -> None:
    owner, other, candidate = signup("recruiter"), signup("recruiter"), signup("candidate")
    created = owner.client.post("/jobs", json=job_payload(interview_plan=PLAN))
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["interview_plan"]["custom_questions"] == SECRET_QUESTIONS
    # The owner's view is the whole job, as before: by id and in the search.
    assert owner.client.get(f"/jobs/{job['id']}").json() == job
    mine = owner.client.get("/jobs", params={"recruiter_id": owner.id}).json()["items"]
    assert mine == [job]

    listing = {k: v for k, v in job.items() if k != "interview_plan"} | {"interview": SUMMARY}
    for viewer in (candidate, other):
        one = viewer.client.get(f"/jobs/{job['id']}")
        assert one.status_code == 200, one.text
        assert_no_plan(one.text)
        assert one.json() == listing
        for params in ({"recruiter_id": owner.id}, {"title": job["title"], "limit": 100}):
            page = viewer.client.get("/jobs", params=params)
            assert page.status_code == 200, page.text
            assert_no_plan(page.text)
            assert listing in page.json()["items"]

    # A candidate who applied still sees the job once it is closed, and still not its plan.
    applied = candidate.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hello")}
    )
    assert applied.status_code == 201, applied.text
    closed = owner.client.put(
        f"/jobs/{job['id']}", json=job_payload(status="closed", interview_plan=PLAN)
    )
    assert closed.status_code == 200, closed.text
    seen = candidate.client.get(f"/jobs/{job['id']}")
    assert seen.status_code == 200, seen.text
    assert_no_plan(seen.text)
    assert seen.json()["interview"] == SUMMARY


def test_openapi_shows_the_owners_job_and_everyone_elses_listing(client: Any) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    both = [ref("Job"), ref("JobListing")]
    one = document["paths"]["/jobs/{job_id}"]["get"]["responses"]["200"]
    assert (
        schemas[one["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]["anyOf"]
        == both
    )
    assert schemas["JobPage"]["properties"]["items"]["items"]["anyOf"] == both
    listing = schemas["JobListing"]
    assert "interview" in listing["required"]
    assert not {"interview_plan", "custom_questions", "rubric"} & set(listing["properties"])
    assert set(schemas["InterviewSummary"]["properties"]) == set(SUMMARY)
    assert "interview_plan" in schemas["Job"]["required"]
    assert "interview" not in schemas["Job"]["properties"]


async def test_a_candidate_reads_an_injected_question_only_once_it_is_asked(
    server: ServerProcess,
) -> None:
    iv = await new_interview(server)
    secret = "Why did you leave your last job, honestly?"
    try:
        async with (
            await CandidateSession.open(iv.candidate, iv.id) as session,
            await WatcherSession.open(iv.recruiter, iv.id) as watcher,
        ):
            question = await session.next_question()
            ack = await watcher.inject_question(secret)
            assert ack["type"] == "ack"
            # Once the watchers have the entry, and a round trip on the candidate's own socket
            # later, anything sent to the candidate about it would be in their queue.
            async for event in watcher.events():
                if event["kind"] == "question.injected":
                    break
            assert (await session.proctor("window_focus"))["type"] == "ack"
            received = []
            while not session.messages.empty():
                received.append(session.messages.get_nowait())
            assert secret not in orjson.dumps(received).decode()

            def kinds(page: dict[str, Any]) -> list[str]:
                return [e["kind"] for e in page["items"]]

            theirs = await iv.recruiter.get(f"/interviews/{iv.id}/events")
            assert "question.injected" in kinds(theirs.json()) and secret in theirs.text
            before = await iv.candidate.get(f"/interviews/{iv.id}/events")
            assert before.status_code == 200, before.text
            assert secret not in before.text
            assert not set(HIDDEN_FROM_CANDIDATE) & set(kinds(before.json()))

            # Asked: now it is the candidate's, as a question like any other.
            await session.answer(question["question_id"], LONG_ANSWER)
            asked = await session.next_question()
            assert asked["text"] == secret
            after = (await iv.candidate.get(f"/interviews/{iv.id}/events")).json()
            assert [e["data"]["text"] for e in after["items"] if e["kind"] == "question"][
                -1
            ] == secret
            assert not set(HIDDEN_FROM_CANDIDATE) & set(kinds(after))

            # Paging through the candidate's log one entry at a time skips the hidden entries:
            # offsets have gaps, and since= works from any offset, hidden ones included.
            everything = (await iv.recruiter.get(f"/interviews/{iv.id}/events")).json()["items"]
            visible = [e["offset"] for e in everything if e["kind"] not in HIDDEN_FROM_CANDIDATE]
            hidden = [e["offset"] for e in everything if e["kind"] in HIDDEN_FROM_CANDIDATE]
            assert hidden and len(visible) + len(hidden) == len(everything)
            paged: list[int] = []
            since: int | None = 0
            while since is not None:
                page = (
                    await iv.candidate.get(
                        f"/interviews/{iv.id}/events", params={"since": since, "limit": 1}
                    )
                ).json()
                paged += [e["offset"] for e in page["items"]]
                since = page["next_since"]
            assert paged == visible
            from_hidden = await iv.candidate.get(
                f"/interviews/{iv.id}/events", params={"since": hidden[0] - 1}
            )
            assert [e["offset"] for e in from_hidden.json()["items"]] == [
                o for o in visible if o >= hidden[0]
            ]
    finally:
        await close_clients(iv)


# --- in the database ------------------------------------------------------------------------


async def test_the_database_shows_a_plan_to_its_recruiter_only(
    conn: asyncpg.Connection, world: World, db_signup: Any
) -> None:
    owner = db_signup("recruiter")
    job = owner.client.post("/jobs", json=job_payload(interview_plan=PLAN)).json()
    job_id = uuid.UUID(job["id"])
    async with rolled_back(conn):
        for user, role in (
            (None, "anon"),
            (world.c1, "authenticated"),
            (world.r2, "authenticated"),
            (owner.id, "authenticated"),  # even its recruiter, who has job_interview_plan
        ):
            await become(conn, user, role)
            for statement in (
                "select interview_plan from public.jobs where id = $1",
                "select * from public.jobs where id = $1",
                "select count(*) from public.jobs where interview_plan ? 'rubric' and id = $1",
            ):
                async with refused(NO_PRIVILEGE), conn.transaction():
                    await conn.fetch(statement, job_id)
            # The summary is everyone's, and is the API's.
            summary = await conn.fetchval(
                "select interview_summary from public.jobs where id = $1", job_id
            )
            assert json.loads(summary) == SUMMARY, (user, role)
            title = await conn.fetchval("select title from public.jobs where id = $1", job_id)
            assert title == job["title"]

        await become(conn, owner.id)
        plan = await conn.fetchval("select public.job_interview_plan($1)", job_id)
        assert json.loads(plan) == job["interview_plan"]
        for user in (world.c1, world.r2):
            await become(conn, user)
            assert await conn.fetchval("select public.job_interview_plan($1)", job_id) is None
        await become(conn, None, role="anon")
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetchval("select public.job_interview_plan($1)", job_id)


# Who holds what on jobs, its columns and job_interview_plan, as sorted ACL entries.
PRIVILEGES = """
select
  (select array_agg(a::text order by a::text) from unnest(c.relacl) a) as jobs,
  (select jsonb_object_agg(attname, (select array_agg(a::text order by a::text)
                                     from unnest(attacl) a))
   from pg_attribute where attrelid = c.oid and attnum > 0 and not attisdropped) as columns,
  (select array_agg(a::text order by a::text) from pg_proc p, unnest(p.proacl) a
   where p.oid = 'public.job_interview_plan(uuid)'::regprocedure) as plan_function
from pg_class c where c.oid = 'public.jobs'::regclass
"""


async def test_the_plan_stays_private_under_the_older_default_privileges(
    conn: asyncpg.Connection, world: World
) -> None:
    """Projects created before mid-2026 grant ALL on every new table, and EXECUTE on every new
    function, to anon and authenticated. The migration revokes before it grants, so it leaves
    the same privileges there."""
    job_id = world.u("open1")
    async with rolled_back(conn):
        fresh = dict(await conn.fetchrow(PRIVILEGES))
        await conn.execute(
            "grant all on public.jobs to anon, authenticated;"
            " grant execute on function public.job_interview_plan(uuid)"
            " to public, anon, authenticated, service_role"
        )
        async with acting_as(conn, None, role="anon"):  # what the older regime gives away
            assert await conn.fetchval(
                "select interview_plan from public.jobs where id = $1", job_id
            )
        await conn.execute(MIGRATION.read_text())
        assert dict(await conn.fetchrow(PRIVILEGES)) == fresh
        for user, role in ((None, "anon"), (world.c1, "authenticated")):
            await become(conn, user, role)
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.fetch("select interview_plan from public.jobs where id = $1", job_id)
            async with refused(NO_PRIVILEGE), conn.transaction():
                await conn.execute("truncate public.jobs")
        await become(conn, None, role="anon")
        async with refused(NO_PRIVILEGE), conn.transaction():
            await conn.fetchval("select public.job_interview_plan($1)", job_id)


async def test_the_database_hides_an_injected_question_from_the_candidate(
    conn: asyncpg.Connection, world: World
) -> None:
    interview = world.u("i_c1_open1")
    async with rolled_back(conn):
        await conn.execute(
            'insert into public.interview_events (interview_id, "offset", kind, data)'
            " values ($1, 1, 'question', '{\"text\": \"First?\"}')",
            interview,
        )
        for offset, kind in enumerate(HIDDEN_FROM_CANDIDATE, start=2):
            await conn.execute(
                'insert into public.interview_events (interview_id, "offset", kind, data)'
                ' values ($1, $2, $3, \'{"text": "Not yet?"}\')',
                interview,
                offset,
                kind,
            )
        query = (
            'select "offset", kind, data::text from public.interview_events'
            ' where interview_id = $1 order by "offset"'
        )
        await become(conn, world.r1)
        assert [r["kind"] for r in await conn.fetch(query, interview)] == [
            "question",
            *HIDDEN_FROM_CANDIDATE,
        ]
        await become(conn, world.c1)
        rows = await conn.fetch(query, interview)
        assert [r["kind"] for r in rows] == ["question"]
        assert "Not yet?" not in str([tuple(r) for r in rows])
        # Nor by a filter that would give the row away without returning it.
        assert (
            await conn.fetchval(
                "select count(*) from public.interview_events where interview_id = $1"
                " and data->>'text' = 'Not yet?'",
                interview,
            )
            == 0
        )


async def test_the_api_and_the_database_summarise_a_plan_alike(
    conn: asyncpg.Connection, db_signup: Any
) -> None:
    """Default plan and a custom one: JobListing.interview is jobs.interview_summary."""
    owner, candidate = db_signup("recruiter"), db_signup("candidate")
    for plan in ({}, PLAN):
        job = owner.client.post("/jobs", json=job_payload(interview_plan=plan)).json()
        listed = candidate.client.get(f"/jobs/{job['id']}").json()["interview"]
        stored = await conn.fetchval(
            "select interview_summary from public.jobs where id = $1", uuid.UUID(job["id"])
        )
        assert json.loads(stored) == listed
