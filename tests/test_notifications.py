"""Notifications end to end: every kind produced by the real flow over the API and seen live on
the recipients' streams; the list, the unread filter, marking read, the count; streams that
drop and resume with Last-Event-ID and miss nothing; tickets. Against a real server and its
PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from clients.interview_client import CandidateSession
from server.notify.notices import Notice
from server.notify.notifications import Notifications
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    running_server,
)
from tests.live_helpers import LONG_ANSWER
from tests.notify_helpers import (
    Person,
    apply,
    open_stream,
    person,
    post_job,
    schedule,
    ticket,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Quick clocks: an abandoned interview after 1 s away, the scheduler every 0.3 s, reminders 3 s
# before the expiry, a heartbeat a second, streams dropped 16 notifications behind.
ENV = {
    "OPENHIRE_RECONNECT_GRACE": "1",
    "OPENHIRE_EXPIRY_CHECK_INTERVAL": "0.3",
    "OPENHIRE_EXPIRY_REMINDER": "3",
    "OPENHIRE_NOTIFICATIONS_HEARTBEAT": "1",
    "OPENHIRE_NOTIFICATIONS_STREAM_QUEUE": "16",
    "OPENHIRE_TICKET_TTL": "5",
}


@pytest.fixture(scope="module")
def notify_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    with running_server(
        database_backend, tmp_path_factory.mktemp("notify") / "data", **ENV, check_exit=True
    ) as srv:
        yield srv


@pytest.fixture
async def people(notify_server: ServerProcess) -> AsyncIterator[Any]:
    made: list[Person] = []

    async def make(role: str, name: str | None = None) -> Person:
        made.append(await person(notify_server, role, name))
        return made[-1]

    yield make
    for p in made:
        await p.http.aclose()


def kinds_of(events: list[Any]) -> list[str]:
    return [e.data["kind"] for e in events]


async def play_to_the_end(session: CandidateSession) -> None:
    while True:
        message = await session.receive(15)
        if message["type"] == "question.done":
            ack = await session.answer(message["question_id"], LONG_ANSWER)
            assert ack["type"] == "ack", ack
        elif message["type"] == "interview.ended":
            return
        elif message["type"] == "_closed":
            raise AssertionError(f"closed before the end: {message}")


@pytest.mark.slow
async def test_every_kind_comes_from_the_real_flow_and_is_seen_live(people: Any) -> None:
    recruiter = await people("recruiter", "Rita Recruiter")
    candidate = await people("candidate", "Carl Candidate")
    async with open_stream(recruiter) as r_stream, open_stream(candidate) as c_stream:
        # Both subscribed (each from now on) before anything happens.
        await r_stream.started()
        await c_stream.started()
        # A completed interview: applied, scheduled, started, completed, evaluated, and the
        # application handed on to review; then the recruiter moves it along.
        job = await post_job(recruiter, "Backend Engineer")
        application = await apply(candidate, job)
        await r_stream.until(lambda e: "application.created" in kinds_of(e))
        interview = await schedule(recruiter, application)
        await c_stream.until(lambda e: "interview.scheduled" in kinds_of(e))
        async with await CandidateSession.open(candidate.http, interview) as session:
            await play_to_the_end(session)
        await r_stream.until(lambda e: "evaluation.ready" in kinds_of(e))
        moved = await recruiter.http.patch(
            f"/applications/{application}", json={"status": "shortlisted"}
        )
        assert moved.status_code == 200, moved.text
        await c_stream.until(lambda e: kinds_of(e).count("application.status_changed") == 2)

        # An abandoned one: the candidate leaves and does not come back within the grace.
        job2 = await post_job(recruiter, "Data Engineer")
        interview2 = await schedule(recruiter, await apply(candidate, job2))
        async with await CandidateSession.open(candidate.http, interview2) as session:
            await session.next_question()
        await r_stream.until(lambda e: "interview.abandoned" in kinds_of(e))

        # One never taken: its candidate is reminded before it expires, its recruiter told
        # when it has.
        job3 = await post_job(recruiter, "Site Engineer")
        interview3 = await schedule(recruiter, await apply(candidate, job3), expires_in_s=5)
        await c_stream.until(lambda e: "interview.expiring" in kinds_of(e))
        await r_stream.until(lambda e: "interview.expired" in kinds_of(e), timeout=20)

    for_recruiter = r_stream.events
    for_candidate = c_stream.events
    assert kinds_of(for_recruiter) == [
        "application.created",
        "interview.started",
        "interview.completed",
        "evaluation.ready",
        "application.created",
        "interview.started",
        "interview.abandoned",
        "application.created",
        "interview.expired",
    ]
    assert kinds_of(for_candidate) == [
        "interview.scheduled",
        "application.status_changed",
        "application.status_changed",
        "interview.scheduled",
        "interview.scheduled",
        "interview.expiring",
    ]
    # Each event's id is its notification's number, dense per recipient.
    for events in (for_recruiter, for_candidate):
        assert [int(e.id) for e in events] == [e.data["seq"] for e in events]
        assert [e.data["seq"] for e in events] == list(range(1, len(events) + 1))
        assert {e.event for e in events} == {"notification"}
    by_kind = {e.data["kind"]: e.data for e in reversed(for_recruiter)}
    assert by_kind["application.created"]["payload"] == {
        "job_title": "Backend Engineer",
        "candidate_name": "Carl Candidate",
    }
    completed = by_kind["interview.completed"]
    assert completed["interview_id"] == interview
    assert completed["application_id"] == application and completed["job_id"] == job
    assert completed["payload"]["reason"] == "all_questions_answered"
    assert by_kind["evaluation.ready"]["payload"]["recommendation"]
    assert by_kind["interview.abandoned"]["interview_id"] == interview2
    assert by_kind["interview.expired"]["interview_id"] == interview3
    changes = [e.data["payload"] for e in for_candidate if e.data["kind"].endswith("changed")]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("submitted", "reviewing"),
        ("reviewing", "shortlisted"),
    ]
    reminder = next(e.data for e in for_candidate if e.data["kind"] == "interview.expiring")
    assert reminder["interview_id"] == interview3 and reminder["payload"]["expires_at"]

    # The list says the same, newest first; and the interviews are what they were said to be.
    listed = (await recruiter.http.get("/notifications", params={"limit": 100})).json()
    assert [n["id"] for n in listed["items"]] == [e.data["id"] for e in reversed(for_recruiter)]
    states = {
        i: (await recruiter.http.get(f"/interviews/{i}")).json()["state"]
        for i in (interview, interview2, interview3)
    }
    assert states == {interview: "completed", interview2: "abandoned", interview3: "expired"}


async def test_the_list_pages_filters_and_marks_read(people: Any) -> None:
    recruiter = await people("recruiter")
    other = await people("recruiter")
    job = await post_job(recruiter)
    for _ in range(5):
        candidate = await people("candidate")
        await apply(candidate, job)
    counts = (await recruiter.http.get("/notifications/unread-count")).json()
    assert counts == {"unread": 5, "last_seq": 5}

    first = (await recruiter.http.get("/notifications", params={"limit": 2})).json()
    assert [n["seq"] for n in first["items"]] == [5, 4]
    second = (
        await recruiter.http.get(
            "/notifications", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    third = (
        await recruiter.http.get(
            "/notifications", params={"limit": 2, "cursor": second["next_cursor"]}
        )
    ).json()
    assert [n["seq"] for n in second["items"]] == [3, 2]
    assert [n["seq"] for n in third["items"]] == [1] and third["next_cursor"] is None

    ids = [n["id"] for n in first["items"]]
    # Another user's marks change nothing of these.
    refused = await other.http.post("/notifications/read", json={"ids": ids})
    assert refused.json() == {"marked": 0, "unread": 0}
    marked = await recruiter.http.post("/notifications/read", json={"ids": ids})
    assert marked.json() == {"marked": 2, "unread": 3}
    again = await recruiter.http.post("/notifications/read", json={"ids": ids})
    assert again.json() == {"marked": 0, "unread": 3}
    unread = (await recruiter.http.get("/notifications", params={"unread": "true"})).json()
    assert [n["seq"] for n in unread["items"]] == [3, 2, 1]
    assert all(n["read_at"] is None for n in unread["items"])
    everything = await recruiter.http.post("/notifications/read", json={"all": True})
    assert everything.json() == {"marked": 3, "unread": 0}
    listed = (await recruiter.http.get("/notifications")).json()["items"]
    assert len(listed) == 5 and all(n["read_at"] for n in listed)
    assert (await other.http.get("/notifications")).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": ["nope"]}, {"all": False}, {"ids": [str(uuid.uuid4())], "all": True}],
)
async def test_marking_read_needs_ids_or_all(people: Any, body: dict[str, Any]) -> None:
    user = await people("candidate")
    resp = await user.http.post("/notifications/read", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize("cursor", ["x", "WzFd", "WyJhIl0", "WzBd", "W3RydWVd"])
async def test_a_cursor_the_server_did_not_issue_is_refused(people: Any, cursor: str) -> None:
    user = await people("candidate")
    resp = await user.http.get("/notifications", params={"cursor": cursor})
    if cursor == "WzFd":  # [1]: one this server could have issued
        assert resp.status_code == 200
        return
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_cursor"


async def test_a_dropped_stream_resumes_with_last_event_id_and_misses_nothing(
    people: Any,
) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    job = await post_job(recruiter)
    application = await apply(candidate, job)
    path = f"/applications/{application}"
    statuses = ["reviewing", "shortlisted", "reviewing", "shortlisted", "reviewing"]
    url = (await ticket(candidate))["url"]
    async with open_stream(candidate, url=url) as stream:
        await stream.started()  # subscribed, from now on
        for status in statuses[:2]:
            assert (await recruiter.http.patch(path, json={"status": status})).status_code == 200
        await stream.until(lambda e: len(e) == 2)
        last = stream.last_id
    assert stream.retry_ms == 2000
    # While the candidate is away, more happens.
    for status in statuses[2:]:
        assert (await recruiter.http.patch(path, json={"status": status})).status_code == 200
    # EventSource reconnects by itself, to the same URL, saying where it was: the ticket is
    # good again for that.
    async with open_stream(candidate, url=url, last_event_id=last) as resumed:
        await resumed.until(lambda e: len(e) == 3)
        assert (await recruiter.http.patch(path, json={"status": "shortlisted"})).status_code == 200
        await resumed.until(lambda e: len(e) == 4)
    seen = [e.data["payload"]["to"] for e in stream.events + resumed.events]
    assert seen == [*statuses, "shortlisted"]
    assert [int(e.id) for e in stream.events + resumed.events] == [1, 2, 3, 4, 5, 6]


async def record_burst(server: ServerProcess, user_id: str, count: int) -> None:
    """``count`` notifications for one user in one transaction, through the server's own
    outbox: more at once than a stream's queue holds."""
    conn = await asyncpg.connect(server.dsn)
    try:
        await conn.set_type_codec(
            "jsonb",
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            format="text",
        )
        async with conn.transaction():
            await Notifications(None).record(  # type: ignore[arg-type]
                conn,
                [
                    Notice(uuid.UUID(user_id), "interview.expiring", payload={"n": n})
                    for n in range(count)
                ],
            )
    finally:
        await conn.close()


