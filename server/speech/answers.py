"""One live interview's spoken answers: the candidate's audio in, committed answers out.

``VoiceAnswers`` sits between the candidate's WebRTC audio (server/media/peer.py hands it every
frame, as 16 kHz mono 16-bit PCM) and the session (server/sessions/session.py). While the
session is waiting for a spoken answer (``listening_for``), the audio goes through an
``Endpointer``; when it finds the end of the answer (a silence, the maximum length, or the
candidate's ``answer.end``), the answer is stored, transcribed and handed to the session:

1. its audio is written to the blob store as a WAV (``recordings/<interview>/answer-...``);
2. it is transcribed (server/speech/transcribe.py), the deltas of a streaming model shown
   live as ``transcript.delta`` to the candidate and watchers (unless its phrases were, below);
3. ``transcript.done`` goes to both, and the session logs the ``answer`` (``source: voice``,
   its audio's key, speech start and end, the model, its sentences timed in the audio when
   the model gave timestamps), acked to the candidate once committed.

While the answer is spoken (``OPENHIRE_STT_LIVE``, on by default), the endpointer also cuts it
into phrases at short pauses (``PHRASE_SILENCE_S``); each is transcribed as soon as it is heard
(one attempt, text only) and its text sent as ``transcript.delta``, in order, while the answer
is still open: a live transcript. Phrases still being transcribed when the answer ends are not
sent; ``transcript.done`` carries the committed text, from the whole answer, which replaces them.

A transcription that fails for good still gives an answer: its text is empty, it is marked
``transcribed: false`` and its audio is kept; the candidate is told. Audio that arrives while
an answer is being stored and transcribed is not heard (the next question has not come yet).

An answer still open when the candidate's connection goes (``hold``) is kept here, with the
interview rather than the peer: a ``HeldAnswer``. On their return the candidate continues it
(new speech, found by a fresh endpointer, is added after it: the committed answer's audio and
transcript are the whole) or restarts it (``resume``). Each answer's first speech is also
logged as ``answer.started`` (``VoiceHost.voice_started``): after a server restart the log says
an answer was open and lost with the process, and the candidate is told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import structlog

from server.config import Settings
from server.errors import BlobStoreError, SpeechError
from server.protocol.codes import ErrorCode
from server.protocol.messages import (
    AnswerResumed,
    ServerMessage,
    SpeechStarted,
    TranscriptDelta,
    TranscriptDone,
)
from server.sessions.actions import Recording
from server.speech.transcribe import Transcriber, wav_bytes
from server.speech.vad import AnswerEnded, Endpointer, PhraseHeard, SpeechDropped
from server.speech.vad import SpeechStarted as Heard
from server.store.blobs import BlobStore

log = structlog.get_logger(__name__)

RATE = 16000
# A pause this long inside an answer ends a phrase of the live transcript.
PHRASE_SILENCE_S = 0.3
UNTRANSCRIBED = (
    "We could not transcribe your answer. Your recording is kept for the recruiter, and the"
    " interview goes on."
)


@dataclass(frozen=True, slots=True)
class HeldAnswer:
    """What was heard of an answer that had not ended when the candidate's connection went:
    its audio and times (``answer``, in the stream that started at wall-clock ``origin``)."""

    question_id: str
    answer: AnswerEnded
    origin: float

    @property
    def heard_s(self) -> float:
        return round(self.answer.duration, 2)


def joined(held: HeldAnswer, answer: AnswerEnded, origin: float) -> AnswerEnded:
    """``answer`` (its times in the stream that started at ``origin``) after what was held:
    one answer, its times in that same stream (its start before the stream's)."""
    return AnswerEnded(
        pcm=held.answer.pcm + answer.pcm,
        sample_rate=answer.sample_rate,
        speech_start=held.origin + held.answer.speech_start - origin,
        speech_end=answer.speech_end,
        reason=answer.reason,
    )


class LiveTranscript:
    """The live transcript of one answer while it is spoken: its phrases, transcribed as they
    are heard (several at once), their text sent in the order they were said, until the answer
    ends (``open`` goes false)."""

    def __init__(self, question_id: str) -> None:
        self.question_id = question_id
        self.open = True
        self.sent = False  # a phrase's text went out
        self.last: asyncio.Event | None = None  # set when the phrase before is sent or dropped


class VoiceHost(Protocol):
    """What VoiceAnswers needs of its live interview."""

    def listening_for(self) -> str | None: ...

    def voice_live(self, message: ServerMessage) -> None: ...

    def voice_started(self, question_id: str) -> None: ...

    def voice_reply(self, message: ServerMessage) -> None: ...

    def voice_refuse(self, code: ErrorCode, message: str, client_id: str) -> None: ...

    def voice_answer(
        self,
        question_id: str,
        text: str,
        data: dict[str, Any],
        recording: Recording | None,
        client_id: str,
    ) -> None: ...


class VoiceAnswers:
    def __init__(
        self,
        host: VoiceHost,
        interview_id: str,
        *,
        transcriber: Transcriber | None,
        blobs: BlobStore,
        settings: Settings,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.host = host
        self.interview_id = interview_id
        self.transcriber = transcriber
        self.blobs = blobs
        self.settings = settings
        self.spawn = spawn
        self.question_id: str | None = None
        self.endpointer: Endpointer | None = None
        self.origin = 0.0  # the wall-clock time of the endpointer's stream position 0
        self.busy: str | None = None  # the question whose answer is being finished
        self.ended_at: float | None = None  # monotonic: when the last answer's end was found
        self.paused = False
        self.late_end: dict[str, str] = {}
        # An answer left open by the candidate's last connection (``hold``), until it is
        # ended, restarted, or its question stops waiting.
        self.held: HeldAnswer | None = None
        # The last question whose answer this process heard start: an ``answer.started`` in
        # the log for it is not an answer lost in a restart.
        self.started_for: str | None = None
        # The answer being spoken's live transcript (None: none, or OPENHIRE_STT_LIVE off).
        self.live: LiveTranscript | None = None

    @property
    def live_phrases(self) -> bool:
        return self.transcriber is not None and self.settings.stt_live

    def _listen(self, now: float) -> Endpointer | None:
        """The endpointer for the question awaiting an answer now (a fresh one per question)."""
        question_id = self.host.listening_for()
        if question_id is None or question_id == self.busy:
            self.question_id = self.endpointer = None
            return None
        if self.held is not None and self.held.question_id != question_id:
            self.held = None  # its question was answered or timed out meanwhile
        if question_id != self.question_id or self.endpointer is None:
            s = self.settings
            # A continued answer is bounded as one: what was held counts toward the maximum.
            kept = self.held.answer.duration if self.held is not None else 0.0
            self.question_id = question_id
            self.endpointer = Endpointer(
                sample_rate=RATE,
                end_silence_s=s.speech_end_silence_s,
                min_speech_s=s.speech_min_answer_s,
                max_answer_s=max(0.03, s.speech_max_answer_s - kept),
                aggressiveness=s.vad_aggressiveness,
                phrase_silence_s=PHRASE_SILENCE_S if self.live_phrases else None,
            )
            self.endpointer.paused = self.paused
            self.origin = now
        return self.endpointer

    def hear(self, pcm: bytes, at: float) -> None:
        """16 kHz mono 16-bit PCM from the candidate's microphone, ``at`` the wall-clock time
        it ended."""
        endpointer = self._listen(at - len(pcm) / 2 / RATE)
        if endpointer is None:
            return
        for event in endpointer.feed(pcm):
            if isinstance(event, Heard):
                question_id = self.question_id or ""
                if self.held is None:
                    # A new answer (not one continued): the log says it is open.
                    self.started_for = question_id
                    self.host.voice_started(question_id)
                self.host.voice_live(SpeechStarted(question_id=question_id))
                if self.live_phrases:
                    self._close_live()
                    self.live = LiveTranscript(question_id)
            elif isinstance(event, PhraseHeard):
                self._phrase(event)
            elif isinstance(event, AnswerEnded):
                self._ended(event, None)
            elif isinstance(event, SpeechDropped):
                log.info("speech.dropped_as_noise", at=event.at)

    def _phrase(self, phrase: PhraseHeard) -> None:
        live = self.live
        if live is None or not live.open or self.transcriber is None:
            return
        before, live.last = live.last, asyncio.Event()
        self.spawn(self._say_phrase(live, phrase, before, live.last))

    async def _say_phrase(
        self,
        live: LiveTranscript,
        phrase: PhraseHeard,
        before: asyncio.Event | None,
        done: asyncio.Event,
    ) -> None:
        """One phrase's text, sent after the phrase before it and only while its answer is
        open."""
        try:
            assert self.transcriber is not None
            text = await self.transcriber.phrase(phrase.pcm, phrase.sample_rate)
            if before is not None:
                await before.wait()
            if text and live.open:
                piece = f" {text}" if live.sent else text
                self.host.voice_live(TranscriptDelta(question_id=live.question_id, text=piece))
                live.sent = True
        finally:
            done.set()

    def _close_live(self) -> bool:
        """The answer's live transcript ends (phrases still being transcribed are not sent);
        whether any of it was sent."""
        live, self.live = self.live, None
        if live is None:
            return False
        live.open = False
        return live.sent

    def end(self, client_id: str, question_id: str) -> None:
        """The candidate's ``answer.end``: the answer ends now, with what was heard."""
        if self.busy == question_id:
            # The server found the end first and is still transcribing: the first answer.end
            # sent meanwhile is the one acked when it commits; any more are refused.
            if question_id in self.late_end:
                message = "this answer has ended already: it is being transcribed"
                self.host.voice_refuse(ErrorCode.NO_SPEECH, message, client_id)
            else:
                self.late_end[question_id] = client_id
            return
        endpointer = self._listen(time.time())
        if endpointer is None or self.question_id != question_id:
            self.host.voice_refuse(
                ErrorCode.STALE_QUESTION,
                f"question {question_id!r} is not awaiting a spoken answer",
                client_id,
            )
            return
        answer = endpointer.finish()
        held = self.held
        if not isinstance(answer, AnswerEnded) and held is not None:
            # Continued, and nothing new said: the answer is what was heard before.
            self.question_id = self.endpointer = None
            self.held = None
            self._ended(held.answer, client_id, question_id, held.origin)
            return
        if not isinstance(answer, AnswerEnded):
            self.host.voice_refuse(
                ErrorCode.NO_SPEECH,
                "no speech was heard for this question yet: speak, or type your answer",
                client_id,
            )
            return
        self._ended(answer, client_id)

    def hold(self) -> None:
        """The candidate's connection is going: an answer heard and not ended is kept (with
        what was held before, if it was a continued one), to continue or restart later."""
        endpointer, question_id = self.endpointer, self.question_id
        self.question_id = self.endpointer = None
        self._close_live()
        if endpointer is None or question_id is None or not endpointer.speaking:
            return
        answer = endpointer.finish()
        if not isinstance(answer, AnswerEnded):
            return
        if self.held is not None and self.held.question_id == question_id:
            answer = joined(self.held, answer, self.origin)
        self.held = HeldAnswer(question_id, answer, self.origin)
        log.info("speech.answer_held", question_id=question_id, heard_s=self.held.heard_s)

    def held_answer(self) -> HeldAnswer | None:
        """The answer held from the last connection, if its question still waits for it."""
        if self.held is not None and self.held.question_id != self.host.listening_for():
            self.held = None
        return self.held

    def resume(
        self, client_id: str, question_id: str, mode: Literal["continue", "restart"]
    ) -> None:
        """The candidate's ``answer.resume``: go on with the held answer, or drop it."""
        held = self.held_answer()
        if held is None:
            self.host.voice_refuse(
                ErrorCode.NO_ANSWER_IN_PROGRESS,
                "no spoken answer was left open by your last connection",
                client_id,
            )
            return
        if held.question_id != question_id:
            self.host.voice_refuse(
                ErrorCode.STALE_QUESTION,
                f"the answer in progress is to question {held.question_id!r}, not {question_id!r}",
                client_id,
            )
            return
        if mode == "restart":
            self.held = None
        heard = held.heard_s if mode == "continue" else 0.0
        log.info("speech.answer_resumed", question_id=question_id, mode=mode)
        self.host.voice_reply(
            AnswerResumed(client_id=client_id, question_id=question_id, mode=mode, heard_s=heard)
        )

    def pause(self, paused: bool) -> None:
        self.paused = paused
        if self.endpointer is not None:
            if paused:
                self.endpointer.pause()
            else:
                self.endpointer.resume()

    def _ended(
        self,
        answer: AnswerEnded,
        client_id: str | None,
        question_id: str | None = None,
        origin: float | None = None,
    ) -> None:
        question_id = question_id or self.question_id
        assert question_id is not None
        origin = self.origin if origin is None else origin
        held, self.held = self.held, None
        if held is not None and held.question_id == question_id:
            answer = joined(held, answer, origin)  # a continued answer: the whole of it
        self.busy = question_id
        self.ended_at = time.monotonic()
        self.question_id = self.endpointer = None
        shown = self._close_live()
        client_id = client_id or f"voice:{question_id}"
        self.spawn(self._finish(question_id, answer, client_id, origin, shown))

    async def _finish(
        self, question_id: str, answer: AnswerEnded, client_id: str, origin: float, shown: bool
    ) -> None:
        try:
            await self._store_and_transcribe(question_id, answer, client_id, origin, shown)
        finally:
            if self.busy == question_id:
                self.busy = None

    async def _store_and_transcribe(
        self, question_id: str, answer: AnswerEnded, client_id: str, origin: float, shown: bool
    ) -> None:
        """``shown``: its phrases were sent live (the whole answer's deltas are not, then)."""
        started = datetime.fromtimestamp(origin + answer.speech_start, UTC)
        key = (
            f"recordings/{self.interview_id}/answer-{question_id}-"
            f"{int(started.timestamp() * 1000)}.wav"
        )
        audio = wav_bytes(answer.pcm, answer.sample_rate)
        recording: Recording | None = Recording(key, "audio/wav", len(audio))
        try:
            await self.blobs.put(key, audio, "audio/wav", within_s=30.0)
        except BlobStoreError as exc:
            log.warning("speech.audio_not_stored", question_id=question_id, error=repr(exc))
            recording = None
        text, model, transcribed, problem = "", None, False, None
        sentences: list[dict[str, Any]] | None = None
        if self.transcriber is not None:
            model = self.transcriber.model

            async def delta(piece: str) -> None:
                self.host.voice_live(TranscriptDelta(question_id=question_id, text=piece))

            try:
                transcript = await self.transcriber.transcribe(
                    answer.pcm, answer.sample_rate, on_delta=None if shown else delta
                )
                text, transcribed = transcript.text, True
                sentences = transcript.sentences
            except SpeechError as exc:
                problem = type(exc).__name__
        ended = datetime.fromtimestamp(origin + answer.speech_end, UTC).isoformat()
        data: dict[str, Any] = {
            "blob_key": recording.key if recording is not None else None,
            "speech_start": started.isoformat(),
            "speech_end": ended,
            # What the artifact listing shows of a recording: its track and span.
            "track": "audio",
            "started_at": started.isoformat(),
            "ended_at": ended,
            "duration_s": round(answer.duration, 3),
            "ended_by": answer.reason,
            "model": model,
            "transcribed": transcribed,
        }
        if recording is not None:
            data |= {"content_type": recording.content_type, "size_bytes": recording.size_bytes}
        if problem is not None:
            data["transcription_error"] = problem
        if sentences:  # timed in the audio: only when the model gave timestamps
            data["sentences"] = sentences
        self.host.voice_live(
            TranscriptDone(
                question_id=question_id,
                text=text,
                transcribed=transcribed,
                message=None if transcribed else UNTRANSCRIBED,
            )
        )
        client_id = self.late_end.pop(question_id, client_id)
        self.host.voice_answer(question_id, text, data, recording, client_id)
