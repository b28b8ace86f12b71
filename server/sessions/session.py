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
from the same sender is not stored again: it is acked again (once committed). Client ids are
per sender (the candidate, each recruiter): the same id from two senders is two messages.

**The session equals its log.** Beside its live state the session keeps the state the
committed log alone gives (``_log_state``, built by the same ``_replay``/``_observe`` that
rebuild a session after a restart). When an event fails for good, the session forgets it and
everything proposed after it (their offsets are given out again, so offsets stay dense), becomes
its committed state again, says so to the senders (``error`` with their client ids, never an
ack), and carries on from there: the current question is still open, or asked again.

**The answer clock runs only while the candidate is there.** While the candidate's socket is
gone (a network drop, a reload, a server restart) no question times out; on return the time
left is what was left at the drop. The interview's own clock keeps running. Both are read
from the log, so a restart keeps them.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from server.errors import ProtocolError
from server.interviewer.base import ProctoringSummary, Turn
from server.protocol.codec import error_frame
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import (
    Ack,
    Answer,
    End,
    InjectQuestion,
    InterviewEnded,
    Proctor,
    QuestionDelta,
    QuestionDone,
    ScreenshotHeader,
    ServerMessage,
    TimeWarning,
)
from server.sessions.actions import (
    Action,
    ArmTimer,
    CancelTimer,
    CloseCandidate,
    Concluded,
    DisconnectCause,
    Finished,
    LogEntry,
    Origin,
    Persist,
    Recording,
    RequestEvaluation,
    RequestQuestion,
    Reset,
    Screenshot,
    SendCandidate,
    Sender,
    SendWatcher,
    SendWatchers,
    Started,
    Timer,
    sent_by_candidate,
)
from server.sessions.proctoring import Gap, Proctoring, iso
from server.speech.sentences import AnswerPlace