async def test_a_stream_that_falls_behind_is_dropped_and_resumes(
    notify_server: ServerProcess, people: Any
) -> None:
    candidate = await people("candidate")
    url = (await ticket(candidate))["url"]
    async with open_stream(candidate, url=url) as stream:
        await stream.started()  # subscribed: the burst comes after where it starts
        await record_burst(notify_server, candidate.id, 300)
        while await stream.next(30) is not None:
            pass
    # The server ended it before all 300 went out live (its queue holds 16); it had said
    # where it started, so the client resumes from there even with nothing received.
    assert stream.ended and len(stream.events) < 300
    assert stream.ready is not None and stream.last_id is not None
    async with open_stream(candidate, url=url, last_event_id=stream.last_id) as resumed:
        await resumed.until(lambda e: len(stream.events) + len(e) == 300)
    numbers = [e.data["payload"]["n"] for e in stream.events + resumed.events]
    assert numbers == list(range(300))


async def test_a_new_stream_starts_from_now_or_after_a_number(people: Any) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    job = await post_job(recruiter)
    application = await apply(candidate, job)
    path = f"/applications/{application}"
    assert (await recruiter.http.patch(path, json={"status": "reviewing"})).status_code == 200
    async with open_stream(candidate) as fresh, open_stream(candidate, after=0) as replay:
        await fresh.started()  # subscribed, from now on
        await replay.until(lambda e: len(e) == 1)
        assert (await recruiter.http.patch(path, json={"status": "shortlisted"})).status_code == 200
        await fresh.until(lambda e: len(e) == 1)
        await replay.until(lambda e: len(e) == 2)
        # Heartbeats (comments) keep an idle stream open.
        await fresh.idle(1.5)
    assert [e.data["seq"] for e in fresh.events] == [2]
    assert [e.data["seq"] for e in replay.events] == [1, 2]
    assert fresh.ready == {"after": 1} and replay.ready == {"after": 0}
    assert any(c.startswith("ping") for c in fresh.comments)


