"""The session equals its log, whatever fails: random runs of a whole interview (seeded), with
the writer's commits and permanent failures played by the test. Pure: no sockets, no clock, no
database (tests/test_store_failures.py does the same against a real server and PostgreSQL).

After every run: offsets are dense; the messages acked are exactly the messages stored, each at
the offset its ack named; and the live session agrees with one rebuilt from the committed log
alone (what a restart would make of it).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from server.protocol.messages import Ack, Answer, End, InjectQuestion, Proctor
from server.sessions.actions import (
    ArmTimer,
    CancelTimer,
    LogEntry,
    Persist,
    RequestEvaluation,
    RequestQuestion,
    Reset,
    SendCandidate,
    SendWatcher,
)
from server.sessions.session import InterviewSession, SessionConfig

T0 = 1_800_000_000.0
CANDIDATE = "candidate:00000000-0000-0000-0000-00000000000c"
RECRUITER = "recruiter:00000000-0000-0000-0000-00000000000r"
SIGNALS = ("tab_hidden", "tab_visible", "window_blur", "window_focus", "paste")


class Run:
    """One interview driven at random; the test is the writer (it commits or fails events in
    order, dropping those of an older generation, as EventWriter does)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.config = SessionConfig(
            question_count=3,
            follow_ups_per_question=1,
            answer_time_limit_s=60,
            total_time_limit_s=900,
            reconnect_grace_s=1_000,
        )
        self.session = InterviewSession("iv-r", self.config)
        self.now = T0
        self.queue: list[Persist] = []
        self.log: list[LogEntry] = []
        self.acks: list[tuple[str, str, int]] = []
        self.errors: list[tuple[str, str]] = []
        self.requests: list[RequestQuestion] = []
        self.timers: dict[str, float] = {}
        self.evaluating = False
        self.used_ids: list[str] = []
        self.failures = 0

    # --- the shell -----------------------------------------------------------------------

    def apply(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Persist):
                self.queue.append(action)
            elif isinstance(action, SendCandidate | SendWatcher):
                sender = CANDIDATE if isinstance(action, SendCandidate) else RECRUITER
                message = action.message
                if isinstance(message, Ack):
                    self.acks.append((sender, message.client_id, message.offset))
                elif message.type == "error" and message.client_id is not None:
                    self.errors.append((sender, message.client_id))
            elif isinstance(action, RequestQuestion):
                self.requests.append(action)
            elif isinstance(action, ArmTimer):
                self.timers[action.name] = action.at
            elif isinstance(action, CancelTimer):
                self.timers.pop(action.name, None)
            elif isinstance(action, RequestEvaluation):
                self.evaluating = True
            elif isinstance(action, Reset):
                self.requests.clear()
                self.timers.clear()
                self.evaluating = False

    def _current(self) -> list[Persist]:
        self.queue = [p for p in self.queue if p.generation == self.session.generation]
        return self.queue

    def commit(self, count: int) -> None:
        batch = self._current()[:count]
        if batch:
            del self.queue[: len(batch)]
            self.log += [p.entry for p in batch]
            self.apply(self.session.committed(batch[-1].entry.offset))

    def fire_timer(self) -> None:
        """The earliest armed timer, when its time has come (time jumps there if need be)."""
        if self.timers:
            name, at = min(self.timers.items(), key=lambda item: item[1])
            del self.timers[name]
            self.now = max(self.now, at)
            self.apply(self.session.timer_fired(name, self.now))

    def fail(self) -> None:
        queue = self._current()
        if queue:
            self.failures += 1
            event = queue.pop(0)
            self.apply(self.session.failed(event.entry.offset, self.now))

    # --- the people ----------------------------------------------------------------------

    def client_id(self) -> str:
        # Reuse an id now and then (a resend), or the other sender's (same id, other sender).
        if self.used_ids and self.rng.random() < 0.2:
            return self.rng.choice(self.used_ids)
        cid = f"c{len(self.used_ids)}"
        self.used_ids.append(cid)
        return cid

    def step(self) -> None:
        rng, session = self.rng, self.session
        self.now += rng.choice((0.0, 0.5, 3.0, 10.0))
        roll = rng.random()
        if roll < 0.18:
            self.commit(rng.randint(1, 4))
        elif roll < 0.24:
            self.fail()
        elif not session.candidate_connected:
            if roll < 0.6:
                self.apply(session.connect_candidate(self.now))
            elif roll < 0.7 and self.requests:
                request = self.requests.pop(0)
                self.apply(session.question_ready(request.question_id, "What?", self.now))
            elif roll < 0.8:
                self.fire_timer()
        elif roll < 0.36:
            q = session.current_question
            question_id = q.question_id if q is not None and rng.random() < 0.9 else "q99"
            words = rng.choice(("Short.", " ".join(["because"] * 30)))
            message = Answer(
                type="answer", client_id=self.client_id(), question_id=question_id, text=words
            )
            self.apply(session.receive_candidate(message, self.now, CANDIDATE))
        elif roll < 0.5:
            proctor = Proctor(
                type="proctor", client_id=self.client_id(), signal=rng.choice(SIGNALS)
            )
            self.apply(session.receive_candidate(proctor, self.now, CANDIDATE))
        elif roll < 0.55:
            inject = InjectQuestion(type="inject_question", client_id=self.client_id(), text="Why?")
            self.apply(session.receive_watcher("w1", inject, self.now, RECRUITER))
        elif roll < 0.66 and self.requests:
            request = self.requests.pop(0)
            self.apply(session.question_ready(request.question_id, "What next?", self.now))
        elif roll < 0.76:
            self.fire_timer()
        elif roll < 0.84:
            cause = rng.choice(("network_drop", "reload"))
            self.apply(session.disconnect_candidate(self.now, cause=cause))  # type: ignore[arg-type]
        elif roll < 0.86:
            self.apply(
                session.receive_candidate(
                    End(type="end", client_id=self.client_id()), self.now, CANDIDATE
                )
            )
        elif roll < 0.9 and self.evaluating:
            self.evaluating = False
            self.apply(session.evaluation_ready({"overall_score": 3.0}, self.now))

    def drain(self) -> None:
        while self._current():
            self.commit(len(self.queue))


