"""InterviewSession: the state machine of one live interview, with no I/O.

It takes events — a client message, a timer firing, interviewer output, a commit — and returns
actions: messages to send, events to persist, timers to arm or cancel, work to request. It
never awaits a socket, the database or a clock; time comes in as ``now`` (epoch seconds). The
shell in ``server.sessions.live`` carries the actions out.

Phases::

    scheduled --start--> asking --question done--> awaiting_answer --answer/timeout--> asking
    asking --no more questions | end | time up--> evaluating --evaluation--> ended

Every accepted client message becomes one event of the interview's log, with the next offset;
its ``ack`` is sent only when the shell reports that offset committed. A client id seen before
is not stored again: it is acked again (once committed).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from server.interviewer.base import ProctoringSummary, Turn
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import (
    Ack,
    Answer,
    End,
    Error,
    InjectQuestion,
    InterviewEnded,
    Proctor,
    QuestionDelta,
    QuestionDone,
    ScreenshotHeader,
    ServerMessage,
    TimeWarning,
)

log = logging.getLogger(__name__)

Origin = Literal["candidate", "server"] | str  # or a watcher's id


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    ASKING = "asking"
    AWAITING_ANSWER = "awaiting_answer"
    EVALUATING = "evaluating"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    question_count: int
    follow_ups_per_question: int
    answer_time_limit_s: int
    total_time_limit_s: int
    thin_answer_words: int = 25
    screenshot_interval_s: float = 1.0
    reconnect_grace_s: float = 120.0

    @property
    def answer_warning_s(self) -> int:
        return max(5, min(30, self.answer_time_limit_s // 5))

    @property
    def total_warning_s(self) -> int:
        return max(10, min(120, self.total_time_limit_s // 10))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append to the log; ``interview`` holds columns of the interview row to
    update in the same transaction."""

    offset: int
    kind: str
    data: dict[str, Any]
    at: datetime
    client_id: str | None = None
    origin: Origin = "server"
    interview: dict[str, Any] | None = None
    blob: bytes | None = None


# Actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persist:
    event: NewEvent


@dataclass(frozen=True, slots=True)
class SendCandidate:
    message: ServerMessage


@dataclass(frozen=True, slots=True)
class SendWatcher:
    watcher_id: str
    message: ServerMessage


@dataclass(frozen=True, slots=True)
class SendWatchers:
    """Live-only messages for every watcher (question deltas); logged events reach watchers
    when committed, not through this."""

    message: ServerMessage


@dataclass(frozen=True, slots=True)
class ArmTimer:
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class RequestQuestion:
    question_id: str
    kind: Literal["main", "follow_up"]
    index: int


@dataclass(frozen=True, slots=True)
class RequestEvaluation:
    reason: str


@dataclass(frozen=True, slots=True)
class CloseCandidate:
    """Send ``final`` (if any) and close the candidate's socket, once every event persisted
    so far is committed: so a client told the interview ended finds it ended over HTTP."""

    code: int
    reason: str
    final: ServerMessage | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """The interview is over and every event is handed to persistence: close watchers once
    they have received them, and forget the session."""

    state: str
    reason: str


Action = (
    Persist | SendCandidate | SendWatcher | SendWatchers | ArmTimer | CancelTimer
    | RequestQuestion | RequestEvaluation | CloseCandidate | Finished
)  # fmt: skip


@dataclass(slots=True)
class _Question:
    question_id: str
    text: str
    kind: Literal["main", "follow_up"]
    index: int
    source: Literal["interviewer", "recruiter"]
    asked_at: float
    time_limit_s: int
    answer: str | None = None
    status: Literal["answered", "timed_out", "pending"] = "pending"


_AWAY_START = {"tab_hidden", "window_blur"}
_AWAY_END = {"tab_visible", "window_focus"}


