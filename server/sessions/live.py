"""LiveInterview: the shell around one InterviewSession. It feeds the session events from
sockets, timers, the interviewer and the persistence queue, and carries out the actions the
session returns. Everything here runs on the event loop; nothing here waits on the database."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from server.errors import InterviewerError, InterviewerUnavailable
from server.interviewer.base import Interviewer, JobBrief, QuestionRequest
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import Error, Event, ScreenshotHeader, SessionReady
from server.sessions.connection import Connection
from server.sessions.persistence import EventWriter
from server.sessions.session import (
    Action,
    ArmTimer,
    CancelTimer,
    CloseCandidate,
    Finished,
    InterviewSession,
    NewEvent,
    Persist,
    RequestEvaluation,
    RequestQuestion,
    SendCandidate,
    SendWatcher,
    SendWatchers,
)

if TYPE_CHECKING:
    from server.protocol.messages import Answer, End, InjectQuestion, Proctor

log = structlog.get_logger(__name__)


def event_message(event: NewEvent) -> Event:
    return Event(offset=event.offset, at=event.at, kind=event.kind, data=event.data)


class Watcher:
    """A watcher socket. While it replays history from the database, live events wait in a
    buffer; the seam between the two is cut by offset, so there is no gap and no duplicate."""

    def __init__(self, connection: Connection, since: int) -> None:
        self.connection = connection
        self.id = connection.id
        self.last_sent = since
        self.replaying = True
        self._buffer: list[Event] = []

    def deliver(self, event: Event) -> None:
        if self.replaying:
            self._buffer.append(event)
        elif event.offset > self.last_sent:
            self.connection.send(event)
            self.last_sent = event.offset

    def finish_replay(self) -> None:
        self.replaying = False
        buffered, self._buffer = self._buffer, []
        for event in buffered:
            self.deliver(event)


class LiveInterview:
    def __init__(
        self,
        *,
        interview_id: uuid.UUID,
        session: InterviewSession,
        job: JobBrief,
        writer: EventWriter,
        interviewer: Interviewer,
        on_finished: Callable[[LiveInterview], None],
        expires_at: datetime | None = None,
    ) -> None:
        self.id = interview_id
        self.session = session
        self.job = job
        self.writer = writer
        self.interviewer = interviewer
        self._on_finished = on_finished
        self.expires_at = expires_at
        self.candidate: Connection | None = None
        self.watchers: dict[str, Watcher] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._close_candidate_after: tuple[int, CloseCandidate] | None = None
        self.finished: tuple[str, str] | None = None
        self.log = log.bind(interview_id=str(interview_id))

    # --- inputs ---------------------------------------------------------------------------

    def attach_candidate(self, connection: Connection, now: float) -> None:
        previous = self.candidate
        if previous is not None:
            self.apply(self.session.disconnect_candidate(now, replaced=True))
            previous.close(CloseCode.REPLACED, "replaced by a newer connection")
        resumed = self.session.phase.value != "scheduled"
        self.candidate = connection
        connection.send(
            SessionReady(
                interview_id=str(self.id),
                state="in_progress" if resumed else "scheduled",
                resumed=resumed,
                offset=self.session.committed_offset,
                last_client_id=self.session.last_acked_candidate_id,
                screenshot_interval_s=self.session.config.screenshot_interval_s,
            )
        )
        self.apply(self.session.connect_candidate(now))
        current = self.session.question_done_message(now)
        if resumed and current is not None:
            connection.send(current)
        elif self.session.asking is not None and self.session.asking_text:
            from server.protocol.messages import QuestionDelta

            connection.send(
                QuestionDelta(
                    question_id=self.session.asking.question_id, text=self.session.asking_text
                )
            )

    def detach_candidate(self, connection: Connection, now: float) -> None:
        if self.candidate is not connection:
            return
        self.candidate = None
        self.apply(self.session.disconnect_candidate(now))

    def overloaded(self, connection: Connection, client_id: str | None) -> bool:
        if not self.writer.saturated:
            return False
        connection.send(
            Error(
                code=ErrorCode.OVERLOADED,
                message="the server is busy; resend shortly",
                client_id=client_id,
            )
        )
        return True

    def candidate_message(self, message: Answer | Proctor | End) -> None:
        self.apply(self.session.receive_candidate(message, time.time()))

    def candidate_screenshot(
        self, header: ScreenshotHeader, image: bytes, content_type: str, width: int, height: int
    ) -> None:
        actions = self.session.receive_screenshot(
            header,
            image=image,
            content_type=content_type,
            width=width,
            height=height,
            now=time.time(),
        )
        self.apply(actions)

    def add_watcher(self, watcher: Watcher) -> None:
        self.watchers[watcher.id] = watcher

    def remove_watcher(self, watcher: Watcher) -> None:
        self.watchers.pop(watcher.id, None)
        # A scheduled interview nobody is connected to need not stay in memory.
        if self.session.phase.value == "scheduled" and self.candidate is None and not self.watchers:
            self._on_finished(self)

    def watcher_message(self, watcher: Watcher, message: InjectQuestion | End) -> None:
        self.apply(self.session.receive_watcher(watcher.id, message, time.time()))

    # --- carrying out actions -------------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Persist):
                self.writer.submit(self.id, action.event, self._committed, self._failed)
            elif isinstance(action, SendCandidate):
                if self.candidate is not None:
                    self.candidate.send(action.message)
            elif isinstance(action, SendWatcher):
                watcher = self.watchers.get(action.watcher_id)
                if watcher is not None:
                    watcher.connection.send(action.message)
            elif isinstance(action, SendWatchers):
                for watcher in list(self.watchers.values()):
                    if not watcher.replaying:
                        watcher.connection.send(action.message)
            elif isinstance(action, ArmTimer):
                self._arm(action.name, action.at)
            elif isinstance(action, CancelTimer):
                handle = self._timers.pop(action.name, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, RequestQuestion):
                self._spawn(self._generate_question(action))
            elif isinstance(action, RequestEvaluation):
                self._spawn(self._evaluate())
            elif isinstance(action, CloseCandidate):
                # Close once everything persisted so far is committed and acked.
                if self.candidate is not None:
                    self._close_candidate_after = (self.session.next_offset - 1, action)
                    self._maybe_close_candidate()
            elif isinstance(action, Finished):
                self.finished = (action.state, action.reason)
                self._maybe_finish()

    def _arm(self, name: str, at: float) -> None:
        previous = self._timers.pop(name, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, at - time.time())
        self._timers[name] = loop.call_later(delay, self._fire, name)

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.apply(self.session.timer_fired(name, time.time()))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _generate_question(self, request: RequestQuestion) -> None:
        q_request = QuestionRequest(
            job=self.job,
            transcript=self.session.transcript(),
            kind=request.kind,
            index=request.index,
        )
        parts: list[str] = []
        try:
            async for chunk in self.interviewer.stream_question(q_request):
                if not chunk:
                    continue
                parts.append(chunk)
                self.apply(self.session.question_delta(request.question_id, chunk))
        except InterviewerError as exc:
            # The provider's own text (which may quote part of an API key) stays in the
            # server's log; the candidate and the event log get a plain description.
            self.log.warning("interviewer.question_failed", error=str(exc))
            reason = (
                "the AI interviewer did not respond"
                if isinstance(exc, InterviewerUnavailable)
                else "the AI interviewer refused the request"
            )
            self.apply(self.session.question_failed(request.question_id, reason, time.time()))
            return
        except Exception as exc:
            self.log.exception("interviewer.question_crashed")
            self.apply(
                self.session.question_failed(request.question_id, type(exc).__name__, time.time())
            )
            return
        text = "".join(parts).strip()
        if not text:
            self.apply(
                self.session.question_failed(request.question_id, "empty question", time.time())
            )
            return
        self.apply(self.session.question_ready(request.question_id, text, time.time()))

    async def _evaluate(self) -> None:
        now = time.time()
        evaluation: dict[str, Any] | None
        try:
            result = await self.interviewer.evaluate(
                self.job, self.session.transcript(), self.session.proctoring_summary(now)
            )
            evaluation = result.model_dump(mode="json")
        except Exception as exc:
            if isinstance(exc, InterviewerError):
                self.log.warning("interviewer.evaluation_failed", error=str(exc))
            else:
                self.log.exception("interviewer.evaluation_failed")
            evaluation = {
                "error": f"the evaluation could not be produced: {exc.__class__.__name__}",
                "proctoring": dataclasses.asdict(self.session.proctoring_summary(now)),
            }
        self.apply(self.session.evaluation_ready(evaluation, time.time()))

    # --- persistence callbacks ------------------------------------------------------------

    def _committed(self, offset: int, events: list[NewEvent]) -> None:
        for event in events:
            message = event_message(event)
            for watcher in list(self.watchers.values()):
                watcher.deliver(message)
        self.apply(self.session.committed(offset))
        self._maybe_close_candidate()
        self._maybe_finish()

    def _failed(self, event: NewEvent, reason: str) -> None:
        if (
            event.client_id is not None
            and event.origin == "candidate"
            and self.candidate is not None
        ):
            self.candidate.send(
                Error(code=ErrorCode.OVERLOADED, message=reason, client_id=event.client_id)
            )

    def _maybe_close_candidate(self) -> None:
        if self._close_candidate_after is None:
            return
        last, close = self._close_candidate_after
        if self.session.committed_offset >= last:
            self._close_candidate_after = None
            if self.candidate is not None:
                if close.final is not None:
                    self.candidate.send(close.final)
                self.candidate.close(close.code, close.reason)

    def _maybe_finish(self) -> None:
        if self.finished is None or self.session.committed_offset < self.session.next_offset - 1:
            return
        for watcher in list(self.watchers.values()):
            watcher.connection.close(CloseCode.NORMAL, "interview ended")
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._on_finished(self)

    def expired(self, now: datetime) -> bool:
        """Scheduled, never started, and past its expiry."""
        return (
            self.expires_at is not None
            and self.session.phase.value == "scheduled"
            and self.expires_at <= now
        )

    # --- shutdown -------------------------------------------------------------------------

    def close_all(self, code: int, reason: str) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self.candidate is not None:
            self.candidate.close(code, reason)
        for watcher in list(self.watchers.values()):
            watcher.connection.close(code, reason)

    def shutdown(self) -> None:
        """The server is stopping: close every socket with 1012; the log is the state."""
        self.close_all(CloseCode.SERVER_RESTARTING, "server restarting")


def parse_at(value: datetime) -> float:
    return value.timestamp()
