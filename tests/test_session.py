"""Pure tests of InterviewSession: events in, actions out. No sockets, no clock, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.protocol.messages import Answer, End, InjectQuestion, Proctor, ScreenshotHeader
from server.sessions.session import (
    ArmTimer,
    CancelTimer,
    CloseCandidate,
    Finished,
    InterviewSession,
    Persist,
    Phase,
    RequestEvaluation,
    RequestQuestion,
    SendCandidate,
    SendWatcher,
    SessionConfig,
)

T0 = 1_800_000_000.0
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
    return [a.event for a in of(actions, Persist)]


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


def test_first_connection_starts_the_interview_and_asks_the_first_main_question():
    session, actions = started()
    kinds = [e.kind for e in persisted(actions)]
    assert kinds == ["connection", "state"]
    assert persisted(actions)[1].interview["state"] == "in_progress"
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
    state = persisted(end)[-1]
    assert state.interview["state"] == "completed"
    assert state.interview["evaluation"] == {"overall_score": 4.0}
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
    (event,) = persisted(out)
    assert event.kind == "screenshot" and event.blob == b"jpeg"
    assert event.data["blob_key"] == f"screenshots/iv-1/{event.offset:06d}.jpg"
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
    assert summary.longest_time_away_s == 15.0
    assert summary.total_time_away_s == 20.0


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

    rows = [(e.offset, e.kind, e.data, e.client_id, e.at) for e in log]
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
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


def test_restore_mid_answer_rearms_the_answer_timer_from_when_it_was_asked():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    log += persisted(session.question_ready(request.question_id, "Question one?", T0 + 1))
    rows = [(e.offset, e.kind, e.data, e.client_id, e.at) for e in log]
    restored = InterviewSession.restore("iv-1", config(), rows)
    out = restored.resume(T0 + 30)
    timers = {t.name: t.at for t in of(out, ArmTimer)}
    assert timers["answer"] == T0 + 1 + 60
    assert restored.current_question is not None
    done = restored.question_done_message(T0 + 30)
    assert done is not None and done.time_left_s == 31.0


def test_a_warning_given_before_a_restart_is_not_given_again():
    session, actions = started()
    log = persisted(actions)
    (request,) = of(actions, RequestQuestion)
    log += persisted(session.question_ready(request.question_id, "Question one?", T0 + 1))
    warned = session.timer_fired("answer_warning", T0 + 50)
    log += persisted(warned)
    assert len(sent(warned)) == 1
    assert session.timer_fired("answer_warning", T0 + 51) == []
    rows = [(e.offset, e.kind, e.data, e.client_id, e.at) for e in log]
    restored = InterviewSession.restore("iv-1", config(), rows)
    restored.resume(T0 + 55)
    assert restored.timer_fired("answer_warning", T0 + 55) == []
    assert of(restored.timer_fired("answer", T0 + 61), RequestQuestion)