async def test_streams_are_opened_with_a_ticket_of_their_own(
    notify_server: ServerProcess, people: Any
) -> None:
    candidate = await people("candidate")
    async with httpx.AsyncClient(base_url=notify_server.url, timeout=10) as plain:
        for url in ("/notifications/stream?ticket=made-up", "/notifications/stream"):
            resp = await plain.get(url)
            assert resp.status_code in (401, 422), resp.text
        url = (await ticket(candidate))["url"]
        async with open_stream(candidate, url=url):
            # One stream at a time per ticket.
            assert (await plain.get(url)).status_code == 401
        bad = await plain.get(url, headers={"Last-Event-ID": "-1"})
        assert bad.status_code == 422
        # A token is not a ticket, and a stream takes no Authorization header instead.
        resp = await plain.get(
            "/notifications/stream?ticket=x",
            headers={"Authorization": candidate.http.headers["Authorization"]},
        )
        assert resp.status_code == 401
        # An interview socket's ticket opens no stream.
        recruiter = await people("recruiter")
        interview = await schedule(recruiter, await apply(candidate, await post_job(recruiter)))
        socket_ticket = (await candidate.http.post(f"/interviews/{interview}/ticket")).json()
        resp = await plain.get(f"/notifications/stream?ticket={socket_ticket['ticket']}")
        assert resp.status_code == 401
    # Handed back when the stream ended, for the ticket's life (5 s here), then no more.
    await asyncio.sleep(5.5)
    async with httpx.AsyncClient(base_url=notify_server.url, timeout=10) as plain:
        assert (await plain.get(url)).status_code == 401