def snapshot(session: InterviewSession, now: float, *, evaluating: bool) -> dict[str, Any]:
    """What must agree. Whether the interview is being evaluated is not logged (time up, the
    last answer): a restored session finds it out on resume, so the open question is compared
    only while the live session has not stopped asking."""
    done = session.question_done_message(now)
    return {
        "transcript": session.transcript(),
        "proctoring": session.proctoring_summary(now),
        "ended": session.phase.value == "ended",
        "awaiting": None if evaluating else session.current_question is not None,
        "time_left": None if evaluating or done is None else done.time_left_s,
        "last_client_id": session.last_acked_candidate_id,
        "seen": session._seen,
        "injected": list(session.injected),
        "main_asked": session.main_asked,
        "warned": session._warned,
        "started_at": session.started_at,
        "offset": session.committed_offset,
    }


@pytest.mark.parametrize("seeds", [range(n, n + 50) for n in range(0, 400, 50)])
def test_acked_equals_stored_and_the_session_equals_its_log(seeds: range) -> None:
    failures = 0
    for seed in seeds:
        run = Run(seed)
        run.apply(run.session.connect_candidate(run.now))
        for _ in range(run.rng.randint(20, 120)):
            run.step()
        run.drain()
        failures += run.failures
        context = f"seed {seed}"

        offsets = [e.offset for e in run.log]
        assert offsets == list(range(1, len(run.log) + 1)), context
        stored = {(e.sender, e.client_id): e.offset for e in run.log if e.client_id is not None}
        assert len(stored) == sum(1 for e in run.log if e.client_id is not None), context
        # Every ack names a stored message at its offset, and every stored message was acked.
        assert {(s, c): o for s, c, o in run.acks} == stored, context
        assert all(stored[(s, c)] == o for s, c, o in run.acks), context

        restored = InterviewSession.restore("iv-r", run.config, run.log)
        evaluating = run.session.ended
        assert snapshot(restored, run.now, evaluating=evaluating) == snapshot(
            run.session, run.now, evaluating=evaluating
        ), context
        # Once the interview is over, comings and goings are no longer logged.
        if not run.session.ended:
            assert restored._connected_in_log == run.session.candidate_connected, context
    # The runs did exercise failures.
    assert failures > 20
