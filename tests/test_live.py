"""Live interviews over real sockets against a real server and its embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
import websockets

from clients.interview_client import (
    SUBPROTOCOL,
    CandidateSession,
    WatcherSession,
    fetch_ticket,
    screenshot_frame,
    ws_url,
)
from tests.live_helpers import LONG_ANSWER, close_clients, jpeg, new_interview, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def play_to_the_end(
    session: CandidateSession, answer: str = LONG_ANSWER
) -> list[dict[str, Any]]:
    """Answer every question until the interview ends; return the questions seen."""
    questions = []
    while True:
        message = await session.receive(15)
        if message["type"] == "question.done":
            questions.append(message)
            ack = await session.answer(message["question_id"], answer)
            assert ack["type"] == "ack", ack
        elif message["type"] == "interview.ended":
            return questions
        elif message["type"] == "_closed":
            raise AssertionError(f"closed before the end: {message}")


async def test_a_whole_interview_to_the_end_with_the_scripted_interviewer(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert session.ready["resumed"] is False
            questions = await play_to_the_end(session)
            # The server closes the socket after interview.ended: wait for the close frame.
            assert (await session.receive_until("_closed", timeout=20))["code"] == 1000
            assert session.close_code == 1000
        assert [(q["kind"], q["index"]) for q in questions] == [("main", 1), ("main", 2)]
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed"
        assert got["state_reason"] == "all_questions_answered"
        evaluation = got["evaluation"]
        assert {c["name"] for c in evaluation["criteria"]} == {
            "Technical depth", "Problem solving", "Communication",
        }  # fmt: skip
        # Every answer was LONG_ANSWER, so every criterion has a quote, and each is from it:
        # no evidence at all would pass a check of each quote alone.
        answered = {q["question_id"] for q in questions}
        for criterion in evaluation["criteria"]:
            assert criterion["evidence"], criterion
            for evidence in criterion["evidence"]:
                assert evidence["quote"].strip() and evidence["quote"] in LONG_ANSWER
                assert evidence["question_id"] in answered
        assert evaluation["proctoring"]["counts"] == {}
        application = (await iv.recruiter.get(f"/applications/{iv.application_id}")).json()
        assert application["status"] == "reviewing"
        events = await stored_events(server, iv.id)
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1))
        # Each quote names the answer entry it quotes; typed, it has no second to play from.
        answer_at = {e["data"]["question_id"]: e["offset"] for e in events if e["kind"] == "answer"}
        for criterion in evaluation["criteria"]:
            for evidence in criterion["evidence"]:
                assert evidence["answer_offset"] == answer_at[evidence["question_id"]]
                assert "start_s" not in evidence
        assert events[-1]["kind"] == "state" and events[-1]["data"]["state"] == "completed"
    finally:
        await close_clients(iv)


async def test_every_ack_comes_after_its_message_is_committed(server):
    """The write is held back by a lock this test holds: no ack may come until the row is
    there. (With acks sent before the write, as a fast local database hid, this fails.)"""
    iv = await new_interview(server)
    held = await asyncpg.connect(server.dsn)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            question = await session.next_question()
            await session.proctor("window_focus")  # everything before is committed
            messages = [
                {"type": "proctor", "client_id": "held-1", "signal": "tab_hidden"},
                {"type": "proctor", "client_id": "held-2", "signal": "tab_visible"},
                {
                    "type": "answer",
                    "client_id": "held-3",
                    "question_id": question["question_id"],
                    "text": LONG_ANSWER,
                },
            ]
            for message in messages:
                cid = message["client_id"]
                async with held.transaction():
                    # Inserts wait for this lock (reads do not): the server cannot commit.
                    await held.execute("lock table public.interview_events in exclusive mode")
                    acked = asyncio.get_running_loop().create_future()
                    session.acks[cid] = acked
                    await session.ws.send(orjson.dumps(message).decode())
                    done, _ = await asyncio.wait({acked}, timeout=1.5)
                    assert not done, f"{cid} acked before it was stored: {acked.result()}"
                    stored = await held.fetchval(
                        "select count(*) from public.interview_events"
                        " where interview_id = $1 and client_id = $2",
                        uuid.UUID(iv.id),
                        cid,
                    )
                    assert stored == 0
                # The lock is released: the write goes through, then the ack.
                ack = await asyncio.wait_for(acked, 10)
                assert (ack["type"], ack["client_id"]) == ("ack", cid)
                row = await held.fetchrow(
                    "select kind, client_id from public.interview_events"
                    ' where interview_id = $1 and "offset" = $2',
                    uuid.UUID(iv.id),
                    ack["offset"],
                )
                assert row is not None and (row["kind"], row["client_id"]) == (message["type"], cid)
    finally:
        await held.close()
        await close_clients(iv)


async def test_a_resent_answer_is_stored_once_and_acked_again(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            question = await session.next_question()
            first = await session.answer(question["question_id"], LONG_ANSWER, client_id="answer-1")
            again = await session.answer(question["question_id"], LONG_ANSWER, client_id="answer-1")
            assert again == first
        answers = [e for e in await stored_events(server, iv.id) if e["kind"] == "answer"]
        assert len(answers) == 1 and answers[0]["client_id"] == "answer-1"
    finally:
        await close_clients(iv)


async def test_disconnect_mid_question_and_resume_where_it_was(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        ack = await session.proctor("window_blur")
        await session.close()  # the network drops
        resumed = await CandidateSession.open(iv.candidate, iv.id)
        assert resumed.ready["resumed"] is True
        assert resumed.ready["last_client_id"] == ack["client_id"]
        assert resumed.ready["offset"] >= ack["offset"]
        again = await resumed.next_question()
        assert again["question_id"] == question["question_id"]
        assert again["text"] == question["text"]
        assert 0 < again["time_left_s"] <= question["time_limit_s"]
        ack = await resumed.answer(again["question_id"], LONG_ANSWER)
        assert ack["type"] == "ack"
        questions = await play_to_the_end(resumed)
        assert [q["index"] for q in questions] == [2]
        await resumed.close()
        kinds = [(e["kind"], e["data"].get("status")) for e in await stored_events(server, iv.id)]
        assert ("connection", "disconnected") in kinds
    finally:
        await close_clients(iv)


@pytest.mark.parametrize(
    ("close", "cause"),
    [
        (1001, "reload"),  # a browser unloading the page
        (4100, "reload"),  # the page closing its socket itself as it unloads
        (1000, "network_drop"),  # any other close is not a reload
        (None, "network_drop"),  # no close frame at all
    ],
)
async def test_the_close_code_says_why_the_candidate_left(server, close, cause):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        if close is None:
            session.ws.transport.abort()
        else:
            await session.ws.close(code=close)
        # Read from the log once the server has seen the socket go (reconnecting at once
        # could find the old socket still open, and replace it with no gap).
        gone: list[dict[str, Any]] = []
        for _ in range(100):
            gone = [
                e["data"]
                for e in await stored_events(server, iv.id)
                if e["kind"] == "connection" and e["data"]["status"] == "disconnected"
            ]
            if gone:
                break
            await asyncio.sleep(0.1)
        assert [g["cause"] for g in gone] == [cause], gone
    finally:
        await close_clients(iv)


async def test_a_second_candidate_socket_replaces_the_first(server):
    iv = await new_interview(server)
    try:
        first = await CandidateSession.open(iv.candidate, iv.id)
        await first.next_question()
        second = await CandidateSession.open(iv.candidate, iv.id)
        assert second.ready["resumed"] is True
        closed = await first.receive_until("_closed")
        assert closed["code"] == 4010
        question = await second.next_question()
        assert (await second.answer(question["question_id"], LONG_ANSWER))["type"] == "ack"
        await second.close()
    finally:
        await close_clients(iv)


async def test_session_ready_says_the_interviews_state_in_one_vocabulary_for_every_role(server):
    """``session.ready.state`` is the interview's state (scheduled, in_progress), the same
    word for the candidate and a watcher, never the session's inner phase (awaiting_answer)."""
    iv = await new_interview(server)
    try:
        early = await WatcherSession.open(iv.recruiter, iv.id)
        assert early.ready["state"] == "scheduled"
        assert early.ready["screenshot_interval_s"] is None
        assert early.ready["last_client_id"] is None
        session = await CandidateSession.open(iv.candidate, iv.id)
        assert (session.ready["state"], session.ready["resumed"]) == ("scheduled", False)
        assert session.ready["screenshot_interval_s"] == 1.0
        await session.next_question()  # the session now awaits an answer
        await session.proctor("paste")
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        assert watcher.ready["state"] == "in_progress"
        again = await CandidateSession.open(iv.candidate, iv.id)
        assert (again.ready["state"], again.ready["resumed"]) == ("in_progress", True)
        for socket in (again, watcher, early):
            await socket.close()
    finally:
        await close_clients(iv)


