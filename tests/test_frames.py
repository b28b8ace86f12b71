"""Outgoing frames are encoded once per message, however many sockets it goes to
(server/protocol/codec.py), and each frame is still that message's own JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from server.protocol.codec import encode
from server.protocol.messages import Event, QuestionDelta


def test_a_message_sent_to_many_sockets_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    original = QuestionDelta.model_dump_json

    def counted(self: QuestionDelta, **kwargs: Any) -> str:
        calls.append(self)
        return original(self, **kwargs)

    monkeypatch.setattr(QuestionDelta, "model_dump_json", counted)
    delta = QuestionDelta(question_id="q1", text="Tell me about a release.")
    frames = [encode(delta) for _ in range(3)]  # the candidate and two watchers
    assert len(calls) == 1
    assert frames[0] is frames[1] is frames[2]
    assert orjson.loads(frames[0]) == {
        "type": "question.delta",
        "question_id": "q1",
        "text": "Tell me about a release.",
    }


def test_each_message_gets_its_own_frame_whatever_the_order() -> None:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    a = QuestionDelta(question_id="q1", text="first")
    b = Event(offset=7, at=at, kind="answer", data={"question_id": "q1", "text": "an answer"})
    a_again = QuestionDelta(question_id="q1", text="first")  # equal, not the same object
    c = QuestionDelta(question_id="q1", text="second")
    frames = [encode(m) for m in (a, b, a, a_again, c, b)]
    assert [orjson.loads(f) for f in frames] == [
        orjson.loads(m.model_dump_json()) for m in (a, b, a, a_again, c, b)
    ]
    assert orjson.loads(frames[4])["text"] == "second"
    assert orjson.loads(frames[5])["offset"] == 7