@dataclass
class InterviewSession:
    interview_id: str
    config: SessionConfig
    phase: Phase = Phase.SCHEDULED
    next_offset: int = 1
    committed_offset: int = 0
    started_at: float | None = None
    questions: list[_Question] = field(default_factory=list)
    asking: RequestQuestion | None = None
    asking_text: str = ""
    injected: deque[str] = field(default_factory=deque)
    main_asked: int = 0
    follow_ups_for_current_main: int = 0
    end_reason: str | None = None
    candidate_connected: bool = False
    last_screenshot_at: float | None = None
    camera_available: bool = True
    # client_id -> (offset, origin); offsets not yet committed are in _pending.
    _seen: dict[str, tuple[int, Origin]] = field(default_factory=dict)
    _pending: dict[int, NewEvent] = field(default_factory=dict)
    # Pending offsets whose client id was resent from elsewhere (a new socket): ack there.
    _reply_to: dict[int, Origin] = field(default_factory=dict)
    last_acked_candidate_id: str | None = None
    _proctor_counts: dict[str, int] = field(default_factory=dict)
    _away_since: float | None = None
    _disconnected_since: float | None = None
    _longest_away: float = 0.0
    _total_away: float = 0.0
    # Warnings already given ("interview" or a question id), so a restart does not repeat them.
    _warned: set[str] = field(default_factory=set)

    # --- queries ------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.phase in (Phase.EVALUATING, Phase.ENDED)

    @property
    def current_question(self) -> _Question | None:
        if self.phase is Phase.AWAITING_ANSWER and self.questions:
            return self.questions[-1]
        return None

    def transcript(self) -> tuple[Turn, ...]:
        return tuple(
            Turn(
                question_id=q.question_id,
                kind=q.kind,
                index=q.index,
                text=q.text,
                answer=q.answer,
                status=q.status,
                source=q.source,
            )
            for q in self.questions
        )

    def proctoring_summary(self, now: float | None = None) -> ProctoringSummary:
        longest, total = self._longest_away, self._total_away
        for since in (self._away_since, self._disconnected_since):
            if since is not None and now is not None:
                gap = max(0.0, now - since)
                longest, total = max(longest, gap), total + gap
        return ProctoringSummary(
            counts=dict(self._proctor_counts),
            longest_time_away_s=round(longest, 3),
            total_time_away_s=round(total, 3),
            camera_available=self.camera_available,
        )

    def question_done_message(self, now: float) -> QuestionDone | None:
        q = self.current_question
        if q is None:
            return None
        left = max(0.0, q.asked_at + q.time_limit_s - now)
        return QuestionDone(
            question_id=q.question_id,
            text=q.text,
            kind=q.kind,
            index=q.index,
            time_limit_s=q.time_limit_s,
            source=q.source,
            time_left_s=round(left, 3),
        )

    # --- building events ----------------------------------------------------------------

    def _event(
        self,
        kind: str,
        data: dict[str, Any],
        now: float,
        *,
        client_id: str | None = None,
        origin: Origin = "server",
        interview: dict[str, Any] | None = None,
        blob: bytes | None = None,
    ) -> Persist:
        event = NewEvent(
            offset=self.next_offset,
            kind=kind,
            data=data,
            at=datetime.fromtimestamp(now, UTC),
            client_id=client_id,
            origin=origin,
            interview=interview,
            blob=blob,
        )
        self.next_offset += 1
        self._pending[event.offset] = event
        if client_id is not None:
            self._seen[client_id] = (event.offset, origin)
        self._observe(event, now)
        return Persist(event)

    def _observe(self, event: NewEvent, now: float) -> None:
        """Bookkeeping shared by live events and events replayed from the log."""
        if event.kind == "proctor":
            signal = event.data["signal"]
            self._proctor_counts[signal] = self._proctor_counts.get(signal, 0) + 1
            if signal in _AWAY_START and self._away_since is None:
                self._away_since = now
            elif signal in _AWAY_END and self._away_since is not None:
                self._add_away(now - self._away_since)
                self._away_since = None
            if signal == "camera_unavailable":
                self.camera_available = False
        elif event.kind == "connection" and event.data.get("role") == "candidate":
            if event.data["status"] == "disconnected":
                self._disconnected_since = now
            elif event.data["status"] == "connected" and self._disconnected_since is not None:
                self._add_away(now - self._disconnected_since)
                self._disconnected_since = None

    def _add_away(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._longest_away = max(self._longest_away, seconds)
        self._total_away += seconds

    def _duplicate(self, client_id: str, origin: Origin) -> list[Action] | None:
        """If client_id was seen: ack it again to whoever resent it, now if it is committed,
        otherwise when it commits."""
        seen = self._seen.get(client_id)
        if seen is None:
            return None
        offset, _first_origin = seen
        if offset <= self.committed_offset:
            return [self._ack(client_id, offset, origin)]
        self._reply_to[offset] = origin
        return []

    @staticmethod
    def _ack(client_id: str, offset: int, origin: Origin) -> Action:
        ack = Ack(client_id=client_id, offset=offset)
        if origin == "candidate":
            return SendCandidate(ack)
        return SendWatcher(origin, ack)

    @staticmethod
    def _error(code: ErrorCode, message: str, client_id: str | None = None) -> SendCandidate:
        return SendCandidate(Error(code=code, message=message, client_id=client_id))

    # --- connection events ----------------------------------------------------------------

    def connect_candidate(self, now: float) -> list[Action]:
        """A candidate socket attached. Starts the interview the first time."""
        actions: list[Action] = [CancelTimer("grace")]
        resumed = self.phase is not Phase.SCHEDULED
        self.candidate_connected = True
        actions.append(
            self._event(
                "connection", {"role": "candidate", "status": "connected", "resumed": resumed}, now
            )
        )
        if self.phase is Phase.SCHEDULED:
            self.phase = Phase.ASKING
            self.started_at = now
            started = datetime.fromtimestamp(now, UTC)
            actions.append(
                self._event(
                    "state",
                    {"state": "in_progress", "reason": "candidate_joined"},
                    now,
                    interview={"state": "in_progress", "started_at": started},
                )
            )
            actions += self._arm_total_timers()
            actions += self._next_turn(now)
        return actions

    def disconnect_candidate(self, now: float, *, replaced: bool = False) -> list[Action]:
        if not self.candidate_connected:
            return []
        self.candidate_connected = False
        if self.ended:
            return []
        status = "replaced" if replaced else "disconnected"
        actions: list[Action] = [
            self._event("connection", {"role": "candidate", "status": status}, now)
        ]
        if not replaced:
            actions.append(ArmTimer("grace", now + self.config.reconnect_grace_s))
        return actions

    def _arm_total_timers(self) -> list[Action]:
        assert self.started_at is not None
        end = self.started_at + self.config.total_time_limit_s
        return [
            ArmTimer("total_warning", end - self.config.total_warning_s),
            ArmTimer("total", end),
        ]

    # --- client messages ------------------------------------------------------------------

    def receive_candidate(self, message: Answer | Proctor | End, now: float) -> list[Action]:
        duplicate = self._duplicate(message.client_id, "candidate")
        if duplicate is not None:
            return duplicate
        if self.phase is Phase.SCHEDULED:
            return [
                self._error(
                    ErrorCode.NOT_ALLOWED, "the interview has not started", message.client_id
                )
            ]
        if self.ended:
            return [
                self._error(ErrorCode.INTERVIEW_ENDED, "the interview is over", message.client_id)
            ]
        if isinstance(message, Answer):
            return self._answer(message, now)
        if isinstance(message, Proctor):
            return [
                self._event(
                    "proctor",
                    {"signal": message.signal},
                    now,
                    client_id=message.client_id,
                    origin="candidate",
                )
            ]
        actions: list[Action] = [
            self._event(
                "end.requested",
                {"by": "candidate"},
                now,
                client_id=message.client_id,
                origin="candidate",
            )
        ]
        return actions + self._finish("candidate_ended", now)

    def _answer(self, message: Answer, now: float) -> list[Action]:
        q = self.current_question
        if q is None or q.question_id != message.question_id:
            current = q.question_id if q else "none"
            return [
                self._error(
                    ErrorCode.STALE_QUESTION,
                    f"question {message.question_id!r} is not awaiting an answer"
                    f" (current: {current})",
                    message.client_id,
                )
            ]
        q.answer = message.text
        q.status = "answered"
        actions: list[Action] = [
            self._event(
                "answer",
                {"question_id": q.question_id, "text": message.text},
                now,
                client_id=message.client_id,
                origin="candidate",
            ),
            CancelTimer("answer"),
            CancelTimer("answer_warning"),
        ]
        self.phase = Phase.ASKING
        return actions + self._next_turn(now)

    def receive_screenshot(
        self,
        header: ScreenshotHeader,
        *,
        image: bytes,
        content_type: str,
        width: int,
        height: int,
        now: float,
    ) -> list[Action]:
        duplicate = self._duplicate(header.client_id, "candidate")
        if duplicate is not None:
            return duplicate
        if self.phase is Phase.SCHEDULED or self.ended:
            return [
                self._error(ErrorCode.NOT_ALLOWED, "no interview in progress", header.client_id)
            ]
        interval = self.config.screenshot_interval_s
        if self.last_screenshot_at is not None and now - self.last_screenshot_at < interval:
            return [
                self._error(
                    ErrorCode.RATE_LIMITED,
                    f"at most one screenshot every {interval:g} s",
                    header.client_id,
                )
            ]
        self.last_screenshot_at = now
        offset = self.next_offset
        extension = "png" if content_type == "image/png" else "jpg"
        data = {
            "blob_key": f"screenshots/{self.interview_id}/{offset:06d}.{extension}",
            "content_type": content_type,
            "width": width,
            "height": height,
            "size_bytes": len(image),
            "taken_at": header.taken_at.isoformat(),
        }
        return [
            self._event(
                "screenshot", data, now, client_id=header.client_id, origin="candidate", blob=image
            )
        ]

    def receive_watcher(
        self, watcher_id: str, message: InjectQuestion | End, now: float
    ) -> list[Action]:
        duplicate = self._duplicate(message.client_id, watcher_id)
        if duplicate is not None:
            return duplicate
        if self.ended:
            return [
                SendWatcher(
                    watcher_id,
                    Error(
                        code=ErrorCode.INTERVIEW_ENDED,
                        message="the interview is over",
                        client_id=message.client_id,
                    ),
                )
            ]
        if isinstance(message, InjectQuestion):
            self.injected.append(message.text)
            return [
                self._event(
                    "question.injected",
                    {"text": message.text, "by": "recruiter"},
                    now,
                    client_id=message.client_id,
                    origin=watcher_id,
                )
            ]
        actions: list[Action] = [
            self._event(
                "end.requested",
                {"by": "recruiter"},
                now,
                client_id=message.client_id,
                origin=watcher_id,
            )
        ]
        if self.phase is Phase.SCHEDULED:
            return actions + self._close("abandoned", "recruiter_ended", now)
        return actions + self._finish("recruiter_ended", now)

    # --- interviewer output ---------------------------------------------------------------

    def question_delta(self, question_id: str, text: str) -> list[Action]:
        if self.asking is None or self.asking.question_id != question_id:
            return []
        self.asking_text += text
        delta = QuestionDelta(question_id=question_id, text=text)
        return [SendCandidate(delta), SendWatchers(delta)]

    def question_ready(self, question_id: str, text: str, now: float) -> list[Action]:
        if self.asking is None or self.asking.question_id != question_id or self.ended:
            return []
        request = self.asking
        self.asking = None
        self.asking_text = ""
        return self._ask(request, text.strip(), "interviewer", now)

    def question_failed(self, question_id: str, message: str, now: float) -> list[Action]:
        if self.asking is None or self.asking.question_id != question_id or self.ended:
            return []
        self.asking = None
        self.asking_text = ""
        actions: list[Action] = [
            self._event("interviewer.error", {"question_id": question_id, "message": message}, now),
            self._error(ErrorCode.INTERVIEWER_FAILED, f"the interviewer failed: {message}"),
        ]
        return actions + self._finish("interviewer_failed", now)

    def _record_question(
        self,
        request: RequestQuestion,
        text: str,
        source: Literal["interviewer", "recruiter"],
        now: float,
        time_limit_s: int,
    ) -> _Question:
        q = _Question(
            question_id=request.question_id,
            text=text,
            kind=request.kind,
            index=request.index,
            source=source,
            asked_at=now,
            time_limit_s=time_limit_s,
        )
        self.questions.append(q)
        self.phase = Phase.AWAITING_ANSWER
        if request.kind == "main" and source == "interviewer":
            self.main_asked = request.index
            self.follow_ups_for_current_main = 0
        elif request.kind == "follow_up":
            self.follow_ups_for_current_main += 1
        return q

    def _ask(
        self,
        request: RequestQuestion,
        text: str,
        source: Literal["interviewer", "recruiter"],
        now: float,
    ) -> list[Action]:
        limit = self.config.answer_time_limit_s
        q = self._record_question(request, text, source, now, limit)
        done = self.question_done_message(now)
        assert done is not None
        return [
            self._event(
                "question",
                {
                    "question_id": q.question_id,
                    "text": q.text,
                    "kind": q.kind,
                    "index": q.index,
                    "time_limit_s": limit,
                    "source": source,
                },
                now,
            ),
            SendCandidate(done),
            ArmTimer("answer_warning", now + limit - self.config.answer_warning_s),
            ArmTimer("answer", now + limit),
        ]

    def _next_turn(self, now: float) -> list[Action]:
        """Choose what comes after an answer (or the start): an injected question, a
        follow-up to a thin answer, the next main question, or the end."""
        number = len(self.questions) + 1 + (1 if self.asking else 0)
        question_id = f"q{number}"
        if self.injected:
            text = self.injected.popleft()
            request = RequestQuestion(question_id, "main", self.main_asked)
            return self._ask(request, text, "recruiter", now)
        last = self.questions[-1] if self.questions else None
        if (
            last is not None
            and last.source == "interviewer"
            and last.status == "answered"
            and self.follow_ups_for_current_main < self.config.follow_ups_per_question
            and len((last.answer or "").split()) < self.config.thin_answer_words
        ):
            self.asking = RequestQuestion(question_id, "follow_up", self.main_asked)
        elif self.main_asked < self.config.question_count:
            self.asking = RequestQuestion(question_id, "main", self.main_asked + 1)
        else:
            return self._finish("all_questions_answered", now)
        self.phase = Phase.ASKING
        self.asking_text = ""
        return [self.asking]

    # --- timers ---------------------------------------------------------------------------

    def timer_fired(self, name: str, now: float) -> list[Action]:
        if self.phase is Phase.ENDED:
            return []
        if name == "grace":
            if self.candidate_connected or self.ended:
                return []
            return self._close("abandoned", "candidate_left", now)
        if self.ended:
            return []
        if name == "total":
            return self._finish("time_up", now)
        if name == "total_warning":
            if "interview" in self._warned:
                return []
            self._warned.add("interview")
            assert self.started_at is not None
            left = round(self.started_at + self.config.total_time_limit_s - now)
            warning = TimeWarning(scope="interview", seconds_left=max(0, left))
            return [
                self._event("time.warning", {"scope": "interview", "seconds_left": left}, now),
                SendCandidate(warning),
            ]
        q = self.current_question
        if q is None:
            return []
        if name == "answer_warning":
            if q.question_id in self._warned:
                return []
            self._warned.add(q.question_id)
            left = max(0, round(q.asked_at + q.time_limit_s - now))
            data = {"scope": "answer", "seconds_left": left, "question_id": q.question_id}
            return [
                self._event("time.warning", data, now),
                SendCandidate(
                    TimeWarning(scope="answer", seconds_left=left, question_id=q.question_id)
                ),
            ]
        if name == "answer":
            q.status = "timed_out"
            self.phase = Phase.ASKING
            actions: list[Action] = [
                self._event("answer.timeout", {"question_id": q.question_id}, now)
            ]
            return actions + self._next_turn(now)
        return []

    # --- the end --------------------------------------------------------------------------

    def _cancel_all(self) -> list[Action]:
        names = ("answer", "answer_warning", "total", "total_warning", "grace")
        return [CancelTimer(n) for n in names]

    def _finish(self, reason: str, now: float) -> list[Action]:
        """Stop asking and have the interview evaluated; it completes when that is done."""
        if self.ended:
            return []
        self.phase = Phase.EVALUATING
        self.end_reason = reason
        self.asking = None
        return [*self._cancel_all(), RequestEvaluation(reason)]

    def evaluation_ready(self, evaluation: dict[str, Any] | None, now: float) -> list[Action]:
        if self.phase is not Phase.EVALUATING:
            return []
        reason = self.end_reason or "completed"
        actions: list[Action] = []
        if evaluation is not None:
            actions.append(self._event("evaluation", evaluation, now))
        return actions + self._close("completed", reason, now, evaluation=evaluation)

    def _close(
        self, state: str, reason: str, now: float, *, evaluation: dict[str, Any] | None = None
    ) -> list[Action]:
        self.phase = Phase.ENDED
        self.end_reason = reason
        ended = datetime.fromtimestamp(now, UTC)
        columns: dict[str, Any] = {"state": state, "state_reason": reason, "ended_at": ended}
        if evaluation is not None:
            columns["evaluation"] = evaluation
        return [
            *self._cancel_all(),
            self._event("state", {"state": state, "reason": reason}, now, interview=columns),
            CloseCandidate(CloseCode.NORMAL, reason, InterviewEnded(reason=reason)),
            Finished(state, reason),
        ]

    # --- persistence ----------------------------------------------------------------------

    def committed(self, offset: int) -> list[Action]:
        """The shell committed every event up to ``offset``: ack what was waiting."""
        actions: list[Action] = []
        for pending_offset in sorted(o for o in self._pending if o <= offset):
            event = self._pending.pop(pending_offset)
            origin = self._reply_to.pop(pending_offset, event.origin)
            if event.client_id is not None:
                actions.append(self._ack(event.client_id, event.offset, origin))
                if event.origin == "candidate":
                    self.last_acked_candidate_id = event.client_id
        self.committed_offset = max(self.committed_offset, offset)
        return actions

    # --- rebuilding from the log ----------------------------------------------------------

    @classmethod
    def restore(
        cls,
        interview_id: str,
        config: SessionConfig,
        events: list[tuple[int, str, dict[str, Any], str | None, datetime]],
    ) -> InterviewSession:
        """Rebuild a session from its committed log (offset, kind, data, client_id, at)."""
        session = cls(interview_id=interview_id, config=config)
        for offset, kind, data, client_id, at in events:
            now = at.timestamp()
            event = NewEvent(offset=offset, kind=kind, data=data, at=at, client_id=client_id)
            session._replay(event, now)
            session._observe(event, now)
            session.next_offset = offset + 1
            session.committed_offset = offset
        return session

    def _replay(self, event: NewEvent, now: float) -> None:
        kind, data = event.kind, event.data
        if event.client_id is not None:
            by_candidate = kind in ("answer", "proctor", "screenshot") or (
                kind == "end.requested" and data.get("by") == "candidate"
            )
            # A watcher's id does not survive a restart; a resent watcher message is acked
            # to whichever watcher resends it (see _duplicate).
            origin: Origin = "candidate" if by_candidate else "watcher"
            self._seen[event.client_id] = (event.offset, origin)
            if by_candidate:
                self.last_acked_candidate_id = event.client_id
        if kind == "state":
            state = data["state"]
            if state == "in_progress":
                self.phase = Phase.ASKING
                self.started_at = now
            elif state in ("completed", "abandoned", "expired"):
                self.phase = Phase.ENDED
                self.end_reason = data.get("reason")
        elif kind == "question":
            request = RequestQuestion(data["question_id"], data["kind"], data["index"])
            self._record_question(request, data["text"], data["source"], now, data["time_limit_s"])
            if data["source"] == "recruiter" and self.injected:
                self.injected.popleft()
        elif kind in ("answer", "answer.timeout"):
            q = self.current_question
            if q is not None and q.question_id == data["question_id"]:
                if kind == "answer":
                    q.answer, q.status = data["text"], "answered"
                else:
                    q.status = "timed_out"
                self.phase = Phase.ASKING
        elif kind == "question.injected":
            self.injected.append(data["text"])
        elif kind == "time.warning":
            self._warned.add(data.get("question_id") or "interview")
        elif kind == "screenshot":
            self.last_screenshot_at = now
        elif kind == "end.requested":
            self.phase = Phase.EVALUATING
            self.end_reason = f"{data.get('by', 'candidate')}_ended"
        elif kind == "interviewer.error":
            self.phase = Phase.EVALUATING
            self.end_reason = "interviewer_failed"

    def resume(self, now: float) -> list[Action]:
        """After a restore: re-arm timers and pick up where the log stops."""
        if self.phase in (Phase.SCHEDULED, Phase.ENDED):
            return []
        if self.phase is Phase.EVALUATING:
            return [RequestEvaluation(self.end_reason or "completed")]
        actions: list[Action] = self._arm_total_timers()
        if not self.candidate_connected:
            actions.append(ArmTimer("grace", now + self.config.reconnect_grace_s))
        assert self.started_at is not None
        if now >= self.started_at + self.config.total_time_limit_s:
            return self._finish("time_up", now)
        q = self.current_question
        if q is not None:
            end = q.asked_at + q.time_limit_s
            actions += [
                ArmTimer("answer_warning", end - self.config.answer_warning_s),
                ArmTimer("answer", end),
            ]
            return actions
        # Asking: the question being generated when the log stopped was never recorded.
        return actions + self._next_turn(now)