# A timer may fire a little before its time (the loop's clock is not the wall clock).
_EARLY_S = 0.05


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
    # The plan's answer_mode: text, voice or either (spoken answers: server/speech).
    answer_mode: str = "text"

    @property
    def answer_warning_s(self) -> int:
        return max(5, min(30, self.answer_time_limit_s // 5))

    @property
    def total_warning_s(self) -> int:
        return max(10, min(120, self.total_time_limit_s // 10))


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
    # Time its answer clock stood still while the candidate was offline.
    paused_s: float = 0.0
    # Its committed answer's offset in the log, and the answer's sentences timed in its audio
    # (spoken answers only): where an evaluation's quotes of it are (server/speech/sentences).
    answer_offset: int | None = None
    sentences: tuple[dict[str, Any], ...] = ()


# Kinds of log entry the candidate never reads (over HTTP or, as RLS, in the database): a
# question the recruiter injected reaches the candidate when it is asked, as its `question`
# entry, never while it waits its turn. Migration 20261207010000_job_plan_privacy.sql says
# the same for direct database reads.
# The evaluation is the recruiter's too (20261209000000_evaluation_versions.sql).
HIDDEN_FROM_CANDIDATE = ("question.injected", "evaluation")


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
    # A list, not a deque: rarely more than one, and an empty deque costs 600 bytes a session.
    injected: list[str] = field(default_factory=list)
    main_asked: int = 0
    follow_ups_for_current_main: int = 0
    end_reason: str | None = None
    candidate_connected: bool = False
    last_screenshot_at: float | None = None
    # (sender, client_id) -> offset; offsets not yet committed are in _pending.
    _seen: dict[tuple[Sender, str], int] = field(default_factory=dict)
    _pending: dict[int, LogEntry] = field(default_factory=dict)
    # Pending offsets whose client id was resent from elsewhere (a new socket): ack there.
    _reply_to: dict[int, Origin] = field(default_factory=dict)
    last_acked_candidate_id: str | None = None
    proctoring: Proctoring = field(default_factory=Proctoring)
    # Whether the log's last word on the candidate's socket is "connected".
    _connected_in_log: bool = False
    _last_event_at: float | None = None
    # Warnings already given ("interview" or a question id), so a restart does not repeat them.
    _warned: set[str] = field(default_factory=set)
    # The question whose spoken answer the log says started (``answer.started``) and has no
    # answer or timeout yet: after a restart, an answer lost with the process.
    speech_open: str | None = None
    # Bumped each time a failure resets the session (see Persist.generation).
    generation: int = 0
    # The state the committed log alone gives; None until the first commit of a new session.
    _log_state: InterviewSession | None = None

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
        """The proctoring summary from the interview's start to ``now`` (by default, its log's
        last entry)."""
        until = now if now is not None else self._last_event_at
        return self.proctoring.summary(self.started_at, until)

    def committed_transcript(self) -> tuple[Turn, ...]:
        """The transcript as the committed log has it (what an evaluation may read)."""
        return self._log().transcript()

    def committed_proctoring_summary(self, now: float) -> ProctoringSummary:
        return self._log().proctoring_summary(now)

    def answer_places(self) -> dict[str, AnswerPlace]:
        """Where each answer of the log is (by question id): its offset, text and timed
        sentences, for placing an evaluation's quotes (``place_evidence``)."""
        return {
            q.question_id: AnswerPlace(q.answer_offset, q.answer or "", q.sentences)
            for q in self._log().questions
            if q.answer_offset is not None
        }

    def _answer_deadline(self, q: _Question) -> float | None:
        """When the question times out; None while the clock stands still (candidate away)."""
        if self.proctoring.offline is not None:
            return None
        return q.asked_at + q.time_limit_s + q.paused_s

    def _time_left(self, q: _Question, now: float) -> float:
        offline = self.proctoring.offline
        clock = now if offline is None else max(offline.start, q.asked_at)
        return max(0.0, q.asked_at + q.time_limit_s + q.paused_s - clock)

    def question_done_message(self, now: float) -> QuestionDone | None:
        q = self.current_question
        if q is None:
            return None
        left = self._time_left(q, now)
        return QuestionDone(
            question_id=q.question_id,
            text=q.text,
            kind=q.kind,
            index=q.index,
            time_limit_s=q.time_limit_s,
            source=q.source,
            time_left_s=round(left, 3),
            answer_mode=self.config.answer_mode,
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
        sender: Sender | None = None,
        milestone: Started | Concluded | None = None,
        screenshot: Screenshot | None = None,
        recording: Recording | None = None,
    ) -> Persist:
        entry = LogEntry(
            offset=self.next_offset,
            kind=kind,
            data=data,
            at=datetime.fromtimestamp(now, UTC),
            client_id=client_id,
            sender=sender,
        )
        self.next_offset += 1
        self._pending[entry.offset] = entry
        if client_id is not None and sender is not None:
            self._seen[(sender, client_id)] = entry.offset
            self._reply_to[entry.offset] = origin
        self._observe(entry, now)
        return Persist(entry, self.generation, screenshot, milestone, recording)

    def _observe(self, event: LogEntry, now: float) -> None:
        """Bookkeeping shared by live events and events replayed from the log: proctoring
        gaps and the answer clock."""
        last_seen, self._last_event_at = self._last_event_at, now
        if event.kind == "proctor":
            self.proctoring.signal(event.data["signal"], now)
        elif event.kind == "media":
            self.proctoring.media(event.data)
        elif event.kind == "answer.started":
            self.speech_open = event.data["question_id"]
        elif event.kind in ("answer", "answer.timeout") and (
            event.data.get("question_id") == self.speech_open
        ):
            self.speech_open = None
        elif event.kind == "connection" and event.data.get("role") == "candidate":
            status = event.data["status"]
            if status == "connected":
                self._pause_answer_clock(self.proctoring.connected(now), now)
                self._connected_in_log = True
            elif status == "disconnected":
                cause = str(event.data.get("cause", "network_drop"))
                start = now
                if "since" in event.data:
                    start = datetime.fromisoformat(event.data["since"]).timestamp()
                    start = min(now, max(start, last_seen if last_seen is not None else start))
                self._pause_answer_clock(self.proctoring.disconnected(cause, start), start)
                self._connected_in_log = False

    def _pause_answer_clock(self, offline: Gap | None, until: float) -> None:
        """The candidate is back (or the gap changes kind): the current question's answer
        clock stood still from the drop (or from when it was asked) until ``until``."""
        q = self.current_question
        if offline is not None and q is not None:
            q.paused_s += max(0.0, until - max(offline.start, q.asked_at))

    def _duplicate(self, sender: Sender, client_id: str, origin: Origin) -> list[Action] | None:
        """If this sender sent client_id before: ack it again to whoever resent it, now if it
        is committed, otherwise when it commits."""
        offset = self._seen.get((sender, client_id))
        if offset is None:
            return None
        if offset <= self.committed_offset:
            return [self._ack(client_id, offset, origin)]
        self._reply_to[offset] = origin
        return []

    @staticmethod
    def _send(origin: Origin, message: ServerMessage) -> Action:
        if origin == "candidate":
            return SendCandidate(message)
        return SendWatcher(origin, message)

    def _ack(self, client_id: str, offset: int, origin: Origin) -> Action:
        return self._send(origin, Ack(client_id=client_id, offset=offset))

    def _refuse(
        self,
        code: ErrorCode,
        message: str,
        client_id: str | None = None,
        origin: Origin = "candidate",
    ) -> Action:
        """Tell the sender the server did not act on what it sent (and why)."""
        return self._send(origin, error_frame(ProtocolError(code, message, client_id)))

    # --- connection events ----------------------------------------------------------------

    def connect_candidate(self, now: float) -> list[Action]:
        """A candidate socket attached. Starts the interview the first time; otherwise the
        answer clock runs again from where it stopped."""
        actions: list[Action] = [CancelTimer(Timer.GRACE)]
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
            actions.append(
                self._event(
                    "state",
                    {"state": "in_progress", "reason": "candidate_joined"},
                    now,
                    milestone=Started(datetime.fromtimestamp(now, UTC)),
                )
            )
            actions += self._arm_total_timers()
            actions += self._next_turn(now)
        elif not self.ended:
            actions += self._arm_answer_timers()
        return actions

    def disconnect_candidate(
        self, now: float, *, replaced: bool = False, cause: DisconnectCause = "network_drop"
    ) -> list[Action]:
        if not self.candidate_connected:
            return []
        self.candidate_connected = False
        if self.ended:
            return []
        if replaced:
            # A newer socket took over at once: the candidate was never away.
            return [self._event("connection", {"role": "candidate", "status": "replaced"}, now)]
        data = {"role": "candidate", "status": "disconnected", "cause": cause}
        return [
            self._event("connection", data, now),
            # Nobody can answer now: the answer clock stands still until the candidate is back.
            CancelTimer(Timer.ANSWER),
            CancelTimer(Timer.ANSWER_WARNING),
            ArmTimer(Timer.GRACE, now + self.config.reconnect_grace_s),
        ]

    def _arm_total_timers(self) -> list[Action]:
        assert self.started_at is not None
        end = self.started_at + self.config.total_time_limit_s
        return [
            ArmTimer(Timer.TOTAL_WARNING, end - self.config.total_warning_s),
            ArmTimer(Timer.TOTAL, end),
        ]

    def _arm_answer_timers(self) -> list[Action]:
        q = self.current_question
        if q is None:
            return []
        deadline = self._answer_deadline(q)
        if deadline is None:
            return []
        return [
            ArmTimer(Timer.ANSWER_WARNING, deadline - self.config.answer_warning_s),
            ArmTimer(Timer.ANSWER, deadline),
        ]

    # --- client messages ------------------------------------------------------------------

    def receive_candidate(
        self, message: Answer | Proctor | End, now: float, sender: Sender = "candidate"
    ) -> list[Action]:
        duplicate = self._duplicate(sender, message.client_id, "candidate")
        if duplicate is not None:
            return duplicate
        if self.phase is Phase.SCHEDULED:
            return [
                self._refuse(
                    ErrorCode.NOT_ALLOWED, "the interview has not started", message.client_id
                )
            ]
        if self.ended:
            return [
                self._refuse(ErrorCode.INTERVIEW_ENDED, "the interview is over", message.client_id)
            ]
        if isinstance(message, Answer):
            return self._answer(message, now, sender)
        if isinstance(message, Proctor):
            return [
                self._event(
                    "proctor",
                    {"signal": message.signal},
                    now,
                    client_id=message.client_id,
                    origin="candidate",
                    sender=sender,
                )
            ]
        actions: list[Action] = [
            self._event(
                "end.requested",
                {"by": "candidate"},
                now,
                client_id=message.client_id,
                origin="candidate",
                sender=sender,
            )
        ]
        return actions + self._finish("candidate_ended", now)

    def _answer(self, message: Answer, now: float, sender: Sender) -> list[Action]:
        q = self.current_question
        if q is None or q.question_id != message.question_id:
            current = q.question_id if q else "none"
            return [
                self._refuse(
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
                sender=sender,
            ),
            CancelTimer(Timer.ANSWER),
            CancelTimer(Timer.ANSWER_WARNING),
        ]
        self.phase = Phase.ASKING
        return actions + self._next_turn(now)

    # --- spoken answers (server/speech: the shell finds and transcribes them) -----------------

    def listening_for(self) -> str | None:
        """The question a spoken answer would answer now: asked, and not answered yet, in an
        interview that takes spoken answers."""
        q = self.current_question
        if self.config.answer_mode == "text" or q is None or self.ended:
            return None
        return q.question_id if self.phase is Phase.AWAITING_ANSWER else None

    def voice_started(self, question_id: str, now: float) -> list[Action]:
        """The server heard a spoken answer to ``question_id`` start: logged (``answer.started``,
        no client id, never acked) so that a server restarted before the answer is committed
        knows one was open and lost, and can tell the candidate (``open_spoken_answer``)."""
        if self.listening_for() != question_id:
            return []
        return [self._event("answer.started", {"question_id": question_id}, now)]

    def open_spoken_answer(self) -> str | None:
        """The question awaiting an answer now, if the log says a spoken answer to it started
        and it has no answer yet."""
        question_id = self.listening_for()
        return question_id if question_id is not None and question_id == self.speech_open else None

    def voice_answer(
        self,
        question_id: str,
        text: str,
        data: dict[str, Any],
        recording: Recording | None,
        client_id: str,
        sender: Sender,
        now: float,
    ) -> list[Action]:
        """A spoken answer, heard to its end and transcribed (``text`` is "" when it could
        not be): logged as the question's ``answer`` with ``source: voice`` and ``data`` (its
        audio's key, speech start and end, the model), its audio's artifact with it, and acked
        to ``client_id`` once committed, as a typed answer is. If the question was answered
        or timed out meanwhile, the audio is still logged (``answer.late``), never scored."""
        q = self.current_question
        entry = {"question_id": question_id, "text": text, "source": "voice", **data}
        if q is None or q.question_id != question_id or self.phase is not Phase.AWAITING_ANSWER:
            return [self._event("answer.late", entry, now, recording=recording)]
        q.answer = text
        q.status = "answered"
        actions: list[Action] = [
            self._event(
                "answer",
                entry,
                now,
                client_id=client_id,
                origin="candidate",
                sender=sender,
                recording=recording,
            ),
            CancelTimer(Timer.ANSWER),
            CancelTimer(Timer.ANSWER_WARNING),
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
        sender: Sender = "candidate",
    ) -> list[Action]:
        duplicate = self._duplicate(sender, header.client_id, "candidate")
        if duplicate is not None:
            return duplicate
        if self.phase is Phase.SCHEDULED or self.ended:
            return [
                self._refuse(ErrorCode.NOT_ALLOWED, "no interview in progress", header.client_id)
            ]
        interval = self.config.screenshot_interval_s
        if self.last_screenshot_at is not None and now - self.last_screenshot_at < interval:
            return [
                self._refuse(
                    ErrorCode.RATE_LIMITED,
                    f"at most one screenshot every {interval:g} s",
                    header.client_id,
                )
            ]
        self.last_screenshot_at = now
        data = {
            "content_type": content_type,
            "width": width,
            "height": height,
            "size_bytes": len(image),
            "taken_at": header.taken_at.isoformat(),
        }
        return [
            self._event(
                "screenshot",
                data,
                now,
                client_id=header.client_id,
                origin="candidate",
                sender=sender,
                screenshot=Screenshot(image, content_type),
            )
        ]

    # --- the candidate's media (server.media): entries the server's own peer proposes ------

    def media_event(self, data: dict[str, Any], now: float) -> list[Action]:
        """A media health entry (track started or ended, muted, no media, connection state):
        logged while the interview runs, dropped before it starts and after it ends."""
        if self.phase is Phase.SCHEDULED or self.ended:
            return []
        return [self._event("media", data, now)]

    def media_snapshot(
        self, image: bytes, *, width: int, height: int, taken_at: float, now: float
    ) -> list[Action]:
        """A JPEG taken from the candidate's video track on the server's schedule: logged as
        a ``screenshot`` (``source: "webrtc"``) through the same path as an uploaded one (its
        blob first, then its entry and artifact)."""
        if self.phase is Phase.SCHEDULED or self.ended:
            return []
        self.last_screenshot_at = now
        data = {
            "content_type": "image/jpeg",
            "width": width,
            "height": height,
            "size_bytes": len(image),
            "taken_at": datetime.fromtimestamp(taken_at, UTC).isoformat(),
            "source": "webrtc",
        }
        return [self._event("screenshot", data, now, screenshot=Screenshot(image, "image/jpeg"))]

    def media_recording(
        self, key: str, data: dict[str, Any], recording: Recording, now: float
    ) -> list[Action]:
        """A closed recording segment, already stored: logged even after the end (the last
        segment closes as the media stops), never before the start."""
        if self.phase is Phase.SCHEDULED:
            return []
        return [self._event("recording", {"blob_key": key, **data}, now, recording=recording)]

    def receive_watcher(
        self,
        watcher_id: str,
        message: InjectQuestion | End,
        now: float,
        sender: Sender = "recruiter",
    ) -> list[Action]:
        duplicate = self._duplicate(sender, message.client_id, watcher_id)
        if duplicate is not None:
            return duplicate
        if self.ended:
            return [
                self._refuse(
                    ErrorCode.INTERVIEW_ENDED,
                    "the interview is over",
                    message.client_id,
                    watcher_id,
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
                    sender=sender,
                )
            ]
        actions: list[Action] = [
            self._event(
                "end.requested",
                {"by": "recruiter"},
                now,
                client_id=message.client_id,
                origin=watcher_id,
                sender=sender,
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
            self._refuse(ErrorCode.INTERVIEWER_FAILED, f"the interviewer failed: {message}"),
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
            *self._arm_answer_timers(),
        ]

    def _next_turn(self, now: float) -> list[Action]:
        """Choose what comes after an answer (or the start): an injected question, a
        follow-up to a thin answer, the next main question, or the end."""
        number = len(self.questions) + 1 + (1 if self.asking else 0)
        question_id = f"q{number}"
        if self.injected:
            text = self.injected.pop(0)
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

    def timer_fired(self, name: Timer, now: float) -> list[Action]:
        if self.phase in (Phase.SCHEDULED, Phase.ENDED):
            return []
        if name == Timer.GRACE:
            if self.candidate_connected or self.ended:
                return []
            return self._close("abandoned", "candidate_left", now)
        if self.ended:
            return []
        if name == Timer.TOTAL:
            return self._finish("time_up", now)
        if name == Timer.TOTAL_WARNING:
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
        deadline = self._answer_deadline(q)
        if deadline is None:
            # The candidate is away: the answer clock stands still (re-armed on return).
            return []
        if name == Timer.ANSWER_WARNING:
            at = deadline - self.config.answer_warning_s
            if now < at - _EARLY_S:
                return [ArmTimer(name, at)]
            if q.question_id in self._warned:
                return []
            self._warned.add(q.question_id)
            left = max(0, round(deadline - now))
            data = {"scope": "answer", "seconds_left": left, "question_id": q.question_id}
            return [
                self._event("time.warning", data, now),
                SendCandidate(
                    TimeWarning(scope="answer", seconds_left=left, question_id=q.question_id)
                ),
            ]
        if name == Timer.ANSWER:
            if now < deadline - _EARLY_S:
                return [ArmTimer(name, deadline)]
            q.status = "timed_out"
            self.phase = Phase.ASKING
            actions: list[Action] = [
                self._event("answer.timeout", {"question_id": q.question_id}, now)
            ]
            return actions + self._next_turn(now)
        return []

    # --- the end --------------------------------------------------------------------------

    def _cancel_all(self) -> list[Action]:
        return [CancelTimer(timer) for timer in Timer]

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
        self,
        state: Literal["completed", "abandoned"],
        reason: str,
        now: float,
        *,
        evaluation: dict[str, Any] | None = None,
    ) -> list[Action]:
        self.phase = Phase.ENDED
        self.end_reason = reason
        # The one place that decides it: a completed interview hands its application on to
        # the recruiter's review (an abandoned one leaves it where it was).
        concluded = Concluded(
            state,
            reason,
            datetime.fromtimestamp(now, UTC),
            evaluation,
            to_review=state == "completed",
        )
        return [
            *self._cancel_all(),
            self._event("state", {"state": state, "reason": reason}, now, milestone=concluded),
            CloseCandidate(CloseCode.NORMAL, reason, InterviewEnded(reason=reason)),
            Finished(state, reason),
        ]

    # --- persistence ----------------------------------------------------------------------

    def committed(self, offset: int) -> list[Action]:
        """The shell committed every event up to ``offset``: ack what was waiting."""
        actions: list[Action] = []
        committed_state = self._log()
        for pending_offset in sorted(o for o in self._pending if o <= offset):
            event = self._pending.pop(pending_offset)
            committed_state._apply_logged(event)
            origin = self._reply_to.pop(pending_offset, None)
            if event.client_id is not None and origin is not None:
                actions.append(self._ack(event.client_id, event.offset, origin))
                if sent_by_candidate(event.sender):
                    self.last_acked_candidate_id = event.client_id
        self.committed_offset = max(self.committed_offset, offset)
        return actions

    def failed(self, offset: int, now: float) -> list[Action]:
        """The event at ``offset`` cannot be stored, for good. Forget it and everything
        proposed after it (the shell's writer drops those unwritten: they were decided on a
        state that included it), so their offsets are given out again and the log stays dense.
        The session becomes what its committed log says; the senders of the forgotten messages
        get an ``error`` with their client ids and never an ack; facts that still hold (the
        candidate's socket is there, or gone) are logged again; then the interview carries on
        from the committed state: the current question still open, or asked again."""
        if offset not in self._pending:
            return []
        forgotten = [self._pending[o] for o in sorted(self._pending)]
        actions: list[Action] = [Reset()]
        for event in forgotten:
            origin = self._reply_to.get(event.offset)
            if event.client_id is None or origin is None:
                continue
            if event.offset == offset:
                code = ErrorCode.INTERNAL_ERROR
                message = "the server could not store this message; it was not recorded"
            else:
                code = ErrorCode.OVERLOADED
                message = "not stored (an earlier message could not be); resend it"
            actions.append(self._refuse(code, message, event.client_id, origin))
        connected = self.candidate_connected
        last_connection = next(
            (
                e
                for e in reversed(forgotten)
                if e.kind == "connection" and e.data.get("status") == "disconnected"
            ),
            None,
        )
        self._become_committed()
        if connected and not self._connected_in_log:
            # The log lost the candidate's arrival (or the very start): record it again.
            was_scheduled = self.phase is Phase.SCHEDULED
            self.candidate_connected = False
            actions += self.connect_candidate(now)
            if was_scheduled:
                return actions
        elif not connected and self._connected_in_log and not self.ended:
            cause: DisconnectCause = "network_drop"
            if last_connection is not None:
                cause = last_connection.data["cause"]
            self.candidate_connected = True
            actions += self.disconnect_candidate(now, cause=cause)
        offline = self.proctoring.offline
        grace_from = offline.start if offline is not None else now
        return actions + self._continue(now, grace_from=grace_from)

    def _log(self) -> InterviewSession:
        if self._log_state is None:
            self._log_state = InterviewSession(self.interview_id, self.config)
        return self._log_state

    def _become_committed(self) -> None:
        """Replace the live state by a copy of the committed one; the socket and the
        generation are the live session's own."""
        committed = copy.deepcopy(self._log())
        for f in dataclasses.fields(self):
            if f.name not in ("_log_state", "candidate_connected", "generation"):
                setattr(self, f.name, getattr(committed, f.name))
        self.generation += 1

    def _apply_logged(self, event: LogEntry) -> None:
        """Fold one committed event into the state (restore, and the committed state)."""
        now = event.at.timestamp()
        self._replay(event, now)
        self._observe(event, now)
        self.next_offset = event.offset + 1
        self.committed_offset = event.offset

    # --- rebuilding from the log ----------------------------------------------------------

    @classmethod
    def restore(
        cls, interview_id: str, config: SessionConfig, entries: Iterable[LogEntry]
    ) -> InterviewSession:
        """Rebuild a session from its committed log. (A watcher's socket does not survive a
        restart: a resent watcher message is acked to whichever watcher resends it, see
        _duplicate.)"""
        session = cls(interview_id=interview_id, config=config)
        for entry in entries:
            session._apply_logged(entry)
        session._log_state = copy.deepcopy(session)
        return session

    def _replay(self, event: LogEntry, now: float) -> None:
        kind, data = event.kind, event.data
        if event.client_id is not None and event.sender is not None:
            self._seen[(event.sender, event.client_id)] = event.offset
            if sent_by_candidate(event.sender):
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
                self.injected.pop(0)
        elif kind in ("answer", "answer.timeout"):
            q = self.current_question
            if q is not None and q.question_id == data["question_id"]:
                if kind == "answer":
                    q.answer, q.status = data["text"], "answered"
                    q.answer_offset = event.offset
                    q.sentences = tuple(data.get("sentences", ()))
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
        """After a restore: log the server's own outage, re-arm timers and pick up where the
        log stops. The process may have died any time after the log's last event, and the
        candidate could not answer meanwhile: the outage counts from that last event (the
        candidate's favour), and the answer clock stands still until the candidate is back."""
        if self.phase in (Phase.SCHEDULED, Phase.ENDED):
            return []
        actions: list[Action] = []
        offline = self.proctoring.offline
        if not self.ended and (
            self._connected_in_log or (offline is not None and offline.kind != "server_restart")
        ):
            since = self._last_event_at if self._last_event_at is not None else now
            data = {
                "role": "candidate",
                "status": "disconnected",
                "cause": "server_restart",
                "since": iso(since),
            }
            actions.append(self._event("connection", data, now))
        return actions + self._continue(now, grace_from=now)

    def _continue(self, now: float, *, grace_from: float) -> list[Action]:
        """Re-arm the timers and go on from the current state (after a restore or a reset)."""
        if self.phase in (Phase.SCHEDULED, Phase.ENDED):
            return []
        if self.phase is Phase.EVALUATING:
            return [RequestEvaluation(self.end_reason or "completed")]
        actions: list[Action] = self._arm_total_timers()
        assert self.started_at is not None
        if now >= self.started_at + self.config.total_time_limit_s:
            return actions + self._finish("time_up", now)
        if not self.candidate_connected:
            actions.append(ArmTimer(Timer.GRACE, grace_from + self.config.reconnect_grace_s))
        if self.current_question is not None:
            done = self.question_done_message(now)
            assert done is not None
            return [*actions, *self._arm_answer_timers(), SendCandidate(done)]
        # Asking: the question being generated when the log stopped was never recorded.
        return actions + self._next_turn(now)
