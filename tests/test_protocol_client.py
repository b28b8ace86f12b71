"""The client's side of ``openhire.v1`` (``clients/interview_client.py`` on ``server.protocol``):
what a client sends is what the server's decoders take, what the server encodes is what a
client decodes, and a session refuses a frame the protocol does not define. Pure, but for the
last test, which uses a real socket pair on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from clients.interview_client import (
    CandidateSession,
    answer_frame,
    connect,
    decode,
    end_frame,
    inject_question_frame,
    proctor_frame,
    screenshot_frame,
    ws_url,
)
from server.protocol import SUBPROTOCOL
from server.protocol.codec import (
    ProtocolError,
    decode_candidate,
    decode_screenshot,
    decode_watcher,
    encode,
)
from server.protocol.codes import ErrorCode
from server.protocol.messages import (
    Ack,
    Answer,
    End,
    Error,
    Event,
    InjectQuestion,
    InterviewEnded,
    Proctor,
    QuestionDelta,
    QuestionDone,
    ServerMessage,
    SessionReady,
    TimeWarning,
)

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EVERY_SERVER_MESSAGE: list[ServerMessage] = [
    SessionReady(
        interview_id="i1",
        state="in_progress",
        resumed=True,
        offset=7,
        last_client_id="a-1",
        role="watcher",
        screenshot_interval_s=1.0,
    ),
    QuestionDelta(question_id="q1", text="Tell me "),
    QuestionDone(
        question_id="q1",
        text="Tell me about a hard bug.",
        kind="follow_up",
        index=2,
        time_limit_s=120,
        source="recruiter",
        time_left_s=30.5,
    ),
    Ack(client_id="a-1", offset=8),
    TimeWarning(scope="answer", seconds_left=20, question_id="q1"),
    InterviewEnded(reason="all_questions_answered"),
    Error(code="stale_question", message="not the current question", client_id="a-2"),
    Event(offset=9, at=AT, kind="answer", data={"question_id": "q1", "text": "I bisected it."}),
]


@pytest.mark.parametrize("message", EVERY_SERVER_MESSAGE, ids=lambda m: str(m.type))
def test_a_client_decodes_every_message_the_server_encodes(message: ServerMessage) -> None:
    assert decode(encode(message)) == message
    assert decode(encode(message).encode()) == message


def test_a_client_refuses_what_the_protocol_does_not_define() -> None:
    def refused(frame: str) -> tuple[str, str]:
        with pytest.raises(ProtocolError) as caught:
            decode(frame)
        return caught.value.code, caught.value.message

    assert refused("not json")[0] == ErrorCode.MALFORMED
    assert refused("[1, 2]")[0] == ErrorCode.MALFORMED
    code, message = refused('{"type": "rtc.candidate", "sdp": "v=0"}')
    assert code == ErrorCode.UNKNOWN_TYPE and "'rtc.candidate'" in message
    assert refused('{"type": "ack", "offset": 3}') == (
        ErrorCode.INVALID,
        "ack: client_id: Field required",
    )
    assert refused('{"type": "ack", "client_id": "a", "offset": "three"}')[0] == ErrorCode.INVALID
    # A field a newer server adds is no reason to refuse the message.
    assert decode('{"type": "ack", "client_id": "a", "offset": 3, "new": 1}') == Ack(
        client_id="a", offset=3
    )


def test_what_a_client_sends_is_what_the_server_takes() -> None:
    assert decode_candidate(answer_frame("a-1", "q1", "I bisected it.")) == Answer(
        type="answer", client_id="a-1", question_id="q1", text="I bisected it."
    )
    assert decode_candidate(proctor_frame("p-1", "tab_hidden")) == Proctor(
        type="proctor", client_id="p-1", signal="tab_hidden"
    )
    assert decode_candidate(end_frame("e-1")) == End(type="end", client_id="e-1")
    assert decode_watcher(end_frame("e-2")) == End(type="end", client_id="e-2")
    assert decode_watcher(inject_question_frame("w-1", "Why us?")) == InjectQuestion(
        type="inject_question", client_id="w-1", text="Why us?"
    )
    header, image = decode_screenshot(screenshot_frame(b"\xff\xd8\xff pixels", "s-1"))
    assert (header.client_id, image) == ("s-1", b"\xff\xd8\xff pixels")
    assert abs((header.taken_at - datetime.now(UTC)).total_seconds()) < 60
    header, _ = decode_screenshot(screenshot_frame(b"x", "s-2", "2026-03-01T09:30:00+00:00"))
    assert header.taken_at == AT


@pytest.fixture
async def odd_server() -> AsyncIterator[str]:
    """A socket that greets like OpenHire, acks one answer, then sends a frame the protocol
    has no message for."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(encode(EVERY_SERVER_MESSAGE[0]))
        message: dict[str, Any] = orjson.loads(await ws.recv())
        await ws.send(encode(Ack(client_id=message["client_id"], offset=8)))
        await ws.send('{"type": "question.done", "question_id": "q2"}')
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"


async def test_a_session_ends_on_a_frame_the_protocol_does_not_define(odd_server: str) -> None:
    # No HTTP here for a ticket: hand the session the socket CandidateSession.open would open.
    session = CandidateSession(await connect(ws_url(odd_server, "/ws/interviews/i1?ticket=t")))
    ready = await session.receive_until("session.ready")
    assert ready["resumed"] is True
    assert (await session.answer("q1", "I bisected it."))["offset"] == 8
    with pytest.raises(ProtocolError, match=r"question\.done: text: Field required"):
        await session.next_question()
    with pytest.raises(ProtocolError):
        await session.close()
    assert session.close_code == 1000