async def test_a_late_watcher_gets_the_history_then_the_live_tail_with_no_gap(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        await session.proctor("paste")
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        await session.answer(question["question_id"], LONG_ANSWER)
        offsets: list[int] = []
        kinds: list[str] = []
        # Everything up to the second question, replayed then live.
        while "answer" not in kinds or kinds.count("question") < 2:
            message = await watcher.receive_until("event")
            offsets.append(message["offset"])
            kinds.append(message["kind"])
        assert offsets == list(range(1, len(offsets) + 1))
        assert kinds[:3] == ["connection", "state", "question"]
        await session.close()
        await watcher.close()
    finally:
        await close_clients(iv)


async def test_a_watcher_that_reconnects_from_its_offset_misses_nothing(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        seen = [(await watcher.receive_until("event"))["offset"] for _ in range(3)]
        await watcher.close()
        # Meanwhile the candidate goes on.
        await session.proctor("tab_hidden")
        await session.answer(question["question_id"], LONG_ANSWER)
        watcher = await WatcherSession.open(iv.recruiter, iv.id, since=seen[-1])
        stored = await stored_events(server, iv.id)
        rest = [(await watcher.receive_until("event"))["offset"] for _ in range(len(stored) - 3)]
        assert seen + rest == [e["offset"] for e in stored]
        await watcher.close()
        await session.close()
    finally:
        await close_clients(iv)


async def test_an_injected_question_is_asked_next_and_the_recruiter_can_end(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        question = await session.next_question()
        ack = await watcher.inject_question("Why do you want to work with us?")
        assert ack["type"] == "ack"
        await session.answer(question["question_id"], LONG_ANSWER)
        injected = await session.next_question()
        assert injected["text"] == "Why do you want to work with us?"
        assert injected["source"] == "recruiter"
        ended = await watcher.end()
        assert ended["type"] == "ack"
        message = await session.receive_until("interview.ended")
        assert message["reason"] == "recruiter_ended"
        got = (await iv.candidate.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed" and got["state_reason"] == "recruiter_ended"
        await session.close()
        await watcher.close()
    finally:
        await close_clients(iv)


async def test_custom_questions_come_first_and_count_injected_ones_do_not(server):
    """As docs/protocol.md says: the plan's custom questions are main questions 1, 2, … asked
    first and counted in question_count; an injected question is asked first of all here
    (it was injected before the candidate joined), as main question 0, and is not counted."""
    custom = "What would you change first in our deployment process?"
    iv = await new_interview(
        server, question_count=2, follow_ups_per_question=0, custom_questions=[custom]
    )
    try:
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        assert (await watcher.inject_question("Why this job?"))["type"] == "ack"
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            questions = await play_to_the_end(session)
        asked = [(q["text"], q["kind"], q["index"], q["source"]) for q in questions]
        assert asked[:2] == [
            ("Why this job?", "main", 0, "recruiter"),
            (custom, "main", 1, "interviewer"),
        ]
        assert [q[1:] for q in asked[2:]] == [("main", 2, "interviewer")]
        assert [q["question_id"] for q in questions] == ["q1", "q2", "q3"]
        await watcher.close()
    finally:
        await close_clients(iv)


async def test_the_same_client_id_from_the_recruiter_and_the_candidate_is_two_messages(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        question = await session.next_question()
        injected = await watcher.request(
            {"type": "inject_question", "client_id": "x", "text": "Why us?"}
        )
        answered = await session.answer(question["question_id"], LONG_ANSWER, client_id="x")
        assert injected["type"] == answered["type"] == "ack"
        assert answered["offset"] != injected["offset"]
        stored = {e["offset"]: e for e in await stored_events(server, iv.id)}
        assert (stored[injected["offset"]]["kind"], stored[injected["offset"]]["client_id"]) == (
            "question.injected",
            "x",
        )
        assert stored[answered["offset"]]["kind"] == "answer"
        assert stored[answered["offset"]]["data"]["text"] == LONG_ANSWER
        # The answer counted: the injected question is asked next.
        assert (await session.next_question())["text"] == "Why us?"
        # Each resend is acked at its own sender's offset, also from a new socket.
        await watcher.close()
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        again = await watcher.request({"type": "inject_question", "client_id": "x", "text": "Why?"})
        assert again == injected
        await watcher.close()
        await session.close()
    finally:
        await close_clients(iv)


async def test_the_answer_clock_stands_still_while_the_candidate_is_away(server):
    iv = await new_interview(server, answer_time_limit_s=15)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        await asyncio.sleep(1)
        await session.close()  # the network drops, for longer than the whole answer limit
        await asyncio.sleep(17)
        back = await CandidateSession.open(iv.candidate, iv.id)
        again = await back.next_question()
        # Still the same question, with what was left at the drop (about 14 s).
        assert again["question_id"] == question["question_id"]
        assert 12 <= again["time_left_s"] <= 14.5, again
        kinds = [e["kind"] for e in await stored_events(server, iv.id)]
        assert "answer.timeout" not in kinds
        assert (await back.answer(again["question_id"], LONG_ANSWER))["type"] == "ack"
        await back.close()
    finally:
        await close_clients(iv)


async def test_screenshots_are_checked_stored_and_listed_with_signed_urls(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        image = jpeg(320, 240)
        ack = await session.screenshot(image)
        assert ack["type"] == "ack"
        not_an_image = await session.send_binary(
            screenshot_frame(b"GIF89a" + b"\0" * 100, "s-bad"), "s-bad"
        )
        assert (not_an_image["type"], not_an_image["code"]) == ("error", "bad_image")
        await asyncio.sleep(1.05)  # one screenshot a second
        big = jpeg(320, 240) + b"\0" * (600 * 1024)
        too_large = await session.send_binary(screenshot_frame(big, "s-big"), "s-big")
        assert (too_large["type"], too_large["code"]) == ("error", "too_large")
        artifacts = (await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")).json()["items"]
        assert len(artifacts) == 1
        artifact = artifacts[0]
        assert (artifact["width"], artifact["height"], artifact["size_bytes"]) == (
            320,
            240,
            len(image),
        )
        download = await iv.recruiter.get(artifact["url"], headers={"Authorization": ""})
        assert download.status_code == 200
        assert download.content == image and download.headers["content-type"] == "image/jpeg"
        tampered = await iv.recruiter.get(artifact["url"].replace("signature=", "signature=0"))
        assert tampered.status_code == 403
        stranger = await new_interview(server)
        assert (await stranger.candidate.get(f"/interviews/{iv.id}/artifacts")).status_code == 403
        await close_clients(stranger)
        kinds = [e["kind"] for e in await stored_events(server, iv.id)]
        assert kinds.count("screenshot") == 1
        await session.close()
    finally:
        await close_clients(iv)


async def test_bad_frames_get_an_error_and_the_session_goes_on(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        # question.done may go out before its event commits; an ack means all before it did.
        await session.proctor("window_focus")
        before = len(await stored_events(server, iv.id))
        bad_frames: list[tuple[Any, str]] = [
            ("{not json", "malformed"),
            ("[1, 2]", "malformed"),
            (orjson.dumps({"type": "dance", "client_id": "x1"}).decode(), "unknown_type"),
            (orjson.dumps({"type": "answer", "client_id": "x2"}).decode(), "invalid"),
            (
                orjson.dumps({"type": "proctor", "client_id": "x3", "signal": "sneeze"}).decode(),
                "invalid",
            ),
            (
                orjson.dumps(
                    {"type": "answer", "client_id": "x4", "question_id": "q99", "text": "hi"}
                ).decode(),
                "stale_question",
            ),
            (b"\x00\x00", "malformed"),
            (struct.pack(">I", 10_000) + b"{}", "malformed"),
            # Over 128 KiB: in bytes of UTF-8, not in characters (70,000 "é" are 140,000).
            ("a" * (128 * 1024 + 1), "too_large"),
            (
                orjson.dumps({"type": "proctor", "client_id": "x5", "pad": "é" * 70_000}).decode(),
                "too_large",
            ),
        ]
        for frame, code in bad_frames:
            await session.ws.send(frame)
            error = await session.receive_until("error")
            assert error["code"] == code, (frame, error)
        assert len(await stored_events(server, iv.id)) == before
        ack = await session.answer(question["question_id"], LONG_ANSWER)
        assert ack["type"] == "ack"
        await session.close()
    finally:
        await close_clients(iv)


async def _close_code_of(url: str, subprotocols: list[str] | None = None) -> int | None:
    async with websockets.connect(url, subprotocols=subprotocols or [SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 20)
        return ws.close_code


async def test_socket_refusals_have_their_close_codes(server):
    iv = await new_interview(server)
    other = await new_interview(server)
    try:
        base = f"/ws/interviews/{iv.id}"
        assert await _close_code_of(ws_url(server.url, f"{base}?ticket=nope")) == 4001
        assert await _close_code_of(ws_url(server.url, base)) == 4001
        ticket = await fetch_ticket(iv.candidate, iv.id)
        url = ws_url(server.url, ticket["url"])
        assert await _close_code_of(url, ["not-openhire"]) == 4000
        ticket = await fetch_ticket(iv.candidate, iv.id)
        url = ws_url(server.url, ticket["url"])
        async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == SUBPROTOCOL
            assert orjson.loads(await ws.recv())["type"] == "session.ready"
            # The same ticket, used again.
            assert await _close_code_of(url) == 4001
        # A candidate ticket for another interview's socket, and on the watch path.
        ticket = await fetch_ticket(iv.candidate, iv.id)
        wrong = ws_url(server.url, f"/ws/interviews/{other.id}?ticket={ticket['ticket']}")
        assert await _close_code_of(wrong) == 4003
        ticket = await fetch_ticket(iv.candidate, iv.id)
        watch = ws_url(server.url, f"{base}/watch?ticket={ticket['ticket']}")
        assert await _close_code_of(watch) == 4003
        # Someone else's interview: no ticket at all.
        assert (await other.candidate.post(f"/interviews/{iv.id}/ticket")).status_code == 403
        assert (await other.recruiter.post(f"/interviews/{iv.id}/ticket")).status_code == 403
        unknown = uuid.uuid4()
        assert (await iv.candidate.post(f"/interviews/{unknown}/ticket")).status_code == 404
    finally:
        await close_clients(iv)
        await close_clients(other)


async def test_an_unknown_interview_on_the_socket_says_no_more_than_the_ticket_allows(server):
    """4004 is for an interview the ticket was issued for that is gone (its job deleted
    since), or an id that cannot be one; an id the ticket is not for gets 4003 whether or not
    it exists (a ticket holder learns nothing about other interviews), and no ticket 4001."""
    iv = await new_interview(server)
    try:
        ticket = (await fetch_ticket(iv.candidate, iv.id))["ticket"]
        unknown = uuid.uuid4()
        assert await _close_code_of(ws_url(server.url, f"/ws/interviews/{unknown}")) == 4001
        # Not an id at all: refused before the ticket is looked at, which stays unused.
        assert (
            await _close_code_of(ws_url(server.url, f"/ws/interviews/nope?ticket={ticket}")) == 4004
        )
        assert (
            await _close_code_of(ws_url(server.url, f"/ws/interviews/{unknown}?ticket={ticket}"))
            == 4003
        )
        ticket = (await fetch_ticket(iv.candidate, iv.id))["ticket"]
        assert (await iv.recruiter.delete(f"/jobs/{iv.job_id}")).status_code == 204
        assert (
            await _close_code_of(ws_url(server.url, f"/ws/interviews/{iv.id}?ticket={ticket}"))
            == 4004
        )
    finally:
        await close_clients(iv)


async def test_an_ended_interview_refuses_new_sockets(server):
    iv = await new_interview(server, question_count=1, follow_ups_per_question=0)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await play_to_the_end(session)
        resp = await iv.candidate.post(f"/interviews/{iv.id}/ticket")
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "interview_ended"
    finally:
        await close_clients(iv)


async def test_server_killed_mid_interview_loses_nothing_acked_and_the_interview_goes_on(
    make_server,
):
    srv = make_server()
    srv.start()
    iv = await new_interview(srv)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        acked = [await session.proctor("tab_hidden"), await session.proctor("tab_visible")]
        acked.append(await session.answer(question["question_id"], LONG_ANSWER))
        srv.kill()  # SIGKILL: no shutdown, no goodbye
        await session.receive_until("_closed")
        srv.start()
        stored = {e["client_id"]: e for e in await stored_events(srv, iv.id) if e["client_id"]}
        for ack in acked:
            assert stored[ack["client_id"]]["offset"] == ack["offset"]
        resumed = await CandidateSession.open(iv.candidate, iv.id)
        assert resumed.ready["resumed"] is True
        assert resumed.ready["last_client_id"] == acked[-1]["client_id"]
        # The second question, being written when the server died, is asked again.
        questions = await play_to_the_end(resumed)
        assert [q["index"] for q in questions] == [2]
        await resumed.close()
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed"
        events = await stored_events(srv, iv.id)
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1))
        assert sum(1 for e in events if e["kind"] == "answer") == 2
        # The server's outage is its own: not time away, not a disconnection of the
        # candidate's, and no concern; it is listed as what it was.
        proctoring = got["evaluation"]["proctoring"]
        assert proctoring["times_away"] == 1 and proctoring["total_time_away_s"] < 1
        assert proctoring["disconnections"] == 0
        assert [g["kind"] for g in proctoring["gaps"]] == ["tab_hidden", "server_restart"]
        assert not [c for c in got["evaluation"]["concerns"] if "connection" in c]
    finally:
        await close_clients(iv)


async def test_a_graceful_restart_tells_clients_to_reconnect(make_server):
    srv = make_server()
    srv.start()
    iv = await new_interview(srv)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        await session.next_question()
        stop = asyncio.get_running_loop().run_in_executor(None, srv.stop)
        closed = await session.receive_until("_closed", timeout=20)
        assert closed["code"] == 1012
        assert (await watcher.receive_until("_closed", timeout=20))["code"] == 1012
        assert await stop == 130
        srv.start()
        resumed = await CandidateSession.open(iv.candidate, iv.id)
        assert resumed.ready["resumed"] is True
        question = await resumed.next_question()
        assert question["index"] == 1
        await resumed.close()
        # The candidate did not leave: the server did, and the log says so.
        drops = [
            e["data"]
            for e in await stored_events(srv, iv.id)
            if e["kind"] == "connection" and e["data"]["status"] == "disconnected"
        ]
        assert drops[0]["cause"] == "server_restart"
    finally:
        await close_clients(iv)


async def test_an_oversized_frame_closes_with_1009_and_stores_nothing(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        before = len(await stored_events(server, iv.id))
        frame = screenshot_frame(jpeg() + b"\0" * (2 * 1024 * 1024), "s-huge")
        with contextlib.suppress(websockets.ConnectionClosed):
            await session.ws.send(frame)
        closed = await session.receive_until("_closed")
        assert closed["code"] == 1009
        # Only the disconnection is logged; no screenshot.
        kinds = [e["kind"] for e in (await stored_events(server, iv.id))[before:]]
        assert "screenshot" not in kinds
    finally:
        await close_clients(iv)


async def _flood(session: Any, messages: list[dict[str, Any]]) -> tuple[dict[str, int], int]:
    """Send ``messages`` as fast as possible, then read until the socket closes: the acks
    received (client id -> offset) and the close code."""
    with contextlib.suppress(websockets.ConnectionClosed):
        for message in messages:
            await session.ws.send(orjson.dumps(message).decode())
    acked: dict[str, int] = {}
    while (message := await session.receive(15))["type"] != "_closed":
        if message["type"] == "ack":
            acked[message["client_id"]] = message["offset"]
    return acked, message["code"]


async def test_flooding_the_socket_acks_what_was_read_then_closes_as_rate_limited(server):
    """Past its burst allowance (60 messages) a candidate socket is closed with 4029; every
    message read before that is stored and acked before the close, none after is stored."""
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        flood = [{"type": "proctor", "client_id": f"f{n}", "signal": "paste"} for n in range(200)]
        acked, code = await _flood(session, flood)
        assert code == 4029
        stored = {
            e["client_id"]: e["offset"]
            for e in await stored_events(server, iv.id)
            if e["kind"] == "proctor"
        }
        # The burst, and perhaps a few the bucket refilled while they were sent.
        assert 60 <= len(stored) < 200
        # Nothing stored that the client was not told about: resending what was not acked
        # after a reconnect is enough.
        assert acked == stored
        again = await CandidateSession.open(iv.candidate, iv.id)
        assert again.ready["last_client_id"] == max(stored, key=stored.__getitem__)
        await again.close()
    finally:
        await close_clients(iv)


async def test_a_watchers_bad_frames_get_an_error_and_the_socket_goes_on(server):
    iv = await new_interview(server)
    try:
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        bad_frames: list[tuple[Any, str]] = [
            (b"\x00\x00\x00\x02{}", "malformed"),
            ("{not json", "malformed"),
            (orjson.dumps({"type": "answer", "client_id": "x1"}).decode(), "unknown_type"),
            (orjson.dumps({"type": "inject_question", "client_id": "x2"}).decode(), "invalid"),
            (
                orjson.dumps({"type": "end", "client_id": "x3", "pad": "é" * 70_000}).decode(),
                "too_large",
            ),
        ]
        for frame, code in bad_frames:
            await watcher.ws.send(frame)
            error = await watcher.receive_until("error")
            assert error["code"] == code, (frame, error)
        assert not await stored_events(server, iv.id)
        ack = await watcher.inject_question("Why this job?")
        assert ack["type"] == "ack"
        await watcher.close()
    finally:
        await close_clients(iv)


async def test_a_flooding_watcher_gets_its_acks_before_4029(server):
    """The same for a watcher, whose allowance is 20 at once."""
    iv = await new_interview(server)
    try:
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        flood = [
            {"type": "inject_question", "client_id": f"w{n}", "text": f"Question {n}?"}
            for n in range(60)
        ]
        acked, code = await _flood(watcher, flood)
        assert code == 4029
        stored = {
            e["client_id"]: e["offset"]
            for e in await stored_events(server, iv.id)
            if e["kind"] == "question.injected"
        }
        assert 20 <= len(stored) < 60
        assert acked == stored
    finally:
        await close_clients(iv)
