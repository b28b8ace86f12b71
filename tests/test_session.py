"""Pure tests of InterviewSession: events in, actions out. No sockets, no clock, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from server.protocol.messages import Answer, End, InjectQuestion, Proctor, ScreenshotHeader
from server.sessions.actions import (
    ArmTimer,
    CancelTimer,
    CloseCandidate,
    Finished,
    Persist,
    RequestEvaluation,
    RequestQuestion,
    Reset,
    Screenshot,
    SendCandidate,
    SendWatcher,
    Started,
)
from server.sessions.session import InterviewSession, Phase, SessionConfig
from server.store.interview_log import Append

T0 = 1_800_000_000.0


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


LONG = " ".join(["because"] * 40)  # an answer long enough not to be thin


def config(**overrides: Any) -> SessionConfig:
    values: dict[str, Any] = {
        "question_count": 2,
        "follow_ups_per_question": 1,
        "answer_time_limit_s": 60,
        "total_time_limit_s": 600,
    }
    values.update(overrides)
    return SessionConfig(**values)


def of(actions: list[Any], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def persisted(actions: list[Any]) -> list[Any]:
    return [a.entry for a in of(actions, Persist)]


def sent(actions: list[Any]) -> list[Any]:
    return [a.message for a in of(actions, SendCandidate)]


def started(**overrides: Any) -> tuple[InterviewSession, list[Any]]:
    session = InterviewSession("iv-1", config(**overrides))
    return session, session.connect_candidate(T0)


def ask(session: InterviewSession, actions: list[Any], text: str, now: float) -> str:
    (request,) = of(actions, RequestQuestion)
    session.question_delta(request.question_id, text[:5])
    out = session.question_ready(request.question_id, text, now)
    assert session.phase is Phase.AWAITING_ANSWER
    assert any(m.type == "question.done" for m in sent(out))
    return str(request.question_id)


def answer(cid: str, qid: str, text: str = LONG) -> Answer:
    return Answer(type="answer", client_id=cid, question_id=qid, text=text)


def commit_all(session: InterviewSession) -> list[Any]:
    return session.committed(session.next_offset - 1)


def log_rows(events: list[Any]) -> list[Any]:
    """Entries as restore reads them from the database: as the session proposed them."""
    return list(events)


def test_first_connection_starts_the_interview_and_asks_the_first_main_question():
    session, actions = started()
    kinds = [e.kind for e in persisted(actions)]
    assert kinds == ["connection", "state"]
    assert of(actions, Persist)[1].milestone == Started(datetime.fromtimestamp(T0, UTC))
    (request,) = of(actions, RequestQuestion)
    assert (request.kind, request.index) == ("main", 1)
    assert {t.name for t in of(actions, ArmTimer)} == {"total", "total_warning"}
    assert session.phase is Phase.ASKING


def test_offsets_are_dense_and_start_at_one():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_candidate(answer("a1", qid), T0 + 2)
    offsets = [e.offset for e in persisted(actions)] + [e.offset for e in persisted(out)]
    assert offsets[:2] == [1, 2]
    everything = [1, 2, 3, 4]  # connection, state, question, answer
    assert sorted([*offsets, 3])[: len(everything)] == everything


def test_ack_is_sent_only_after_commit():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_candidate(answer("a1", qid), T0 + 2)
    assert not [m for m in sent(out) if m.type == "ack"]
    (event,) = [e for e in persisted(out) if e.kind == "answer"]
    assert session.committed(event.offset - 1) == []  # not yet
    acks = sent(session.committed(event.offset))
    assert [(a.type, a.client_id, a.offset) for a in acks] == [("ack", "a1", event.offset)]
    assert session.last_acked_candidate_id == "a1"


def test_a_resent_message_is_stored_once_and_acked_again():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    first = session.receive_candidate(answer("a1", qid), T0 + 2)
    offset = next(e.offset for e in persisted(first) if e.kind == "answer")
    # Resent before the commit: nothing stored, the ack comes once at commit.
    assert session.receive_candidate(answer("a1", qid), T0 + 3) == []
    commit_all(session)
    again = session.receive_candidate(answer("a1", qid), T0 + 4)
    assert persisted(again) == []
    assert [(m.type, m.offset) for m in sent(again)] == [("ack", offset)]


def test_an_answer_to_another_question_is_refused_and_not_stored():
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_candidate(answer("a1", "q99"), T0 + 2)
    assert persisted(out) == []
    (error,) = sent(out)
    assert (error.type, error.code, error.client_id) == ("error", "stale_question", "a1")


def test_a_thin_answer_gets_a_follow_up_then_the_next_main_question():
    session, actions = started()
    qid = ask(session, actions, "Tell me about Python?", T0 + 1)
    out = session.receive_candidate(answer("a1", qid, "I use it."), T0 + 2)
    (request,) = of(out, RequestQuestion)
    assert (request.kind, request.index) == ("follow_up", 1)
    fid = ask(session, out, "Can you give an example?", T0 + 3)
    out = session.receive_candidate(answer("a2", fid, "Not really."), T0 + 4)
    (request,) = of(out, RequestQuestion)
    # The one follow-up allowed is used: on to main question 2, thin or not.
    assert (request.kind, request.index) == ("main", 2)


def test_after_the_last_main_question_the_interview_is_evaluated_then_completed():
    session, actions = started(question_count=1, follow_ups_per_question=0)
    qid = ask(session, actions, "Only question?", T0 + 1)
    out = session.receive_candidate(answer("a1", qid), T0 + 2)
    assert of(out, RequestEvaluation) == [RequestEvaluation("all_questions_answered")]
    assert session.phase is Phase.EVALUATING
    end = session.evaluation_ready({"overall_score": 4.0}, T0 + 3)
    kinds = [e.kind for e in persisted(end)]
    assert kinds == ["evaluation", "state"]
    concluded = of(end, Persist)[-1].milestone
    assert (concluded.state, concluded.reason) == ("completed", "all_questions_answered")
    assert concluded.evaluation == {"overall_score": 4.0}
    # Completing the interview hands the application on to the recruiter's review.
    assert concluded.to_review
    # interview.ended goes out with the close, once the state event is committed.
    assert sent(end) == []
    (close,) = of(end, CloseCandidate)
    assert close.code == 1000 and close.final is not None
    assert (close.final.type, close.final.reason) == ("interview.ended", "all_questions_answered")
    assert of(end, Finished) == [Finished("completed", "all_questions_answered")]
    assert session.phase is Phase.ENDED


def test_an_unanswered_question_times_out_and_the_interview_moves_on():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    warn = session.timer_fired("answer_warning", T0 + 50)
    (warning,) = sent(warn)
    assert (warning.type, warning.scope, warning.question_id) == ("time.warning", "answer", qid)
    assert warning.seconds_left == 11
    out = session.timer_fired("answer", T0 + 61)
    assert [e.kind for e in persisted(out)] == ["answer.timeout"]
    assert session.transcript()[0].status == "timed_out"
    (request,) = of(out, RequestQuestion)
    assert (request.kind, request.index) == ("main", 2)  # no follow-up to silence


def test_total_time_up_ends_the_interview():
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    out = session.timer_fired("total", T0 + 600)
    assert of(out, RequestEvaluation) == [RequestEvaluation("time_up")]
    assert CancelTimer("answer") in out


def test_an_injected_question_is_asked_next_without_the_interviewer():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_watcher(
        "w1", InjectQuestion(type="inject_question", client_id="i1", text="Why us?"), T0 + 2
    )
    assert [e.kind for e in persisted(out)] == ["question.injected"]
    ack = session.committed(session.next_offset - 1)
    assert [type(a) for a in ack] == [SendWatcher]
    out = session.receive_candidate(answer("a1", qid), T0 + 3)
    assert of(out, RequestQuestion) == []
    (question,) = [e for e in persisted(out) if e.kind == "question"]
    assert question.data["text"] == "Why us?" and question.data["source"] == "recruiter"
    assert session.current_question is not None
    assert session.current_question.text == "Why us?"


def test_end_from_the_candidate_and_from_a_watcher():
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_candidate(End(type="end", client_id="e1"), T0 + 2)
    assert of(out, RequestEvaluation) == [RequestEvaluation("candidate_ended")]
    session2, _actions2 = started()
    out2 = session2.receive_watcher("w1", End(type="end", client_id="e2"), T0 + 2)
    assert of(out2, RequestEvaluation) == [RequestEvaluation("recruiter_ended")]


def test_messages_after_the_end_are_refused():
    session, actions = started(question_count=1, follow_ups_per_question=0)
    qid = ask(session, actions, "Only?", T0 + 1)
    session.receive_candidate(answer("a1", qid), T0 + 2)
    out = session.receive_candidate(Proctor(type="proctor", client_id="p1", signal="paste"), T0 + 3)
    assert persisted(out) == []
    assert sent(out)[0].code == "interview_ended"


def test_screenshots_are_rate_limited_and_logged_with_a_blob_key():
    session, _ = started()
    header = ScreenshotHeader(type="screenshot", client_id="s1", taken_at=datetime.now(UTC))
    out = session.receive_screenshot(
        header, image=b"jpeg", content_type="image/jpeg", width=640, height=480, now=T0 + 5
    )
    (persist,) = of(out, Persist)
    event = persist.entry
    assert event.kind == "screenshot" and persist.screenshot == Screenshot(b"jpeg", "image/jpeg")
    # The session knows nothing of where blobs go; the log names the blob when it stores it.
    assert "blob_key" not in event.data and session._pending[event.offset] == event
    interview_id = uuid.uuid4()
    stored = Append.of(interview_id, persist).entry
    assert stored.data["blob_key"] == f"screenshots/{interview_id}/{event.offset:06d}.jpg"
    assert {k: v for k, v in stored.data.items() if k != "blob_key"} == event.data
    header2 = ScreenshotHeader(type="screenshot", client_id="s2", taken_at=datetime.now(UTC))
    too_soon = session.receive_screenshot(
        header2, image=b"jpeg", content_type="image/jpeg", width=640, height=480, now=T0 + 5.5
    )
    assert persisted(too_soon) == [] and sent(too_soon)[0].code == "rate_limited"


def test_proctoring_summary_counts_signals_and_time_away():
    session, _ = started()
    session.receive_candidate(Proctor(type="proctor", client_id="p1", signal="tab_hidden"), T0 + 10)
    session.receive_candidate(
        Proctor(type="proctor", client_id="p2", signal="tab_visible"), T0 + 25
    )
    session.receive_candidate(Proctor(type="proctor", client_id="p3", signal="paste"), T0 + 30)
    session.disconnect_candidate(T0 + 40)
    session.connect_candidate(T0 + 45)
    summary = session.proctoring_summary(T0 + 50)
    assert summary.counts == {"tab_hidden": 1, "tab_visible": 1, "paste": 1}
    # Time away is the hidden tab's; the dropped connection is a disconnection, not time away.
    assert (summary.times_away, summary.longest_time_away_s, summary.total_time_away_s) == (
        1,
        15.0,
        15.0,
    )
    assert (summary.disconnections, summary.total_disconnected_s) == (1, 5.0)
    assert [(g.kind, g.duration_s) for g in summary.gaps] == [
        ("tab_hidden", 15.0),
        ("network_drop", 5.0),
    ]


def test_a_dropped_candidate_has_a_grace_period_then_the_interview_is_abandoned():
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    out = session.disconnect_candidate(T0 + 2)
    (timer,) = of(out, ArmTimer)
    assert timer.name == "grace" and timer.at == T0 + 2 + 120
    out = session.timer_fired("grace", T0 + 122)
    state = next(e for e in persisted(out) if e.kind == "state")
    assert state.data == {"state": "abandoned", "reason": "candidate_left"}


def test_reconnecting_within_the_grace_period_cancels_it():
    session, actions = started()
    ask(session, actions, "Question one?", T0 + 1)
    session.disconnect_candidate(T0 + 2)
    out = session.connect_candidate(T0 + 10)
    assert CancelTimer("grace") in out
    assert persisted(out)[0].data["resumed"] is True
    assert session.timer_fired("grace", T0 + 122) == []


def test_restore_from_the_log_rebuilds_the_session_where_it_stopped():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    out = session.question_ready(request.question_id, "Question one?", T0 + 1)
    log += persisted(out)
    log += persisted(session.receive_candidate(answer("a1", request.question_id, "short"), T0 + 2))
    proctor = Proctor(type="proctor", client_id="p1", signal="paste")
    log += persisted(session.receive_candidate(proctor, T0 + 3))
    commit_all(session)

    rows = log_rows(log)
    assert [r.offset for r in rows] == list(range(1, len(rows) + 1))
    restored = InterviewSession.restore("iv-1", config(), rows)
    assert restored.next_offset == session.next_offset
    assert restored.last_acked_candidate_id == "p1"
    assert [t.answer for t in restored.transcript()] == ["short"]
    assert restored.proctoring_summary().counts == {"paste": 1}
    # A resent message from before the restart is recognised and acked, not stored again.
    again = restored.receive_candidate(answer("a1", request.question_id, "short"), T0 + 4)
    assert persisted(again) == [] and sent(again)[0].type == "ack"
    out = restored.resume(T0 + 5)
    # The follow-up being generated when the log stopped is asked for again.
    (follow_up,) = of(out, RequestQuestion)
    assert follow_up.kind == "follow_up"
    assert {t.name for t in of(out, ArmTimer)} >= {"total", "grace"}


def test_restore_mid_answer_keeps_the_time_left_when_the_server_stopped():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    log += persisted(session.question_ready(request.question_id, "Question one?", T0 + 1))
    log += persisted(
        session.receive_candidate(Proctor(type="proctor", client_id="p1", signal="paste"), T0 + 11)
    )
    # The server dies some time after T0 + 11 (its last logged event) and is back at T0 + 30.
    restored = InterviewSession.restore("iv-1", config(), log_rows(log))
    out = restored.resume(T0 + 30)
    (outage,) = persisted(out)
    assert outage.data["cause"] == "server_restart" and outage.data["since"] == iso(T0 + 11)
    # Nobody is connected: the answer clock stands still, no answer timer runs.
    assert "answer" not in {t.name for t in of(out, ArmTimer)}
    done = restored.question_done_message(T0 + 30)
    assert done is not None and done.time_left_s == 50.0
    # The candidate is back at T0 + 40: the 50 s left at T0 + 11 run from now.
    back = restored.connect_candidate(T0 + 40)
    timers = {t.name: t.at for t in of(back, ArmTimer)}
    assert timers["answer"] == T0 + 40 + 50
    done = restored.question_done_message(T0 + 45)
    assert done is not None and done.time_left_s == 45.0


def test_a_warning_given_before_a_restart_is_not_given_again():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    log += persisted(session.question_ready(request.question_id, "Question one?", T0 + 1))
    warned = session.timer_fired("answer_warning", T0 + 50)
    log += persisted(warned)
    assert len(sent(warned)) == 1
    assert session.timer_fired("answer_warning", T0 + 51) == []
    rows = log_rows(log)
    restored = InterviewSession.restore("iv-1", config(), rows)
    restored.resume(T0 + 55)
    restored.connect_candidate(T0 + 55)
    assert restored.timer_fired("answer_warning", T0 + 60) == []
    # The answer clock stood still from the last logged event (T0 + 50) to the return.
    assert of(restored.timer_fired("answer", T0 + 61), ArmTimer) == [ArmTimer("answer", T0 + 66)]
    assert of(restored.timer_fired("answer", T0 + 66), RequestQuestion)


# --- client ids are per sender -----------------------------------------------------------


def test_the_same_client_id_from_the_candidate_and_a_recruiter_is_two_messages():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    inject = InjectQuestion(type="inject_question", client_id="x", text="Why us?")
    injected = session.receive_watcher("w1", inject, T0 + 2, sender="recruiter:r1")
    answered = session.receive_candidate(answer("x", qid), T0 + 3, sender="candidate:c1")
    (injected_event,) = persisted(injected)
    answer_event = next(e for e in persisted(answered) if e.kind == "answer")
    assert answer_event.offset != injected_event.offset
    acks = commit_all(session)
    assert {(type(a).__name__, a.message.client_id, a.message.offset) for a in acks} == {
        ("SendWatcher", "x", injected_event.offset),
        ("SendCandidate", "x", answer_event.offset),
    }
    # Each sender's resend is recognised as its own, and acked at its own offset.
    again = session.receive_candidate(answer("x", qid), T0 + 4, sender="candidate:c1")
    assert [(m.type, m.offset) for m in sent(again)] == [("ack", answer_event.offset)]
    restored = InterviewSession.restore(
        "iv-1",
        config(),
        log_rows([*persisted(actions), *persisted(injected), *persisted(answered)]),
    )
    again = restored.receive_watcher("w9", inject, T0 + 5, sender="recruiter:r1")
    assert [(type(a).__name__, a.message.offset) for a in again] == [
        ("SendWatcher", injected_event.offset)
    ]


# --- an event that fails for good is forgotten -------------------------------------------


def test_a_failed_answer_is_never_acked_and_the_question_stays_open():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    commit_all(session)
    committed = session.committed_offset
    out = session.receive_candidate(answer("a1", qid), T0 + 2)
    answer_persist = next(p for p in of(out, Persist) if p.entry.kind == "answer")
    answer_event = answer_persist.entry
    later = session.receive_candidate(
        Proctor(type="proctor", client_id="p1", signal="paste"), T0 + 3
    )
    (later_persist,) = of(later, Persist)
    assert of(out, RequestQuestion)  # the next question was on its way

    reset = session.failed(answer_event.offset, T0 + 4)
    assert isinstance(reset[0], Reset)
    errors = [(m.code, m.client_id) for m in sent(reset) if m.type == "error"]
    # The failed answer: not stored, not to be resent as is. The signal after it: resend it.
    assert errors == [("internal_error", "a1"), ("overloaded", "p1")]
    assert not [m for m in sent(reset) if m.type == "ack"]
    # The session is what the log says: the answer is not in the transcript, q1 still open.
    assert session.committed_offset == committed and session.next_offset == committed + 1
    assert [t.status for t in session.transcript()] == ["pending"]
    assert session.phase is Phase.AWAITING_ANSWER and session.current_question is not None
    (done,) = [m for m in sent(reset) if m.type == "question.done"]
    assert done.question_id == qid and done.time_left_s == 57.0
    assert {t.name for t in of(reset, ArmTimer)} >= {"answer", "total", "total_warning"}
    # The writer drops what the session forgot (an older generation).
    assert answer_persist.generation != session.generation == later_persist.generation + 1
    # Resending works: stored at the freed offset, acked once committed.
    out = session.receive_candidate(answer("a1", qid), T0 + 5)
    again = next(e for e in persisted(out) if e.kind == "answer")
    assert again.offset == answer_event.offset
    acks = [(m.client_id, m.offset) for m in sent(commit_all(session))]
    assert acks == [("a1", again.offset)]
    assert session.last_acked_candidate_id == "a1"


def test_a_failed_first_event_logs_the_start_again():
    session = InterviewSession("iv-1", config())
    actions = session.connect_candidate(T0)
    first = persisted(actions)[0]
    reset = session.failed(first.offset, T0 + 1)
    # The candidate is still there: connected, the interview started, offsets from 1 again.
    assert [(e.offset, e.kind) for e in persisted(reset)] == [(1, "connection"), (2, "state")]
    assert of(reset, RequestQuestion)


def test_a_failure_of_a_forgotten_event_changes_nothing():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    out = session.receive_candidate(answer("a1", qid), T0 + 2)
    answer_event = next(e for e in persisted(out) if e.kind == "answer")
    session.failed(answer_event.offset, T0 + 3)
    assert session.failed(answer_event.offset + 1, T0 + 4) == []


def test_the_evaluation_reads_the_committed_transcript():
    session, actions = started(question_count=1, follow_ups_per_question=0)
    qid = ask(session, actions, "Only question?", T0 + 1)
    commit_all(session)
    session.receive_candidate(answer("a1", qid), T0 + 2)
    # Not committed yet: the evaluation would not see the answer.
    assert [t.status for t in session.committed_transcript()] == ["pending"]
    commit_all(session)
    assert [t.status for t in session.committed_transcript()] == ["answered"]


# --- the answer clock stands still while the candidate is away ---------------------------


def test_no_question_times_out_while_the_candidate_is_away():
    session, actions = started()
    qid = ask(session, actions, "Question one?", T0 + 1)
    out = session.disconnect_candidate(T0 + 21)  # 40 s left
    assert CancelTimer("answer") in out and CancelTimer("answer_warning") in out
    assert session.timer_fired("answer", T0 + 61) == []
    assert session.timer_fired("answer_warning", T0 + 55) == []
    assert session.transcript()[0].status == "pending"
    back = session.connect_candidate(T0 + 100)
    timers = {t.name: t.at for t in of(back, ArmTimer)}
    assert timers["answer"] == T0 + 140
    done = session.question_done_message(T0 + 100)
    assert done is not None and (done.question_id, done.time_left_s) == (qid, 40.0)
    # The interview's own clock ran on.
    assert session.timer_fired("total", T0 + 600)


def test_a_question_asked_while_the_candidate_is_away_waits_for_them():
    session, actions = started()
    (request,) = of(actions, RequestQuestion)
    session.disconnect_candidate(T0 + 1)
    out = session.question_ready(request.question_id, "Question one?", T0 + 5)
    assert "answer" not in {t.name for t in of(out, ArmTimer)}
    back = session.connect_candidate(T0 + 50)
    assert {t.name: t.at for t in of(back, ArmTimer)}["answer"] == T0 + 110
    done = session.question_done_message(T0 + 50)
    assert done is not None and done.time_left_s == 60.0


def test_the_paused_answer_clock_survives_a_restore():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    log += persisted(session.question_ready(request.question_id, "Question one?", T0 + 1))
    log += persisted(session.disconnect_candidate(T0 + 11))
    log += persisted(session.connect_candidate(T0 + 31))
    log += persisted(session.disconnect_candidate(T0 + 41, cause="reload"))
    restored = InterviewSession.restore("iv-1", config(), log_rows(log))
    # There 10 s, away 20 s, there 10 s, away since T0 + 41: 20 s of the 60 were used.
    done = restored.question_done_message(T0 + 90)
    assert done is not None and done.time_left_s == 40.0
    out = restored.resume(T0 + 90)
    outage = persisted(out)
    assert [e.data["cause"] for e in outage] == ["server_restart"]
    back = restored.connect_candidate(T0 + 95)
    assert {t.name: t.at for t in of(back, ArmTimer)}["answer"] == T0 + 135


# --- proctoring: gaps merged, kinds told apart, nothing counted twice --------------------


def signal(session: InterviewSession, name: str, at: float) -> None:
    session.receive_candidate(Proctor(type="proctor", client_id=f"p{at}", signal=name), at)  # type: ignore[arg-type]


def test_overlapping_away_signals_are_one_period_and_a_reconnect_closes_it():
    session, _ = started()
    signal(session, "tab_hidden", T0 + 10)
    signal(session, "window_blur", T0 + 11)  # the same absence, told twice
    signal(session, "window_focus", T0 + 20)
    signal(session, "tab_hidden", T0 + 30)
    # The socket drops while hidden: the away period ends there; the drop is its own gap.
    session.disconnect_candidate(T0 + 35)
    session.connect_candidate(T0 + 40)
    summary = session.proctoring_summary(T0 + 60)
    assert summary.counts == {"tab_hidden": 2, "window_blur": 1, "window_focus": 1}
    assert (summary.times_away, summary.total_time_away_s, summary.longest_time_away_s) == (
        2, 15.0, 10.0,
    )  # fmt: skip
    assert (summary.disconnections, summary.total_disconnected_s) == (1, 5.0)
    assert [(g.kind, g.duration_s) for g in summary.gaps] == [
        ("tab_hidden", 10.0), ("tab_hidden", 5.0), ("network_drop", 5.0),
    ]  # fmt: skip


def test_a_reload_and_a_server_restart_are_never_time_away():
    session, actions = started()
    log = persisted(actions)
    log += persisted(session.disconnect_candidate(T0 + 10, cause="reload"))
    log += persisted(session.connect_candidate(T0 + 12))
    restored = InterviewSession.restore("iv-1", config(), log_rows(log))
    log += persisted(restored.resume(T0 + 60))  # the server was down since T0 + 12
    log += persisted(restored.connect_candidate(T0 + 65))
    summary = restored.proctoring_summary(T0 + 70)
    assert (summary.times_away, summary.total_time_away_s) == (0, 0.0)
    assert (summary.disconnections, summary.total_disconnected_s) == (1, 2.0)
    assert [(g.kind, g.duration_s) for g in summary.gaps] == [
        ("reload", 2.0), ("server_restart", 53.0),
    ]  # fmt: skip
    # And the same from the log alone, after another restart.
    again = InterviewSession.restore("iv-1", config(), log_rows(log))
    assert again.proctoring_summary(T0 + 70) == summary


def test_time_away_is_capped_at_the_interview():
    session, _ = started()
    signal(session, "tab_hidden", T0 + 100)
    summary = session.proctoring_summary(T0 + 130)
    assert summary.total_time_away_s == 30.0
    # A period still open when summarised ends then, never later.
    assert summary.gaps[0].end == iso(T0 + 130)
    # 48 s of interview can never hold 71 s away.
    short, _ = started()
    signal(short, "tab_hidden", T0 + 1)
    short.disconnect_candidate(T0 + 5)
    short.connect_candidate(T0 + 6)
    signal(short, "tab_hidden", T0 + 7)
    total = short.proctoring_summary(T0 + 48)
    assert total.total_time_away_s + total.total_disconnected_s <= 48.0