async def test_no_notification_without_its_change(people: Any) -> None:
    """A refused change writes nothing: a second application to the same job, a status move
    the transitions do not allow."""
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    job = await post_job(recruiter)
    application = await apply(candidate, job)
    again = await candidate.http.post(
        f"/jobs/{job}/applications", files={"cover_letter": (None, "Again")}
    )
    assert again.status_code == 409
    hired = await recruiter.http.patch(f"/applications/{application}", json={"status": "hired"})
    assert hired.status_code == 409
    withdrawn = await candidate.http.patch(
        f"/applications/{application}", json={"status": "withdrawn"}
    )
    assert withdrawn.status_code == 200  # the candidate's own move: nobody is told
    recruiter_kinds = [
        n["kind"] for n in (await recruiter.http.get("/notifications")).json()["items"]
    ]
    assert recruiter_kinds == ["application.created"]
    assert (await candidate.http.get("/notifications")).json()["items"] == []


async def listener_pids(server: ServerProcess) -> list[int]:
    conn = await asyncpg.connect(server.dsn)
    try:
        rows = await conn.fetch(
            # By its name, not its last query: that is `select 1` once the hub has checked
            # the connection (every 30 s). This server's only: others may share PostgreSQL.
            "select pid from pg_stat_activity where application_name = 'openhire-listen'"
            " and datname = current_database()"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def test_a_lost_listener_connection_loses_no_notification(
    notify_server: ServerProcess, people: Any
) -> None:
    """The server's LISTEN connection dies (the database restarted it, a network blip) while
    notifications are committed: their NOTIFYs never reach this server, yet every stream gets
    them, in order, once the connection is made again."""
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    application = await apply(candidate, await post_job(recruiter))
    path = f"/applications/{application}"
    async with open_stream(candidate) as stream:
        await stream.started()  # subscribed, from now on
        assert (await recruiter.http.patch(path, json={"status": "reviewing"})).status_code == 200
        await stream.until(lambda e: len(e) == 1)
        (pid,) = await listener_pids(notify_server)
        conn = await asyncpg.connect(notify_server.dsn)
        try:
            assert await conn.fetchval("select pg_terminate_backend($1)", pid)
        finally:
            await conn.close()
        for status in ("shortlisted", "reviewing", "shortlisted"):
            assert (await recruiter.http.patch(path, json={"status": status})).status_code == 200
        await stream.until(lambda e: len(e) == 4)
        assert [e.data["seq"] for e in stream.events] == [1, 2, 3, 4]
        (new_pid,) = await listener_pids(notify_server)
        assert new_pid != pid
        # And live delivery goes on over the new connection.
        assert (await recruiter.http.patch(path, json={"status": "reviewing"})).status_code == 200
        await stream.until(lambda e: len(e) == 5)


async def test_a_server_stopping_ends_its_streams_at_once(make_server: Any) -> None:
    srv = make_server()
    srv.start()
    candidate = await person(srv, "candidate")
    try:
        async with open_stream(candidate) as stream:
            await stream.idle(0.3)
            started = asyncio.get_running_loop().time()
            code = await asyncio.to_thread(srv.stop)
            assert await stream.next(5) is None
        assert code == 130
        assert asyncio.get_running_loop().time() - started < 8
    finally:
        await candidate.http.aclose()


async def test_scheduling_again_after_an_expiry_tells_both(server: ServerProcess) -> None:
    """On the shared server (its scheduler looks once a minute), an interview past its expiry
    is expired by the next scheduling for the same application: the recruiter is told it
    expired and the candidate of the new one, in that one transaction."""
    recruiter = await person(server, "recruiter")
    candidate = await person(server, "candidate")
    try:
        application = await apply(candidate, await post_job(recruiter))
        # Far enough ahead to be in the future when the server reads it, on a loaded machine.
        expiring_s = 3
        asked = time.monotonic()
        first = await schedule(recruiter, application, expires_in_s=expiring_s)
        await asyncio.sleep(max(0.0, asked + expiring_s + 0.5 - time.monotonic()))
        second = await schedule(recruiter, application)
        told = (await recruiter.http.get("/notifications")).json()["items"]
        expired = [n["interview_id"] for n in told if n["kind"] == "interview.expired"]
        assert expired == [first]
        scheduled = [
            n["interview_id"]
            for n in (await candidate.http.get("/notifications")).json()["items"]
            if n["kind"] == "interview.scheduled"
        ]
        assert scheduled == [second, first]
    finally:
        await recruiter.http.aclose()
        await candidate.http.aclose()
