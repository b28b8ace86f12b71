"""Live interviews over real sockets against a real server and its embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from typing import Any

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
            await asyncio.sleep(0.2)
            assert session.close_code == 1000
        assert [(q["kind"], q["index"]) for q in questions] == [("main", 1), ("main", 2)]
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed"
        assert got["state_reason"] == "all_questions_answered"
        evaluation = got["evaluation"]
        assert {c["name"] for c in evaluation["criteria"]} == {
            "Technical depth", "Problem solving", "Communication",
        }  # fmt: skip
        for criterion in evaluation["criteria"]:
            for evidence in criterion["evidence"]:
                assert evidence["quote"] in LONG_ANSWER
        assert evaluation["proctoring"]["counts"] == {}
        application = (await iv.recruiter.get(f"/applications/{iv.application_id}")).json()
        assert application["status"] == "reviewing"
        events = await stored_events(server, iv.id)
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["kind"] == "state" and events[-1]["data"]["state"] == "completed"
    finally:
        await close_clients(iv)


async def test_every_ack_comes_after_its_message_is_committed(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            question = await session.next_question()
            for signal in ("tab_hidden", "tab_visible", "paste"):
                ack = await session.proctor(signal)
                # The ack names an offset; that offset is already in the database.
                stored = {e["offset"]: e for e in await stored_events(server, iv.id)}
                assert stored[ack["offset"]]["client_id"] == ack["client_id"]
                assert stored[ack["offset"]]["data"] == {"signal": signal}
            ack = await session.answer(question["question_id"], LONG_ANSWER)
            stored = {e["offset"]: e for e in await stored_events(server, iv.id)}
            assert stored[ack["offset"]]["kind"] == "answer"
    finally:
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
            await asyncio.wait_for(ws.recv(), 5)
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
        got = (await iv.candidate.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed"
        events = await stored_events(srv, iv.id)
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1))
        assert sum(1 for e in events if e["kind"] == "answer") == 2
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


async def test_flooding_the_socket_closes_it_as_rate_limited(server):
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        try:
            for n in range(200):
                await session.ws.send(
                    orjson.dumps(
                        {"type": "proctor", "client_id": f"f{n}", "signal": "paste"}
                    ).decode()
                )
        except websockets.ConnectionClosed:
            pass
        closed = await session.receive_until("_closed")
        assert closed["code"] == 4029
        # What was accepted before the close commits shortly after it: wait for it.
        for _ in range(50):
            proctor = [e for e in await stored_events(server, iv.id) if e["kind"] == "proctor"]
            if proctor:
                break
            await asyncio.sleep(0.1)
        assert 0 < len(proctor) < 200
    finally:
        await close_clients(iv)
