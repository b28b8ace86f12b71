"""LiveInterview: the shell around one InterviewSession. It feeds the session events from its
sockets (seen only as outboxes, ``server.sessions.outbox``), timers, the interviewer and the
persistence queue, and carries out the actions the session returns (``apply``: a ``match`` on
the closed ``Action`` union). Everything here runs on the event loop; nothing here waits on
the database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, assert_never

import av
import structlog

from server.errors import (
    InterviewerError,
    InterviewerFailed,
    InterviewerFailure,
    InterviewerUnavailable,
    ProtocolError,
)
from server.interviewer.base import Interviewer, JobBrief, QuestionRequest
from server.interviewer.evaluation import proctoring_record
from server.media.hub import InterviewMedia, MediaHub
from server.media.recorder import Segment
from server.protocol.codec import error_frame
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import (
    Answer,
    AnswerEnd,
    AnswerInProgress,
    AnswerPause,
    AnswerResume,
    End,
    InjectQuestion,
    Proctor,
    QuestionDelta,
    QuestionDone,
    QuestionUnspoken,
    ScreenshotHeader,
    ServerMessage,
    SessionReady,
    SpeechStarted,
)
from server.protocol.text import without_unstorable
from server.sessions.actions import (
    Action,
    ArmTimer,
    CancelTimer,
    CloseCandidate,
    DisconnectCause,
    Finished,
    LogEntry,
    Persist,
    Recording,
    RequestEvaluation,
    RequestQuestion,
    Reset,
    SendCandidate,
    SendWatcher,
    SendWatchers,
    Timer,
)
from server.sessions.deltas import DeltaCoalescer
from server.sessions.outbox import Outbox, WatcherOutbox
from server.sessions.persistence import EventWriter
from server.sessions.session import InterviewSession, Phase
from server.speech.answers import VoiceAnswers
from server.speech.sentences import place_evidence
from server.speech.spoken_questions import QuestionSpeaker
from server.speech.synthesize import Synthesizer
from server.speech.transcribe import Transcriber
from server.speech.voice_track import QuestionVoice

log = structlog.get_logger(__name__)

# Events failing for good this many times in a row, with no client message stored in between,
# mean a fault that resetting the session will not cure (a bug, a broken schema): the server's
# own events fail again each time it carries on. The interview is then closed (1011) rather
# than retried in a loop; it stays in progress in the database, and the next load (a reconnect,
# a restart) starts afresh from its log.
MAX_STORE_FAILURES = 3


# Why no question came, as the candidate reads it (in `error` `interviewer_failed`) and the log
# records it (`interviewer.error`): plain words, one sentence per kind of failure, never the
# provider's text.
_FAILED_BECAUSE: dict[InterviewerFailure, str] = {
    "refused_request": "the AI interviewer refused the request",
    "refusal": "the AI interviewer declined to write the next question",
    "length": "the AI interviewer's question was cut off before it was finished",
    "content_filter": "the AI interviewer's question was stopped by a content filter",
    "invalid_output": "the AI interviewer's reply could not be used",
}
_UNAVAILABLE = "the AI interviewer did not respond"
_EMPTY = "the AI interviewer wrote an empty question"
_CRASHED = "the AI interviewer failed unexpectedly"


def question_failure_text(exc: InterviewerError) -> str:
    if isinstance(exc, InterviewerFailed):
        return _FAILED_BECAUSE[exc.why]
    if isinstance(exc, InterviewerUnavailable):
        return _UNAVAILABLE
    return _CRASHED


def watcher_greeting(
    interview_id: uuid.UUID, state: str, offset: int, *, resumed: bool
) -> SessionReady:
    """A watcher's ``session.ready``: here, and behind several nodes on a node that does not
    own the interview (its state and offset then read from the database)."""
    return SessionReady(
        interview_id=str(interview_id),
        state="scheduled" if state == "scheduled" else "in_progress",
        resumed=resumed,
        offset=offset,
        last_client_id=None,
        role="watcher",
    )


@dataclass(frozen=True, slots=True)
class _CloseAfter:
    """A candidate close waiting for every entry up to ``offset`` to commit."""

    offset: int
    close: CloseCandidate


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
        self.candidate: Outbox | None = None
        self.watchers: dict[str, WatcherOutbox] = {}
        self._timers: dict[Timer, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._close_after: _CloseAfter | None = None
        self.finished: Finished | None = None
        self.log = log.bind(interview_id=str(interview_id))
        # Made by the first waiter (the evaluation, a settling close): most interviews have
        # none for most of their life.
        self._commit_waiter: asyncio.Event | None = None
        self._store_failures = 0
        self._gave_up = False
        self._stopping = False
        # Behind several nodes: the fencing epoch this node writes the log under, and whether
        # another node has taken the interview over since (then nothing more is written here).
        self.epoch: int | None = None
        self.fenced = False
        # WebRTC (server.media): the server's media service, and this interview's peers, made
        # on the first rtc.offer and closed when the interview ends, moves or the server stops.
        self.media_hub: MediaHub | None = None
        self.media: InterviewMedia | None = None
        # Spoken answers (server.speech), in an interview whose plan takes them: made on the
        # candidate's first audio frame; the transcriber is the process's (None: speech is not
        # configured, and spoken answers are kept untranscribed).
        self.transcriber: Transcriber | None = None
        self.synthesizer: Synthesizer | None = None
        self._question_voice: QuestionVoice | None = None
        self._question_speaker: QuestionSpeaker | None = None
        self.voice: VoiceAnswers | None = None
        # Who a spoken answer is logged as sent by (the candidate, as their socket's messages).
        self.candidate_sender = "candidate:00000000-0000-0000-0000-000000000000"
        self._resampler: Any = None
        self._voice_paused = False  # an answer.pause that came before the first audio
        # The answer lost in a restart that the candidate was told of (told once).
        self._told_lost: str | None = None

    # --- inputs ---------------------------------------------------------------------------

    def attach_candidate(self, outbox: Outbox, now: float) -> None:
        previous = self.candidate
        if previous is not None:
            if self.voice is not None:
                self.voice.hold()
            self.apply(self.session.disconnect_candidate(now, replaced=True))
            previous.close(CloseCode.REPLACED, "replaced by a newer connection")
        resumed = self.session.phase is not Phase.SCHEDULED
        self.candidate = outbox
        outbox.send(self._greeting("candidate", resumed=resumed))
        self.apply(self.session.connect_candidate(now))
        current = self.session.question_done_message(now)
        if resumed and current is not None:
            outbox.send(current)
        elif self.session.asking is not None and self.session.asking_text:
            outbox.send(
                QuestionDelta(
                    question_id=self.session.asking.question_id, text=self.session.asking_text
                )
            )

    @property
    def interview_state(self) -> Literal["scheduled", "in_progress"]:
        """The interview's state as a new socket is told it (``session.ready.state``), the
        same word for the candidate and for watchers: the interview row's state, which stays
        ``in_progress`` until the end is committed (an ended interview refuses sockets)."""
        return "scheduled" if self.session.phase.value == "scheduled" else "in_progress"

    async def settled(self, within_s: float) -> None:
        """Wait (at most ``within_s``) until every event proposed so far is committed, and so
        every message it holds is acked; an event that fails instead gets its error."""
        target = self.session.next_offset - 1
        try:
            async with asyncio.timeout(within_s):
                # A failure resets the session to fewer events: the target shrinks with it.
                while self.session.committed_offset < min(target, self.session.next_offset - 1):
                    if self._gave_up:
                        return
                    await self._next_commit()
        except TimeoutError:
            self.log.warning("session.not_settled", target=target)

    def detach_candidate(
        self, outbox: Outbox, now: float, cause: DisconnectCause = "network_drop"
    ) -> None:
        if self.candidate is not outbox:
            return
        if self.voice is not None:
            self.voice.hold()  # before the peer goes: what was heard of an open answer stays
        self.candidate = None
        if self.media is not None:
            self.media.close_peer_of(outbox)
        if self._stopping:
            cause = "server_restart"
        self.apply(self.session.disconnect_candidate(now, cause=cause))

    def add_watcher(self, watcher: WatcherOutbox, since: int) -> None:
        """Register a watcher and greet it; committed entries reach it from now on (its
        transport replays the log after ``since`` meanwhile)."""
        self.watchers[watcher.id] = watcher
        watcher.send(self._greeting("watcher", resumed=since > 0))

    def remove_watcher(self, watcher: WatcherOutbox) -> None:
        self.watchers.pop(watcher.id, None)
        if self.media is not None:
            self.media.close_peer_of(watcher)
        self.forget_if_idle()

    def forget_if_idle(self) -> None:
        # A scheduled interview nobody is connected to need not stay in memory.
        if self.session.phase is Phase.SCHEDULED and self.candidate is None and not self.watchers:
            self._on_finished(self)

    def _greeting(self, role: Literal["candidate", "watcher"], *, resumed: bool) -> SessionReady:
        """``session.ready``, the first message on every socket."""
        session = self.session
        interval = session.config.screenshot_interval_s
        media = self.media_hub.info(interval) if self.media_hub is not None else None
        if role == "watcher":
            greeting = watcher_greeting(
                self.id, self.interview_state, session.committed_offset, resumed=resumed
            )
            return greeting.model_copy(update={"media": media})
        return SessionReady(
            interview_id=str(self.id),
            state=self.interview_state,
            resumed=resumed,
            offset=session.committed_offset,
            last_client_id=session.last_acked_candidate_id,
            screenshot_interval_s=interval,
            media=media,
            answer_in_progress=self._answer_in_progress(),
        )

    def _answer_in_progress(self) -> AnswerInProgress | None:
        """The spoken answer the candidate's last connection left open: held here (``kept``),
        or, when the log says one had started that no process here heard, lost in a restart
        (``lost``, said once)."""
        if self.voice is not None:
            held = self.voice.held_answer()
            if held is not None:
                return AnswerInProgress(
                    question_id=held.question_id, status="kept", heard_s=held.heard_s
                )
        lost = self.session.open_spoken_answer()
        if lost is None or lost == self._told_lost:
            return None
        if self.voice is not None and self.voice.started_for == lost:
            return None  # heard here: ended, restarted, or dropped as noise
        self._told_lost = lost
        self.log.info("speech.answer_lost", question_id=lost)
        return AnswerInProgress(question_id=lost, status="lost", heard_s=None)

    # --- the candidate's media (server.media.peer.MediaSink) -------------------------------

    def media_for_signalling(self) -> InterviewMedia | None:
        """This interview's peers, made on first use; None when WebRTC is off."""
        if self.media_hub is None or not self.media_hub.enabled:
            return None
        if self.media is None or self.media.closed:
            if self._stopping or self.fenced or self.session.ended:
                return None
            self.media = InterviewMedia(self.media_hub, self, str(self.id))
        return self.media

    @property
    def snapshot_interval_s(self) -> float:
        return self.session.config.screenshot_interval_s

    def media_audio(self, frame: Any, now: float) -> None:
        """One frame of the candidate's microphone (server.media.peer): to the spoken-answer
        detector, as 16 kHz mono 16-bit PCM, in an interview that takes spoken answers."""
        if self.session.config.answer_mode == "text" or self.fenced or self._gave_up:
            return
        if self.voice is None:
            if self.media_hub is None:
                return
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            self.voice = VoiceAnswers(
                self,
                str(self.id),
                transcriber=self.transcriber,
                blobs=self.media_hub.blobs,
                settings=self.media_hub.settings,
                spawn=self._spawn,
            )
            self.voice.pause(self._voice_paused)
        try:
            resampled = self._resampler.resample(frame)
        except ValueError:
            # A new peer (a reconnect) may send another layout or rate: start afresh.
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            resampled = self._resampler.resample(frame)
        pcm = b"".join(f.to_ndarray().tobytes() for f in resampled)
        if pcm:
            self.voice.hear(pcm, now)

    @property
    def question_voice(self) -> QuestionVoice | None:
        """The server's audio track of spoken questions: with a speech model configured
        (OPENHIRE_TTS_MODEL), in an interview that takes spoken answers."""
        if self.synthesizer is None or self.session.config.answer_mode == "text":
            return None
        if self._question_voice is None:
            self._question_voice = QuestionVoice()
        return self._question_voice

    def _speak(self, message: QuestionDelta | QuestionDone) -> None:
        """A question, spoken on the server's track as it streams, sentence by sentence
        (server/speech/spoken_questions.py); the text is always sent too."""
        track = self.question_voice
        if self.synthesizer is None or track is None:
            return
        if self._question_speaker is None:
            self._question_speaker = QuestionSpeaker(
                self.synthesizer, track, on_skipped=self._unspoken, logger=self.log
            )
        if isinstance(message, QuestionDelta):
            self._question_speaker.delta(message.question_id, message.text)
        else:
            self._question_speaker.done(message.question_id, message.text)

    def _unspoken(self, question_id: str, text: str, error: str) -> None:
        """A piece of the question could not be spoken: the candidate is told which (their
        client may speak it, or leave it to the text shown)."""
        if self.candidate is not None:
            self.candidate.send(
                QuestionUnspoken(
                    question_id=question_id,
                    text=text,
                    message="This part of the question could not be spoken; it is shown as text.",
                )
            )

    def _silence_question(self) -> None:
        if self._question_speaker is not None:
            self._question_speaker.stop()

    # --- spoken answers (server.speech.answers.VoiceHost) -----------------------------------

    def listening_for(self) -> str | None:
        if self.candidate is None or self.fenced or self._gave_up:
            return None
        return self.session.listening_for()

    def voice_live(self, message: ServerMessage) -> None:
        """Live only, never logged: to the candidate and every watcher. The candidate
        speaking stops the question's speech (barge-in)."""
        if isinstance(message, SpeechStarted):
            self._silence_question()
        if self.candidate is not None:
            self.candidate.send(message)
        for watcher in list(self.watchers.values()):
            watcher.send_live(message)

    def voice_started(self, question_id: str) -> None:
        if not self.fenced and not self._gave_up:
            self.apply(self.session.voice_started(question_id, time.time()))

    def voice_reply(self, message: ServerMessage) -> None:
        if self.candidate is not None:
            self.candidate.send(message)

    def voice_refuse(self, code: ErrorCode, message: str, client_id: str) -> None:
        if self.candidate is not None:
            self.candidate.send(error_frame(ProtocolError(code, message, client_id)))

    def voice_answer(
        self,
        question_id: str,
        text: str,
        data: dict[str, Any],
        recording: Recording | None,
        client_id: str,
    ) -> None:
        if self.fenced or self._gave_up:
            return
        self.apply(
            self.session.voice_answer(
                question_id, text, data, recording, client_id, self.candidate_sender, time.time()
            )
        )

    def media_event(self, data: dict[str, Any]) -> None:
        if not self.fenced and not self._gave_up:
            self.apply(self.session.media_event(data, time.time()))

    def media_snapshot(self, image: bytes, width: int, height: int, taken_at: float) -> None:
        if self.fenced or self._gave_up or self.writer.saturated:
            return  # a snapshot is dropped under load, never queued
        self.apply(
            self.session.media_snapshot(
                image, width=width, height=height, taken_at=taken_at, now=time.time()
            )
        )

    def media_recording(self, key: str, segment: Segment) -> None:
        if self.fenced or self._gave_up:
            return
        data = {
            "track": segment.track,
            "content_type": segment.content_type,
            "size_bytes": len(segment.data),
            "started_at": datetime.fromtimestamp(segment.started_at, UTC).isoformat(),
            "ended_at": datetime.fromtimestamp(segment.ended_at, UTC).isoformat(),
        }
        recording = Recording(key, segment.content_type, len(segment.data))
        self.apply(self.session.media_recording(key, data, recording, time.time()))

    def _close_media(self, *, abort: bool = False) -> None:
        # The question's speech stops with the media: the interview ended, moved or stopped.
        self._silence_question()
        if self.media is not None:
            if abort:
                self.media.abort()
            else:
                self.media.close_soon()

    # --- what the sockets send: one entry per kind of frame ----------------------------------

    def candidate_message(
        self,
        outbox: Outbox,
        message: Answer | AnswerEnd | AnswerPause | AnswerResume | Proctor | End,
        sender: str,
    ) -> None:
        if isinstance(message, AnswerEnd | AnswerPause | AnswerResume):
            self._voice_command(outbox, message)
            return
        if self._overloaded(outbox, message.client_id):
            return
        self.apply(self.session.receive_candidate(message, time.time(), sender))

    def _voice_command(
        self, outbox: Outbox, message: AnswerEnd | AnswerPause | AnswerResume
    ) -> None:
        if self.session.config.answer_mode == "text":
            refusal = ProtocolError(
                ErrorCode.NOT_VOICE, "this interview takes typed answers", message.client_id
            )
            outbox.send(error_frame(refusal))
        elif isinstance(message, AnswerPause):
            self._voice_paused = message.paused
            if self.voice is not None:
                self.voice.pause(message.paused)
        elif isinstance(message, AnswerResume):
            if self.voice is None:
                refusal = ProtocolError(
                    ErrorCode.NO_ANSWER_IN_PROGRESS,
                    "no spoken answer was left open by your last connection",
                    message.client_id,
                )
                outbox.send(error_frame(refusal))
            else:
                self.voice.resume(message.client_id, message.question_id, message.mode)
        elif self.voice is None:
            refusal = ProtocolError(
                ErrorCode.NO_SPEECH,
                "no audio has reached the server: start the microphone (rtc.offer)",
                message.client_id,
            )
            outbox.send(error_frame(refusal))
        elif not self._overloaded(outbox, message.client_id):
            self.voice.end(message.client_id, message.question_id)

    def candidate_screenshot(
        self,
        outbox: Outbox,
        header: ScreenshotHeader,
        image: bytes,
        content_type: str,
        width: int,
        height: int,
        sender: str,
    ) -> None:
        if self._overloaded(outbox, header.client_id):
            return
        actions = self.session.receive_screenshot(
            header,
            image=image,
            content_type=content_type,
            width=width,
            height=height,
            now=time.time(),
            sender=sender,
        )
        self.apply(actions)

    def watcher_message(
        self, watcher: WatcherOutbox, message: InjectQuestion | End, sender: str
    ) -> None:
        if self._overloaded(watcher, message.client_id):
            return
        self.apply(self.session.receive_watcher(watcher.id, message, time.time(), sender))

    def _overloaded(self, outbox: Outbox, client_id: str | None) -> bool:
        """When the persistence queue is over its limit, a client message is refused (the
        client resends it) rather than queued."""
        if not self.writer.saturated:
            return False
        busy = ProtocolError(ErrorCode.OVERLOADED, "the server is busy; resend shortly", client_id)
        outbox.send(error_frame(busy))
        return True

    # --- carrying out actions -------------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Persist():
                    self.writer.submit(self.id, action, self)
                case SendCandidate(message):
                    if self.candidate is not None:
                        self.candidate.send(message)
                    if isinstance(message, QuestionDelta | QuestionDone):
                        self._speak(message)
                case SendWatcher(watcher_id, message):
                    watcher = self.watchers.get(watcher_id)
                    if watcher is not None:
                        watcher.send(message)
                case SendWatchers(message):
                    for watcher in list(self.watchers.values()):
                        watcher.send_live(message)
                case ArmTimer(name, at):
                    self._arm(name, at)
                case CancelTimer(name):
                    handle = self._timers.pop(name, None)
                    if handle is not None:
                        handle.cancel()
                case RequestQuestion():
                    self._spawn(self._generate_question(action))
                case RequestEvaluation():
                    self._spawn(self._evaluate())
                case CloseCandidate():
                    # Close once everything persisted so far is committed and acked.
                    if self.candidate is not None:
                        self._close_after = _CloseAfter(self.session.next_offset - 1, action)
                        self._maybe_close_candidate()
                case Finished():
                    self.finished = action
                    self._maybe_finish()
                case Reset():
                    # Everything decided on the forgotten events goes: timers, interviewer
                    # work (a question or an evaluation built on them), a close waiting for
                    # them.
                    self._cancel_timers()
                    for task in list(self._tasks):
                        task.cancel()
                    self._silence_question()
                    self._close_after = None
                    self.finished = None
                case _:
                    assert_never(action)
        if self.session.ended:
            # The interview is over: its media stops, the recordings' last segments stored,
            # and so does the question's speech (with or without media).
            self._silence_question()
            if self.media is not None and not self.media.closed:
                self._close_media()

    def _arm(self, name: Timer, at: float) -> None:
        previous = self._timers.pop(name, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, at - time.time())
        self._timers[name] = loop.call_later(delay, self._fire, name)

    def _fire(self, name: Timer) -> None:
        self._timers.pop(name, None)
        self.apply(self.session.timer_fired(name, time.time()))

    async def _next_commit(self) -> None:
        """Wait until the writer next reports on this interview (a commit, a failure)."""
        if self._commit_waiter is None:
            self._commit_waiter = asyncio.Event()
        self._commit_waiter.clear()
        await self._commit_waiter.wait()

    def _commit_seen(self) -> None:
        if self._commit_waiter is not None:
            self._commit_waiter.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
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
        deltas = DeltaCoalescer(
            lambda text: self.apply(self.session.question_delta(request.question_id, text))
        )
        try:
            async for raw in self.interviewer.stream_question(q_request):
                chunk = without_unstorable(raw)
                if not chunk:
                    continue
                parts.append(chunk)
                deltas.add(chunk)
            # What streamed goes out before the question is done or failed, as it did.
            deltas.flush()
        except InterviewerError as exc:
            deltas.flush()
            # The provider's own text (which may quote part of an API key, or a refusal's
            # wording) stays in the server's log; the candidate and the event log get a plain
            # sentence saying what kind of failure it was.
            self.log.warning("interviewer.question_failed", error=str(exc))
            self.apply(
                self.session.question_failed(
                    request.question_id, question_failure_text(exc), time.time()
                )
            )
            return
        except Exception:
            deltas.flush()
            self.log.exception("interviewer.question_crashed")
            self.apply(self.session.question_failed(request.question_id, _CRASHED, time.time()))
            return
        finally:
            deltas.close()
        text = "".join(parts).strip()
        if not text:
            self.apply(self.session.question_failed(request.question_id, _EMPTY, time.time()))
            return
        self.apply(self.session.question_ready(request.question_id, text, time.time()))

    async def _evaluate(self) -> None:
        # The evaluation reads what is committed, never what is still on its way: wait for
        # every event proposed so far (a failure among them cancels this task).
        target = self.session.next_offset - 1
        while self.session.committed_offset < target:
            await self._next_commit()
        now = time.time()
        summary = self.session.committed_proctoring_summary(now)
        evaluation: dict[str, Any] | None
        try:
            result = await self.interviewer.evaluate(
                self.job, self.session.committed_transcript(), summary
            )
            evaluation = without_unstorable(result.model_dump(mode="json"))
            # Each quote with the answer it quotes and, if spoken, the second it was said.
            evaluation = place_evidence(evaluation, self.session.answer_places())
        except Exception as exc:
            if isinstance(exc, InterviewerError):
                self.log.warning("interviewer.evaluation_failed", error=str(exc))
            else:
                self.log.exception("interviewer.evaluation_failed")
            evaluation = {
                "error": f"the evaluation could not be produced: {exc.__class__.__name__}",
                "proctoring": proctoring_record(summary),
            }
        self.apply(self.session.evaluation_ready(evaluation, time.time()))

    # --- persistence callbacks (server.sessions.persistence.EventSink) ----------------------

    def wants_stored(self, generation: int) -> bool:
        return not self._gave_up and not self.fenced and generation == self.session.generation

    def on_fenced(self) -> None:
        """Another node took the interview over while this one was away (paused, cut off):
        stop at once, unacked; the candidate reconnects and finds the new owner."""
        if self.fenced:
            return
        self.fenced = True
        self.log.warning("session.fenced", epoch=self.epoch)
        self._close_media(abort=True)
        self._commit_seen()
        self.close_all(CloseCode.SERVER_RESTARTING, "the interview moved to another server")
        self._on_finished(self)

    def on_committed(self, entries: list[LogEntry]) -> None:
        for entry in entries:
            webrtc = entry.kind == "screenshot" and entry.data.get("source") == "webrtc"
            if webrtc and self.media_hub is not None:
                taken_at = datetime.fromisoformat(entry.data["taken_at"]).timestamp()
                self.media_hub.snapshot_committed(taken_at, time.time())
            event = entry.as_event()
            for watcher in list(self.watchers.values()):
                watcher.send_entry(event)
        self.apply(self.session.committed(entries[-1].offset))
        if any(e.client_id is not None for e in entries):
            self._store_failures = 0
        self._commit_seen()
        self._maybe_close_candidate()
        self._maybe_finish()

    def on_failed(self, entry: LogEntry, generation: int, reason: str) -> None:
        """An entry failed for good: the session forgets it and what came after it."""
        if not self.wants_stored(generation):
            return
        self._commit_seen()  # whoever waits for commits (settled) looks again
        self._store_failures += 1
        if self._store_failures >= MAX_STORE_FAILURES:
            self.log.error("session.gave_up", failures=self._store_failures, kind=entry.kind)
            self._gave_up = True
            self.close_all(CloseCode.INTERNAL_ERROR, "the server could not store this interview")
            self._on_finished(self)
            return
        self.log.warning(
            "session.event_forgotten", offset=entry.offset, kind=entry.kind, reason=reason
        )
        self.apply(self.session.failed(entry.offset, time.time()))

    def _maybe_close_candidate(self) -> None:
        if self._close_after is None:
            return
        close = self._close_after.close
        if self.session.committed_offset >= self._close_after.offset:
            self._close_after = None
            if self.candidate is not None:
                if close.final is not None:
                    self.candidate.send(close.final)
                self.candidate.close(close.code, close.reason)

    def _maybe_finish(self) -> None:
        if self.finished is None or self.session.committed_offset < self.session.next_offset - 1:
            return
        for watcher in list(self.watchers.values()):
            watcher.close(CloseCode.NORMAL, "interview ended")
        self._cancel_timers()
        self._on_finished(self)

    def _cancel_timers(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def expired(self, now: datetime) -> bool:
        """Scheduled, never started, and past its expiry."""
        return (
            self.expires_at is not None
            and self.session.phase is Phase.SCHEDULED
            and self.expires_at <= now
        )

    # --- shutdown -------------------------------------------------------------------------

    def close_all(self, code: CloseCode, reason: str) -> None:
        self._close_media()
        self._cancel_timers()
        for task in list(self._tasks):
            task.cancel()
        if self.candidate is not None:
            self.candidate.close(code, reason)
        for watcher in list(self.watchers.values()):
            watcher.close(code, reason)

    def outboxes(self) -> list[Outbox]:
        candidate: list[Outbox] = [self.candidate] if self.candidate is not None else []
        return candidate + list(self.watchers.values())

    def hand_over(self, now: float) -> None:
        """Another node takes the interview over (the candidate connected there, or this node
        is stopping): log the candidate's socket here as a server move, close it (a newer one
        is live elsewhere), and stop the timers and the interviewer's work; the caller waits for
        the log to settle before releasing the lease. The new owner rebuilds from the log."""
        self._stopping = True
        self._close_media()
        candidate = self.candidate
        if candidate is not None:
            self.candidate = None
            self.apply(self.session.disconnect_candidate(now, cause="server_restart"))
            candidate.close(CloseCode.REPLACED, "the interview moved to another server")
        self._close_after = None
        self._cancel_timers()
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self) -> None:
        """The server is stopping: close every socket with 1012; the log is the state."""
        self._stopping = True
        self.close_all(CloseCode.SERVER_RESTARTING, "server restarting")
