"""The interview lifecycle over HTTP, against a real server and its embedded PostgreSQL:
scheduling, listing, one interview, expiry, socket tickets, the event log, artifacts with
signed URLs, and the state machine as HTTP shows it (scheduled → in_progress → completed or
abandoned)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
import websockets

from clients.interview_client import SUBPROTOCOL, CandidateSession, WatcherSession, ws_url
from tests.conftest import ServerProcess, job_payload, share_created_at
from tests.live_helpers import (
    LONG_ANSWER,
    PLAN,
    Interview,
    close_clients,
    jpeg,
    new_interview,
    stored_events,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENDED = ("completed", "abandoned", "expired")


# --- helpers ------------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    name: str
    http: httpx.AsyncClient


People = Callable[..., Awaitable[Person]]


@pytest.fixture
async def people(server: ServerProcess) -> AsyncIterator[People]:
    """people(role, srv=server) -> a new account with its own authenticated client."""
    made: list[Person] = []

    async def make(role: str, srv: ServerProcess = server) -> Person:
        name = f"{role.title()} {uuid.uuid4().hex[:6]}"
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as anon:
            resp = await anon.post(
                "/auth/signup",
                json={
                    "email": f"{role}-{uuid.uuid4().hex[:12]}@example.test",
                    "password": "correct horse battery",
                    "full_name": name,
                    "role": role,
                },
            )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        http = httpx.AsyncClient(
            base_url=srv.url,
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=30,
        )
        person = Person(body["user"]["id"], name, http)
        made.append(person)
        return person

    yield make
    for person in made:
        await person.http.aclose()


async def post_job(recruiter: Person, title: str = "Senior Python Engineer", **plan: Any) -> str:
    resp = await recruiter.http.post(
        "/jobs", json=job_payload(title=title, interview_plan={**PLAN, **plan})
    )
    assert resp.status_code == 201, resp.text
    job_id: str = resp.json()["id"]
    return job_id


async def apply(candidate: Person, job_id: str) -> str:
    resp = await candidate.http.post(
        f"/jobs/{job_id}/applications", files={"cover_letter": (None, "Hello")}
    )
    assert resp.status_code == 201, resp.text
    application_id: str = resp.json()["id"]
    return application_id


async def schedule(http: httpx.AsyncClient, application_id: str, **body: Any) -> httpx.Response:
    return await http.post(f"/applications/{application_id}/interviews", json=body)


async def scheduled(http: httpx.AsyncClient, application_id: str, **body: Any) -> dict[str, Any]:
    resp = await schedule(http, application_id, **body)
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def error_code(resp: httpx.Response) -> str:
    code: str = resp.json()["error"]["code"]
    return code


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def listing(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    resp = await http.get("/interviews", params=params)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def listed_ids(http: httpx.AsyncClient, **params: Any) -> set[str]:
    page = await listing(http, limit=100, **params)
    assert page["next_cursor"] is None
    ids = {item["id"] for item in page["items"]}
    assert page["total"] == len(ids) == len(page["items"])
    return ids


async def wait_for_state(
    http: httpx.AsyncClient, interview_id: str, states: tuple[str, ...], timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = (await http.get(f"/interviews/{interview_id}")).json()
        if body["state"] in states:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"still {body['state']} after {timeout} s, wanted {states}")
        await asyncio.sleep(0.05)


async def all_events(http: httpx.AsyncClient, interview_id: str) -> list[dict[str, Any]]:
    resp = await http.get(f"/interviews/{interview_id}/events", params={"limit": 1000})
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_since"] is None
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def raw_get(server: ServerProcess, target: str) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte (no client-side URL normalisation)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def play_short_interview(server: ServerProcess) -> Interview:
    """One main question, no follow-up, a proctoring signal, an answer: completed."""
    iv = await new_interview(server, question_count=1, follow_ups_per_question=0)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            question = await session.next_question()
            assert (await session.proctor("tab_hidden"))["type"] == "ack"
            assert (await session.answer(question["question_id"], LONG_ANSWER))["type"] == "ack"
            ended = await session.receive_until("interview.ended", timeout=15)
            assert ended["reason"] == "all_questions_answered"
    except BaseException:
        await close_clients(iv)
        raise
    return iv


# --- POST /applications/{id}/interviews ---------------------------------------------------


async def test_the_jobs_recruiter_schedules_an_interview(people: People) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    job_id = await post_job(recruiter, title="Data Engineer")
    application_id = await apply(candidate, job_id)
    expires = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    before = datetime.now(UTC)
    resp = await schedule(
        recruiter.http,
        application_id,
        expires_at=expires.astimezone(timezone(timedelta(hours=2))).isoformat(),
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    uuid.UUID(body["id"])
    assert body["state"] == "scheduled"
    assert body["state_reason"] is None
    assert body["application_id"] == application_id
    assert body["job_id"] == job_id
    assert body["job_title"] == "Data Engineer"
    assert body["candidate_id"] == candidate.id
    assert body["candidate_name"] == candidate.name
    assert body["recruiter_id"] == recruiter.id
    assert when(body["expires_at"]) == expires  # the same instant, whatever the offset given
    assert body["started_at"] is None and body["ended_at"] is None
    assert body["evaluation"] is None
    created = when(body["created_at"])
    assert created is not None
    assert before - timedelta(seconds=5) <= created <= datetime.now(UTC) + timedelta(seconds=5)
    # Both sides see exactly that interview.
    for who in (recruiter, candidate):
        got = await who.http.get(f"/interviews/{body['id']}")
        assert got.status_code == 200
        assert got.json() == body
    # Without an expiry.
    other = await people("candidate")
    plain = await scheduled(recruiter.http, await apply(other, job_id))
    assert plain["expires_at"] is None and plain["state"] == "scheduled"
    assert plain["candidate_id"] == other.id


async def test_only_the_jobs_recruiter_may_schedule(people: People, server: ServerProcess) -> None:
    recruiter = await people("recruiter")
    stranger = await people("recruiter")
    candidate = await people("candidate")
    application_id = await apply(candidate, await post_job(recruiter))
    for who in (candidate, stranger):
        resp = await schedule(who.http, application_id)
        assert resp.status_code == 403, resp.text
        assert error_code(resp) == "forbidden"
    resp = await schedule(recruiter.http, str(uuid.uuid4()))
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    resp = await schedule(recruiter.http, "not-an-id")
    assert resp.status_code == 404
    async with httpx.AsyncClient(base_url=server.url) as anon:
        resp = await anon.post(f"/applications/{application_id}/interviews", json={})
        assert resp.status_code == 401
    # None of the refused attempts left an interview behind.
    for who in (recruiter, stranger, candidate):
        assert (await listing(who.http))["total"] == 0
    await scheduled(recruiter.http, application_id)
    assert (await listing(candidate.http))["total"] == 1


async def test_a_closed_application_gets_no_interview(people: People) -> None:
    recruiter = await people("recruiter")
    job_id = await post_job(recruiter)
    apps = {}
    for name in ("withdrawn", "rejected", "hired", "shortlisted", "reviewing"):
        apps[name] = (candidate := await people("candidate")), await apply(candidate, job_id)

    async def move(who: Person, application_id: str, status: str) -> None:
        resp = await who.http.patch(f"/applications/{application_id}", json={"status": status})
        assert resp.status_code == 200, resp.text

    withdrawn_by, withdrawn = apps["withdrawn"]
    await move(withdrawn_by, withdrawn, "withdrawn")
    await move(recruiter, apps["rejected"][1], "rejected")
    await move(recruiter, apps["hired"][1], "shortlisted")
    await move(recruiter, apps["hired"][1], "hired")
    await move(recruiter, apps["shortlisted"][1], "shortlisted")
    await move(recruiter, apps["reviewing"][1], "reviewing")
    for status in ("withdrawn", "rejected", "hired"):
        resp = await schedule(recruiter.http, apps[status][1])
        assert resp.status_code == 409, (status, resp.text)
        assert error_code(resp) == "application_closed"
        assert status in resp.json()["error"]["message"]
    # Still open: an interview can be scheduled.
    for status in ("shortlisted", "reviewing"):
        assert (await scheduled(recruiter.http, apps[status][1]))["state"] == "scheduled"
    assert (await listing(recruiter.http))["total"] == 2


async def test_one_open_interview_per_application_and_another_once_it_ended(
    server: ServerProcess,
) -> None:
    iv = await new_interview(server)
    try:
        resp = await schedule(iv.recruiter, iv.application_id)
        assert resp.status_code == 409 and error_code(resp) == "interview_exists"
        assert resp.json()["error"]["details"] == {"interview_id": iv.id}
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            assert (await session.proctor("paste"))["type"] == "ack"
            assert (await iv.recruiter.get(f"/interviews/{iv.id}")).json()["state"] == (
                "in_progress"
            )
            resp = await schedule(iv.recruiter, iv.application_id)
            assert resp.status_code == 409 and error_code(resp) == "interview_exists"
            assert (await session.end())["type"] == "ack"
            ended = await session.receive_until("interview.ended", timeout=15)
            assert ended["reason"] == "candidate_ended"
        first = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert (first["state"], first["state_reason"]) == ("completed", "candidate_ended")
        second = await scheduled(iv.recruiter, iv.application_id)
        assert second["id"] != iv.id and second["state"] == "scheduled"
        assert second["application_id"] == iv.application_id
        page = await listing(iv.recruiter, application_id=iv.application_id)
        assert [(i["id"], i["state"]) for i in page["items"]] == [
            (second["id"], "scheduled"),
            (iv.id, "completed"),
        ]
        resp = await schedule(iv.recruiter, iv.application_id)
        assert resp.status_code == 409
        assert resp.json()["error"]["details"] == {"interview_id": second["id"]}
    finally:
        await close_clients(iv)


async def test_concurrent_scheduling_makes_exactly_one_interview(people: People) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    application_id = await apply(candidate, await post_job(recruiter))
    responses = await asyncio.gather(*(schedule(recruiter.http, application_id) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    created = next(r.json() for r in responses if r.status_code == 201)
    for resp in responses:
        if resp.status_code == 409:
            assert error_code(resp) == "interview_exists"
            assert resp.json()["error"]["details"] == {"interview_id": created["id"]}
    assert await listed_ids(recruiter.http) == {created["id"]}


async def test_scheduling_refuses_a_past_expiry_and_unknown_fields(people: People) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    application_id = await apply(candidate, await post_job(recruiter))
    past = datetime.now(UTC) - timedelta(seconds=2)
    bad_bodies: list[Any] = [
        {"expires_at": past.isoformat()},
        {"expires_at": (datetime.now(UTC) - timedelta(days=400)).isoformat()},
        {"expires_at": "tomorrow"},
        {"expires_at": 12},
        {"when": "soon"},
        {"expires_at": None, "candidate_id": candidate.id},
    ]
    for body in bad_bodies:
        resp = await recruiter.http.post(f"/applications/{application_id}/interviews", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert error_code(resp) == "validation_failed"
    for raw in (b"{not json", b"[]", b'"2030-01-01T00:00:00Z"'):
        resp = await recruiter.http.post(
            f"/applications/{application_id}/interviews",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 400, resp.text
        assert error_code(resp) == "malformed_json"
    resp = await recruiter.http.post(
        f"/applications/{application_id}/interviews", content=b"{}", headers={}
    )
    assert resp.status_code == 415, resp.text
    assert (await listing(recruiter.http))["total"] == 0
    ok = await scheduled(recruiter.http, application_id, expires_at=None)
    assert ok["expires_at"] is None


async def test_a_naive_expiry_means_utc_whatever_the_servers_time_zone(
    make_server: Any, people: People
) -> None:
    # A server whose local time is UTC+14 (a POSIX TZ: no tz database needed).
    srv = make_server(TZ="KIR-14")
    srv.start()
    recruiter = await people("recruiter", srv)
    candidate = await people("candidate", srv)
    application_id = await apply(candidate, await post_job(recruiter))
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    body = await scheduled(
        recruiter.http, application_id, expires_at=in_an_hour.replace(tzinfo=None).isoformat()
    )
    assert when(body["expires_at"]) == in_an_hour
    got = (await recruiter.http.get(f"/interviews/{body['id']}")).json()
    assert (got["state"], when(got["expires_at"])) == ("scheduled", in_an_hour)
    # And a naive time an hour ago is in the past.
    past = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    other = await apply(await people("candidate", srv), await post_job(recruiter))
    resp = await schedule(recruiter.http, other, expires_at=past)
    assert resp.status_code == 422, resp.text


# --- GET /interviews ----------------------------------------------------------------------


async def test_each_user_lists_only_their_interviews_and_filters_work(
    people: People, server: ServerProcess
) -> None:
    r1 = await people("recruiter")
    r2 = await people("recruiter")
    alice = await people("candidate")
    bob = await people("candidate")
    nobody = await people("candidate")
    j1 = await post_job(r1)
    j2 = await post_job(r2)
    alice_j1, alice_j2, bob_j1 = (
        await apply(alice, j1),
        await apply(alice, j2),
        await apply(bob, j1),
    )
    i_alice_j1 = (await scheduled(r1.http, alice_j1))["id"]
    i_bob_j1 = (await scheduled(r1.http, bob_j1))["id"]
    i_alice_j2 = (await scheduled(r2.http, alice_j2))["id"]

    assert await listed_ids(alice.http) == {i_alice_j1, i_alice_j2}
    assert await listed_ids(bob.http) == {i_bob_j1}
    assert await listed_ids(r1.http) == {i_alice_j1, i_bob_j1}
    assert await listed_ids(r2.http) == {i_alice_j2}
    assert await listed_ids(nobody.http) == set()
    assert await listed_ids(r1.http, application_id=alice_j1) == {i_alice_j1}
    assert await listed_ids(r1.http, application_id=alice_j2) == set()  # not r1's job
    assert await listed_ids(bob.http, application_id=alice_j1) == set()  # not bob's
    assert await listed_ids(alice.http, application_id=alice_j2) == {i_alice_j2}

    # The recruiter calls off Bob's interview before it starts: abandoned, recruiter_ended.
    watcher = await WatcherSession.open(r1.http, i_bob_j1)
    assert (await watcher.end())["type"] == "ack"
    # The watcher is closed normally once the end is committed.
    assert (await watcher.receive_until("_closed", timeout=10))["code"] == 1000
    await watcher.close()
    assert await listed_ids(r1.http, state="abandoned") == {i_bob_j1}
    assert await listed_ids(r1.http, state="scheduled") == {i_alice_j1}
    assert await listed_ids(r1.http, state="completed") == set()
    assert await listed_ids(alice.http, state="scheduled") == {i_alice_j1, i_alice_j2}
    bobs = await listing(bob.http, state="abandoned")
    assert [(i["id"], i["state"], i["state_reason"]) for i in bobs["items"]] == [
        (i_bob_j1, "abandoned", "recruiter_ended")
    ]
    assert await listed_ids(r1.http, state="abandoned", application_id=alice_j1) == set()

    for params in (
        {"state": "cancelled"},
        {"application_id": "nope"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"colour": "blue"},
    ):
        resp = await r1.http.get("/interviews", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert error_code(resp) == "validation_failed"
    async with httpx.AsyncClient(base_url=server.url) as anon:
        assert (await anon.get("/interviews")).status_code == 401


async def test_listing_pages_with_a_cursor_without_gaps_or_duplicates(people: People) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    jobs = [await post_job(recruiter, title=f"Role {n}") for n in range(8)]
    applications = [await apply(candidate, job) for job in jobs]
    created = [(await scheduled(recruiter.http, a))["id"] for a in applications[:7]]
    newest_first = created[::-1]

    for who in (recruiter, candidate):
        seen: list[str] = []
        sizes: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = await listing(who.http, **params)
            assert page["total"] == 7 and page["limit"] == 3
            sizes.append(len(page["items"]))
            seen += [i["id"] for i in page["items"]]
            times = [when(i["created_at"]) for i in page["items"]]
            assert times == sorted(times, reverse=True)  # type: ignore[type-var]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sizes == [3, 3, 1]
        assert seen == newest_first

    exact = await listing(recruiter.http, limit=7)
    assert exact["next_cursor"] is None and len(exact["items"]) == 7

    # A new interview scheduled between two pages neither repeats nor hides the older ones.
    first = await listing(recruiter.http, limit=3)
    late = (await scheduled(recruiter.http, applications[7]))["id"]
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        page = await listing(recruiter.http, limit=3, cursor=cursor)
        assert page["total"] == 8
        rest += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert [i["id"] for i in first["items"]] + rest == newest_first
    assert late not in rest
    assert (await listing(recruiter.http, limit=1))["items"][0]["id"] == late

    # A filtered listing pages over the filtered set.
    filtered = await listing(recruiter.http, limit=2, application_id=applications[3])
    assert filtered["total"] == 1 and filtered["next_cursor"] is None
    assert [i["id"] for i in filtered["items"]] == [created[3]]

    def b64(value: Any) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")

    bad_cursors = [
        "garbage!!",
        "%%%",
        b64([1, 2]),
        b64({"created_at": "2024-01-01T00:00:00+00:00"}),
        b64(["2024-01-01T00:00:00", str(uuid.uuid4())]),  # no time zone
        b64(["2024-01-01T00:00:00+00:00", "not-a-uuid"]),
        b64(["not a time", str(uuid.uuid4())]),
        b64(["2024-01-01T00:00:00+00:00", str(uuid.uuid4()), "extra"]),
    ]
    for bad in bad_cursors:
        resp = await recruiter.http.get("/interviews", params={"cursor": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert error_code(resp) == "invalid_cursor"
    resp = await recruiter.http.get("/interviews", params={"cursor": "x" * 501})
    assert resp.status_code == 422


async def test_listing_pages_exactly_through_interviews_that_share_a_created_at(
    people: People, server: ServerProcess
) -> None:
    recruiter = await people("recruiter")
    candidate = await people("candidate")
    jobs = [await post_job(recruiter, title=f"Role {n}") for n in range(9)]
    applications = [await apply(candidate, job) for job in jobs]
    created = [(await scheduled(recruiter.http, a))["id"] for a in applications]
    # Two groups of rows with one created_at each: only the id tells them apart, so a cursor
    # without the id (or an order without it) repeats or skips rows within a group.
    expected = share_created_at(server.dsn, "interviews", [created[:5], created[5:]])

    for who in (recruiter, candidate):
        for limit in (1, 2, 3, 4):
            seen: list[str] = []
            cursor = None
            for _ in range(20):
                params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
                page = await listing(who.http, **params)
                assert page["total"] == 9
                seen += [i["id"] for i in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected, (who.name, limit)  # no repeat, no gap, one order


# --- GET /interviews/{id} and the state machine -------------------------------------------


async def test_one_interview_from_scheduled_to_completed_with_timings_and_evaluation(
    server: ServerProcess,
) -> None:
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    iv = await new_interview(server, question_count=1, follow_ups_per_question=0)
    try:
        before = (await iv.candidate.get(f"/interviews/{iv.id}")).json()
        assert before["state"] == "scheduled"
        assert before["started_at"] is None and before["ended_at"] is None
        assert before["evaluation"] is None
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert session.ready["state"] == "scheduled" and session.ready["resumed"] is False
            question = await session.next_question()
            assert (await session.proctor("window_blur"))["type"] == "ack"
            during = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
            assert during["state"] == "in_progress"
            started = when(during["started_at"])
            assert started is not None and t0 <= started <= datetime.now(UTC)
            assert during["ended_at"] is None and during["evaluation"] is None
            assert iv.id in await listed_ids(iv.recruiter, state="in_progress")
            assert iv.id not in await listed_ids(iv.recruiter, state="scheduled")
            assert (await session.answer(question["question_id"], LONG_ANSWER))["type"] == "ack"
            ended = await session.receive_until("interview.ended", timeout=15)
            assert ended["reason"] == "all_questions_answered"
        # interview.ended is sent once the end is committed: no waiting needed.
        after = (await iv.candidate.get(f"/interviews/{iv.id}")).json()
        assert after["state"] == "completed"
        assert after["state_reason"] == "all_questions_answered"
        assert when(after["started_at"]) == started
        finished = when(after["ended_at"])
        assert finished is not None and started <= finished <= datetime.now(UTC)
        # The evaluation is the recruiter's; the candidate's view is otherwise the same.
        assert after["evaluation"] is None
        recruiters = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        evaluation = recruiters.pop("evaluation")
        assert recruiters == {k: v for k, v in after.items() if k != "evaluation"}
        assert isinstance(evaluation, dict) and "error" not in evaluation
        job = (await iv.recruiter.get(f"/jobs/{iv.job_id}")).json()
        rubric = {c["name"] for c in job["interview_plan"]["rubric"]}
        assert {c["name"] for c in evaluation["criteria"]} == rubric
        assert evaluation["proctoring"]["counts"] == {"window_blur": 1}
        assert evaluation["recommendation"]
        assert iv.id in await listed_ids(iv.candidate, state="completed")
        for who in (iv.candidate, iv.recruiter):
            resp = await who.post(f"/interviews/{iv.id}/ticket")
            assert resp.status_code == 409 and error_code(resp) == "interview_ended"
        states = [e["data"] for e in await all_events(iv.recruiter, iv.id) if e["kind"] == "state"]
        assert states == [
            {"state": "in_progress", "reason": "candidate_joined"},
            {"state": "completed", "reason": "all_questions_answered"},
        ]
    finally:
        await close_clients(iv)


async def test_only_the_candidate_and_the_recruiter_see_an_interview(
    server: ServerProcess,
) -> None:
    iv = await new_interview(server)
    other = await new_interview(server)
    try:
        for who in (other.candidate, other.recruiter):
            for method, path in (
                ("GET", f"/interviews/{iv.id}"),
                ("GET", f"/interviews/{iv.id}/events"),
                ("GET", f"/interviews/{iv.id}/artifacts"),
                ("POST", f"/interviews/{iv.id}/ticket"),
            ):
                resp = await who.request(method, path)
                assert resp.status_code == 403, (method, path, resp.text)
                assert error_code(resp) == "forbidden"
                assert list(resp.json()) == ["error"]  # nothing of the interview
        unknown = uuid.uuid4()
        for method, path in (
            ("GET", f"/interviews/{unknown}"),
            ("GET", f"/interviews/{unknown}/events"),
            ("GET", f"/interviews/{unknown}/artifacts"),
            ("POST", f"/interviews/{unknown}/ticket"),
            ("GET", "/interviews/not-a-uuid"),
        ):
            resp = await iv.recruiter.request(method, path)
            assert resp.status_code == 404, (method, path, resp.text)
            assert error_code(resp) == "not_found"
        async with httpx.AsyncClient(base_url=server.url) as anon:
            for method, path in (
                ("GET", f"/interviews/{iv.id}"),
                ("GET", f"/interviews/{iv.id}/events"),
                ("GET", f"/interviews/{iv.id}/artifacts"),
                ("POST", f"/interviews/{iv.id}/ticket"),
            ):
                assert (await anon.request(method, path)).status_code == 401
        # Nothing about the interview changed through the refusals.
        assert (await iv.candidate.get(f"/interviews/{iv.id}")).json()["state"] == "scheduled"
    finally:
        await close_clients(iv)
        await close_clients(other)


async def test_a_candidate_who_leaves_is_abandoned_after_the_grace_period(
    make_server: Any,
) -> None:
    # Long enough for the candidate who comes back to do so within it on a loaded machine
    # (a ticket, a socket, its session.ready), once the server has logged the drop.
    grace_s = 4
    srv = make_server(OPENHIRE_RECONNECT_GRACE=str(grace_s))
    srv.start()
    gone = await new_interview(srv)
    back = await new_interview(srv)
    try:
        # One candidate leaves for good; another drops and comes back within the grace.
        left = await CandidateSession.open(gone.candidate, gone.id)
        await left.next_question()
        assert (await left.proctor("tab_hidden"))["type"] == "ack"
        dropped = await CandidateSession.open(back.candidate, back.id)
        question = await dropped.next_question()
        assert (await dropped.proctor("tab_hidden"))["type"] == "ack"
        assert (await gone.recruiter.get(f"/interviews/{gone.id}")).json()["state"] == (
            "in_progress"
        )
        left_at = datetime.now(UTC)
        await left.close()
        await dropped.close()
        # Back as soon as the server has logged the drop (its grace timer is then running).
        disconnected = {"role": "candidate", "status": "disconnected", "cause": "network_drop"}
        while disconnected not in [e["data"] for e in await all_events(back.recruiter, back.id)]:
            assert datetime.now(UTC) < left_at + timedelta(seconds=30), "the drop was not logged"
            await asyncio.sleep(0.02)
        returned = await CandidateSession.open(back.candidate, back.id)
        assert returned.ready["resumed"] is True

        abandoned = await wait_for_state(gone.recruiter, gone.id, ENDED, timeout=30)
        assert abandoned["state"] == "abandoned"
        assert abandoned["state_reason"] == "candidate_left"
        assert abandoned["evaluation"] is None
        started, ended = when(abandoned["started_at"]), when(abandoned["ended_at"])
        assert started is not None and ended is not None
        # Not before the grace period had passed.
        assert ended >= left_at + timedelta(seconds=grace_s - 0.1)
        logged = [(e["kind"], e["data"]) for e in await all_events(gone.candidate, gone.id)]
        assert logged[-2:] == [
            (
                "connection",
                {"role": "candidate", "status": "disconnected", "cause": "network_drop"},
            ),
            ("state", {"state": "abandoned", "reason": "candidate_left"}),
        ]
        assert await listed_ids(gone.recruiter, state="abandoned") == {gone.id}
        resp = await gone.candidate.post(f"/interviews/{gone.id}/ticket")
        assert resp.status_code == 409 and error_code(resp) == "interview_ended"

        # The one who came back is still in the interview, well after the grace period.
        wait = (left_at + timedelta(seconds=grace_s + 0.5) - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(0.0, wait))
        still = (await back.recruiter.get(f"/interviews/{back.id}")).json()
        assert (still["state"], still["ended_at"]) == ("in_progress", None)
        again = await returned.next_question()
        assert again["question_id"] == question["question_id"]
        assert (await returned.answer(again["question_id"], LONG_ANSWER))["type"] == "ack"
        await returned.close()
    finally:
        await close_clients(gone)
        await close_clients(back)


# --- expiry ---------------------------------------------------------------------------------


async def test_an_interview_nobody_starts_expires(people: People, server: ServerProcess) -> None:
    recruiter = await people("recruiter")
    job_id = await post_job(recruiter)
    candidates = [await people("candidate") for _ in range(5)]
    applications = [await apply(c, job_id) for c in candidates]
    # Far enough ahead for everything up to the sleep (five schedulings, a read, a ticket, a
    # watcher's socket) to happen before it, on a loaded machine too.
    expires = datetime.now(UTC) + timedelta(seconds=8)
    read, unread, ticketed, listed_only = [
        (await scheduled(recruiter.http, a, expires_at=expires.isoformat()))["id"]
        for a in applications[:4]
    ]
    lasting = (await scheduled(recruiter.http, applications[4]))["id"]

    before = (await candidates[0].http.get(f"/interviews/{read}")).json()
    assert before["state"] == "scheduled" and when(before["expires_at"]) == expires
    early_ticket = (await candidates[2].http.post(f"/interviews/{ticketed}/ticket")).json()
    assert early_ticket["role"] == "candidate"
    # The recruiter is already watching that one (so it is live in the server's memory).
    watcher = await WatcherSession.open(recruiter.http, ticketed)

    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)

    # A ticket issued before the expiry opens nothing after it.
    async with websockets.connect(
        ws_url(server.url, early_ticket["url"]),
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 20)
        assert ws.close_code == 4009
    assert (await watcher.receive_until("_closed", timeout=20))["code"] == 4009
    await watcher.close()

    for who in (recruiter, candidates[0]):
        got = (await who.http.get(f"/interviews/{read}")).json()
        assert got["state"] == "expired"
        assert got["state_reason"] == "not_started_in_time"
        assert got["started_at"] is None and got["evaluation"] is None
        ended = when(got["ended_at"])
        assert ended is not None and ended >= expires
    for who in (recruiter, candidates[0]):
        resp = await who.http.post(f"/interviews/{read}/ticket")
        assert resp.status_code == 409 and error_code(resp) == "interview_ended"
    # The expiry is logged, once, however often the interview is read.
    events = await all_events(recruiter.http, read)
    assert [(e["offset"], e["kind"], e["data"]) for e in events] == [
        (1, "state", {"state": "expired", "reason": "not_started_in_time"})
    ]
    assert (await candidates[2].http.get(f"/interviews/{ticketed}")).json()["state"] == "expired"

    # An expired interview no longer blocks a new one, even if nobody read it since.
    again = await scheduled(recruiter.http, applications[1])
    assert again["state"] == "scheduled"
    unread_now = (await recruiter.http.get(f"/interviews/{unread}")).json()
    assert unread_now["state"] == "expired"

    # Listing shows them as expired, not as scheduled, including one nobody opened.
    assert await listed_ids(candidates[3].http, state="scheduled") == set()
    assert await listed_ids(candidates[3].http, state="expired") == {listed_only}
    assert await listed_ids(recruiter.http, state="expired") == {
        read,
        unread,
        ticketed,
        listed_only,
    }
    assert await listed_ids(recruiter.http, state="scheduled") == {lasting, again["id"]}
    for interview_id in (unread, listed_only):
        assert [(e["offset"], e["kind"]) for e in await stored_events(server, interview_id)] == [
            (1, "state")
        ]


# --- POST /interviews/{id}/ticket ------------------------------------------------------------


async def test_tickets_by_role_short_lived_distinct_and_usable(server: ServerProcess) -> None:
    iv = await new_interview(server)
    try:
        issued: list[str] = []
        for who, role, path in (
            (iv.candidate, "candidate", f"/ws/interviews/{iv.id}"),
            (iv.recruiter, "watcher", f"/ws/interviews/{iv.id}/watch"),
        ):
            for _ in range(3):
                resp = await who.post(f"/interviews/{iv.id}/ticket")
                assert resp.status_code == 200, resp.text
                body = resp.json()
                assert set(body) == {"ticket", "expires_in", "role", "url"}
                assert body["role"] == role
                assert 0 < body["expires_in"] <= 60
                assert len(body["ticket"]) >= 16
                url = urlsplit(body["url"])
                assert url.path == path
                assert parse_qs(url.query) == {"ticket": [body["ticket"]]}
                token = who.headers["Authorization"].removeprefix("Bearer ")
                assert token not in body["url"]
                issued.append(body["ticket"])
        assert len(set(issued)) == len(issued)

        # Each role's ticket opens its own socket.
        watcher_ticket = (await iv.recruiter.post(f"/interviews/{iv.id}/ticket")).json()
        async with websockets.connect(
            ws_url(server.url, watcher_ticket["url"] + "&since=0"),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ) as ws:
            ready = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
            assert (ready["type"], ready["role"], ready["interview_id"]) == (
                "session.ready",
                "watcher",
                iv.id,
            )
        # Watching does not start the interview; the candidate's connection does.
        assert (await iv.candidate.get(f"/interviews/{iv.id}")).json()["state"] == "scheduled"
        candidate_ticket = (await iv.candidate.post(f"/interviews/{iv.id}/ticket")).json()
        async with websockets.connect(
            ws_url(server.url, candidate_ticket["url"]),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ) as ws:
            ready = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
            assert (ready["type"], ready["role"], ready["interview_id"]) == (
                "session.ready",
                "candidate",
                iv.id,
            )
            started = await wait_for_state(iv.recruiter, iv.id, ("in_progress",))
            assert started["started_at"] is not None
    finally:
        await close_clients(iv)


async def test_a_ticket_opens_nothing_once_its_ttl_has_passed(make_server: Any) -> None:
    # Long enough for a fresh ticket to reach its socket within it on a loaded machine.
    srv = make_server(OPENHIRE_TICKET_TTL="3")
    srv.start()
    iv = await new_interview(srv)
    try:
        candidate = (await iv.candidate.post(f"/interviews/{iv.id}/ticket")).json()
        watcher = (await iv.recruiter.post(f"/interviews/{iv.id}/ticket")).json()
        assert candidate["expires_in"] == watcher["expires_in"] == 3
        await asyncio.sleep(3.5)

        for ticket in (candidate, watcher):
            async with websockets.connect(
                ws_url(srv.url, ticket["url"]),
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            ) as ws:
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 20)
                assert ws.close_code == 4001, ticket["role"]
        # The late candidate did not start the interview.
        assert (await iv.candidate.get(f"/interviews/{iv.id}")).json()["state"] == "scheduled"

        # A ticket used within its TTL still opens the socket: the refusals were the clock's.
        fresh = (await iv.recruiter.post(f"/interviews/{iv.id}/ticket")).json()
        async with websockets.connect(
            ws_url(srv.url, fresh["url"]),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ) as ws:
            ready = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
            assert (ready["type"], ready["role"]) == ("session.ready", "watcher")
    finally:
        await close_clients(iv)


# --- GET /interviews/{id}/events --------------------------------------------------------------


async def test_the_event_log_reads_in_order_and_pages(server: ServerProcess) -> None:
    iv = await play_short_interview(server)
    try:
        full = await all_events(iv.recruiter, iv.id)
        stored = await stored_events(server, iv.id)
        assert [(e["offset"], e["kind"], e["data"], e["client_id"]) for e in full] == [
            (s["offset"], s["kind"], s["data"], s["client_id"]) for s in stored
        ]
        assert [e["offset"] for e in full] == list(range(1, len(full) + 1))
        kinds = [e["kind"] for e in full]
        assert kinds[:3] == ["connection", "state", "question"]
        for kind in ("proctor", "answer", "evaluation"):
            assert kind in kinds
        assert full[-1]["kind"] == "state" and full[-1]["data"]["state"] == "completed"
        answer = next(e for e in full if e["kind"] == "answer")
        assert answer["data"]["text"] == LONG_ANSWER and answer["client_id"]
        times = [datetime.fromisoformat(e["at"]) for e in full]
        assert times == sorted(times)
        # The candidate reads all of it but the evaluation (docs/security.md).
        assert (await all_events(iv.candidate, iv.id)) == [
            e for e in full if e["kind"] != "evaluation"
        ]
        n = len(full)
        assert n >= 6

        for limit in (1, 2, 3, n - 1, n, n + 1):
            pages: list[dict[str, Any]] = []
            since = 0
            while True:
                resp = await iv.recruiter.get(
                    f"/interviews/{iv.id}/events", params={"since": since, "limit": limit}
                )
                assert resp.status_code == 200, resp.text
                page = resp.json()
                assert 0 < len(page["items"]) <= limit
                pages += page["items"]
                if page["next_since"] is None:
                    break
                assert page["next_since"] == page["items"][-1]["offset"]
                since = page["next_since"]
            assert pages == full, limit

        middle = (await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": 3})).json()
        assert middle["items"] == full[3:] and middle["next_since"] is None
        for since in (n, n + 50):
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": since})
            assert resp.json() == {"items": [], "next_since": None}
        default = (await iv.recruiter.get(f"/interviews/{iv.id}/events")).json()
        assert default["items"] == full
        one = (await iv.recruiter.get(f"/interviews/{iv.id}/events?limit=1000")).json()
        assert one["items"] == full

        for params in (
            {"limit": 0},
            {"limit": 1001},
            {"limit": -1},
            {"limit": "many"},
            {"since": -1},
            {"since": "start"},
            {"offset": 2},
        ):
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params=params)
            assert resp.status_code == 422, (params, resp.text)
            assert error_code(resp) == "validation_failed"
    finally:
        await close_clients(iv)


# --- GET /interviews/{id}/artifacts and the signed blob URLs -----------------------------------


async def test_artifacts_have_signed_urls_that_work_without_a_token_and_resist_tampering(
    server: ServerProcess,
) -> None:
    iv = await new_interview(server)
    other = await new_interview(server)
    try:
        assert (await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")).json() == {"items": []}
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        image = jpeg(200, 120)
        ack = await session.screenshot(image)
        assert ack["type"] == "ack"
        listed_at = time.time()
        by_recruiter = (await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")).json()["items"]
        by_candidate = (await iv.candidate.get(f"/interviews/{iv.id}/artifacts")).json()["items"]
        assert len(by_recruiter) == len(by_candidate) == 1
        artifact = by_recruiter[0]
        strip = {"url"}  # each listing signs afresh
        assert {k: v for k, v in artifact.items() if k not in strip} == {
            k: v for k, v in by_candidate[0].items() if k not in strip
        }
        assert artifact["kind"] == "screenshot"
        assert artifact["content_type"] == "image/jpeg"
        assert (artifact["width"], artifact["height"], artifact["size_bytes"]) == (
            200,
            120,
            len(image),
        )
        assert artifact["event_offset"] == ack["offset"]
        assert artifact["url_expires_in"] == 300
        logged = next(
            e for e in await all_events(iv.recruiter, iv.id) if e["offset"] == ack["offset"]
        )
        assert logged["kind"] == "screenshot"
        key = logged["data"]["blob_key"]
        url = urlsplit(artifact["url"])
        assert url.path == f"/blobs/{key}"
        assert key.startswith(f"screenshots/{iv.id}/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert set(query) == {"expires", "signature"}
        assert listed_at + 290 <= int(query["expires"]) <= listed_at + 310

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as anon:
            download = await anon.get(artifact["url"])
            assert download.status_code == 200, download.text
            assert download.content == image
            assert download.headers["content-type"] == "image/jpeg"
            assert download.headers["x-content-type-options"] == "nosniff"
            assert "private" in download.headers["cache-control"]
            # The candidate's own URL works as well.
            assert (await anon.get(by_candidate[0]["url"])).content == image

            def signed(path: str, **params: str) -> str:
                return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())

            sig, exp = query["signature"], query["expires"]
            flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
            tampered = [
                signed(url.path, expires=exp, signature=flipped),
                signed(url.path, expires=exp, signature=sig.upper()),
                signed(url.path, expires=exp, signature=sig[:-1]),
                signed(url.path, expires=str(int(exp) + 3600), signature=sig),
                signed(url.path, expires=str(int(exp) - 1), signature=sig),
                signed(url.path, expires=exp),
                signed(url.path, signature=sig),
                url.path,
                signed(url.path, expires="soon", signature=sig),
                signed(url.path, expires="-1", signature=sig),
                # The signature of one key does not open another.
                signed(f"/blobs/screenshots/{iv.id}/000999.jpg", expires=exp, signature=sig),
                signed(f"/blobs/screenshots/{other.id}/{key.rsplit('/', 1)[1]}", expires=exp,
                       signature=sig),
            ]  # fmt: skip
            for target in tampered:
                resp = await anon.get(target)
                assert resp.status_code == 403, (target, resp.text)
                assert error_code(resp) in ("bad_signature", "forbidden")
                assert resp.content != image

            # Keys outside the store's layout, or climbing out of it: 404 or 403, never 500.
            params = f"?expires={exp}&signature={sig}"
            outside = [
                "/blobs/screenshots/../../../etc/passwd",
                f"/blobs/screenshots/{iv.id}/../../resumes/x/resume.pdf",
                "/blobs/screenshots/%2e%2e/%2e%2e/etc/passwd",
                "/blobs/..%2f..%2fetc%2fpasswd",
                "/blobs/%2Fetc%2Fpasswd",
                "/blobs//etc/passwd",
                "/blobs/screenshots",
                "/blobs/Screenshots/x/y.jpg",
                f"/blobs/screenshots/{iv.id}/a%00b.jpg",
                f"/blobs/screenshots/{iv.id}/a%0Ab.jpg",
                "/blobs/screenshots/x/y%20z.jpg",
                "/blobs/" + "a/" * 300 + "b",
            ]
            for path in outside:
                for target in (path + params, path):
                    status, body = await raw_get(server, target)
                    assert status in (403, 404), (target, status, body)
                    assert orjson.loads(body)["error"]["code"] in (
                        "not_found",
                        "bad_signature",
                        "forbidden",
                    )
            # Such keys are refused as keys (404), not merely by the signature.
            for path in (
                "/blobs/screenshots/../etc/passwd",
                f"/blobs/screenshots/{iv.id}/..",
                f"/blobs/{key}/",
            ):
                status, body = await raw_get(server, path + params)
                assert status == 404, (path, body)

        for who in (other.candidate, other.recruiter):
            resp = await who.get(f"/interviews/{iv.id}/artifacts")
            assert resp.status_code == 403 and error_code(resp) == "forbidden"
        await session.close()
    finally:
        await close_clients(iv)
        await close_clients(other)


async def test_artifacts_since_an_offset_are_only_the_newer_ones(server: ServerProcess) -> None:
    # A live view asks for the newest snapshot only, not the whole list every time.
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        first = await session.screenshot(jpeg(64, 48))
        assert first["type"] == "ack", first
        await asyncio.sleep(1.1)  # one screenshot a second at most
        second = await session.screenshot(jpeg(80, 60))
        assert second["type"] == "ack", second

        async def offsets(**params: Any) -> list[int]:
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts", params=params)
            assert resp.status_code == 200, resp.text
            return [a["event_offset"] for a in resp.json()["items"]]

        both = [first["offset"], second["offset"]]
        assert await offsets() == both
        assert await offsets(since=0) == both
        assert await offsets(since=first["offset"] - 1) == both
        assert await offsets(since=first["offset"]) == [second["offset"]]
        assert await offsets(since=second["offset"]) == []
        assert await offsets(since=2**63 - 1) == []
        for bad in ("-1", "x", str(2**63), "1.5"):
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts", params={"since": bad})
            assert resp.status_code == 422, (bad, resp.text)
            assert error_code(resp) == "validation_failed"
        await session.close()
    finally:
        await close_clients(iv)
