"""Spoken answers in the pure state machine (InterviewSession.voice_answer): logged, acked
after commit and restored exactly as typed answers are."""

from __future__ import annotations

from typing import Any

from server.sessions.actions import Persist, Recording, RequestQuestion
from server.sessions.session import InterviewSession, Phase
from tests.test_session import LONG, T0, ask, commit_all, config, of, persisted, sent, started

SENDER = "candidate:00000000-0000-0000-0000-000000000001"
KEY = "recordings/iv-1/answer-q1-1.wav"


def voice(**overrides: Any) -> dict[str, Any]:
    return {
        "blob_key": KEY,
        "content_type": "audio/wav",
        "size_bytes": 10,
        "speech_start": "2027-01-15T08:00:01+00:00",
        "speech_end": "2027-01-15T08:00:05+00:00",
        "model": "whisper-1",
        "transcribed": True,
        **overrides,
    }


def test_a_typed_interview_does_not_listen() -> None:
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    assert session.listening_for() is None


def test_a_spoken_answer_is_logged_with_its_audio_and_acked_after_commit() -> None:
    session, actions = started(answer_mode="voice")
    assert session.listening_for() is None  # no question yet
    qid = ask(session, actions, "Question one?", T0 + 1)
    assert session.listening_for() == qid
    recording = Recording(KEY, "audio/wav", 10)
    out = session.voice_answer(qid, LONG, voice(), recording, f"voice:{qid}", SENDER, T0 + 6)
    (entry,) = [e for e in persisted(out) if e.kind == "answer"]
    assert entry.data["source"] == "voice" and entry.data["text"] == LONG
    assert entry.data["blob_key"] == KEY and entry.client_id == f"voice:{qid}"
    (persist,) = [p for p in of(out, Persist) if p.entry.kind == "answer"]
    assert persist.recording == recording  # its artifact row, in the same transaction
    assert session.listening_for() is None  # answered: the next question is being written
    assert not [m for m in sent(out) if m.type == "ack"]
    acks = [m for m in sent(commit_all(session)) if m.type == "ack"]
    assert [(a.client_id, a.offset) for a in acks] == [(f"voice:{qid}", entry.offset)]
    # The transcript (what is scored) is the text, as if typed.
    assert session.transcript()[0].answer == LONG


def test_a_spoken_answer_after_its_question_stopped_waiting_is_kept_not_scored() -> None:
    session, actions = started(answer_mode="either")
    qid = ask(session, actions, "Question one?", T0 + 1)
    session.timer_fired("answer", T0 + 62)  # timed out meanwhile
    out = session.voice_answer(qid, "late words", voice(), None, f"voice:{qid}", SENDER, T0 + 63)
    (entry,) = persisted(out)
    assert entry.kind == "answer.late" and entry.client_id is None
    assert session.transcript()[0].answer is None


def test_a_restored_session_has_the_spoken_answer() -> None:
    session, actions = started(answer_mode="voice", question_count=2, follow_ups_per_question=0)
    (request,) = of(actions, RequestQuestion)
    asked = session.question_ready(request.question_id, "Question one?", T0 + 1)
    qid = request.question_id
    out = session.voice_answer(qid, LONG, voice(), None, f"voice:{qid}", SENDER, T0 + 6)
    events = [*persisted(actions), *persisted(asked), *persisted(out)]
    restored = InterviewSession.restore("iv-1", config(answer_mode="voice"), events)
    assert restored.transcript()[0].answer == LONG
    assert restored.phase is not Phase.AWAITING_ANSWER


def test_a_spoken_answer_that_started_is_logged_open_and_a_restart_knows_it_was_lost() -> None:
    """``answer.started`` (no client id, never acked) marks a spoken answer open until its
    answer or timeout: a session rebuilt from that log knows the answer was lost."""
    session, actions = started(answer_mode="voice", question_count=2, follow_ups_per_question=0)
    (request,) = of(actions, RequestQuestion)
    asked = session.question_ready(request.question_id, "Question one?", T0 + 1)
    qid = request.question_id
    assert session.voice_started("q-other", T0 + 2) == []  # not the question waiting
    out = session.voice_started(qid, T0 + 2)
    (entry,) = persisted(out)
    assert (entry.kind, entry.data, entry.client_id) == (
        "answer.started",
        {"question_id": qid},
        None,
    )
    assert not [m for m in sent(commit_all(session)) if m.type == "ack"]
    assert session.open_spoken_answer() == qid
    events = [*persisted(actions), *persisted(asked), *persisted(out)]
    restored = InterviewSession.restore("iv-1", config(answer_mode="voice"), events)
    assert restored.open_spoken_answer() == qid
    # Committed, the answer is no longer open, live or rebuilt.
    answered = session.voice_answer(qid, LONG, voice(), None, f"voice:{qid}", SENDER, T0 + 6)
    assert session.open_spoken_answer() is None
    restored = InterviewSession.restore(
        "iv-1", config(answer_mode="voice"), [*events, *persisted(answered)]
    )
    assert restored.open_spoken_answer() is None


def test_a_timed_out_question_has_no_open_spoken_answer() -> None:
    session, actions = started(answer_mode="voice")
    qid = ask(session, actions, "Question one?", T0 + 1)
    session.voice_started(qid, T0 + 2)
    session.timer_fired("answer", T0 + 62)
    assert session.open_spoken_answer() is None
    assert session.voice_started(qid, T0 + 63) == []
