"""Spoken answers to text: an OpenAI-compatible transcription API through the ``openai``
client (``audio.transcriptions.create``), on ``OPENHIRE_SPEECH_BASE_URL``.

An answer is sent whole, as a 16-bit mono WAV, once its end is found (server/speech/vad.py).
While it is spoken, each phrase of it may be sent too (``phrase``: one attempt, text only), for
the live transcript; the answer's own transcription is the one committed.
With ``stream`` (models that support it, like gpt-4o-transcribe), the text arrives as deltas,
passed to ``on_delta`` as they come: the live session shows them as ``transcript.delta``.

Without ``stream``, the text is asked for with its timing (``response_format="verbose_json"``,
``timestamp_granularities=["segment"]``), and the transcript keeps its sentences, timed in the
answer's audio (server/speech/sentences.py). Models that cannot time it (gpt-4o-transcribe and
gpt-4o-mini-transcribe take ``json`` only) are asked for ``json``; a model that refuses
``verbose_json`` (400, ``param: response_format``) is asked again at once for ``json``, and
never for timing again by this transcriber. A transcript without timing has no sentences.

Failures are classified by the rule the interviewer follows too (server/openai_retry.py), and only
transient ones are retried, here rather than in the client (``max_retries=0``):

- transient: connection errors, timeouts, 408, 409, 429 (but an exhausted quota), 5xx, an
  error event in a stream. Retried by that one rule (server/openai_retry.py:
  backoff with jitter, at least Retry-After, both capped) up to ``attempts``, then
  SpeechUnavailable.
- permanent: 400, 401, 403, 404, 413, 415, 422, an exhausted quota: SpeechFailed at once.

Either way the caller keeps the audio and marks the answer untranscribed: nothing is lost.
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Unpack

import structlog
from openai import (
    APIError,
    BadRequestError,
    omit,
)

from server.config import Settings
from server.openai_retry import describe
from server.speech.client import SpeechClient, SpeechOptions
from server.speech.sentences import Segment, timed_sentences

log = structlog.get_logger(__name__)

# OpenAI's models documented to answer json (or text) only: never asked for timing.
_UNTIMED_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")

OnDelta = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Transcript:
    """What the speech server heard, with the model that heard it and how long it took."""

    text: str
    model: str
    attempts: int
    seconds: float
    # The sentences, timed in the audio ({"text", "start_s", "end_s"}); None when the model
    # gave no timing.
    sentences: list[dict[str, Any]] | None = None


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM as a WAV file (what every transcription API takes)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return out.getvalue()


class Transcriber(SpeechClient):
    """Speech to text: one client to the speech server, shared by every live interview of the
    process."""

    call = "transcription"
    log_as = "speech.transcription_"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        stream: bool = False,
        language: str | None = None,
        **options: Unpack[SpeechOptions],
    ) -> None:
        super().__init__(api_key=api_key, model=model, **options)
        self.stream = stream
        self.language = language
        # Whether to ask for the timing of the text (see the module's docstring).
        self.timed = not stream and not model.startswith(_UNTIMED_MODELS)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        if settings.stt_model is None or not settings.speech_api_key:
            raise ValueError("OPENHIRE_STT_MODEL and a speech API key must be set")
        return cls(
            api_key=settings.speech_api_key,
            model=settings.stt_model,
            base_url=settings.speech_base_url,
            timeout_s=settings.stt_timeout_s,
            attempts=settings.stt_attempts,
            stream=settings.stt_stream,
            language=settings.stt_language,
        )

    async def transcribe(
        self, pcm: bytes, sample_rate: int, *, on_delta: OnDelta | None = None
    ) -> Transcript:
        """The text of one answer's audio. Raises SpeechFailed or SpeechUnavailable."""
        audio = wav_bytes(pcm, sample_rate)
        began = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                heard = await self._once(audio, len(pcm) / 2 / sample_rate, on_delta)
            except APIError as exc:
                await self._after_failure(exc, attempt)
                continue
            if heard is None:
                # A stream that ended without its done event was cut short: the server's
                # trouble, so worth another attempt.
                await self._after_failure(None, attempt)
                continue
            text, sentences = heard
            return Transcript(
                text=text.strip(),
                model=self.model,
                attempts=attempt,
                seconds=time.perf_counter() - began,
                sentences=sentences,
            )

    async def phrase(self, pcm: bytes, sample_rate: int) -> str | None:
        """The text of one phrase of an answer still being spoken, for the live transcript:
        one attempt, text only; None if it fails (the answer's own transcription, at its end,
        is the one retried and committed)."""
        file = ("phrase.wav", wav_bytes(pcm, sample_rate), "audio/wav")
        try:
            if self.language:
                result = await self._client.audio.transcriptions.create(
                    file=file, model=self.model, response_format="json", language=self.language
                )
            else:
                result = await self._client.audio.transcriptions.create(
                    file=file, model=self.model, response_format="json"
                )
        except APIError as exc:
            log.info("speech.phrase_not_transcribed", model=self.model, error=describe(exc))
            return None
        return result.text.strip()

    async def _once(
        self, audio: bytes, duration_s: float, on_delta: OnDelta | None
    ) -> tuple[str, list[dict[str, Any]] | None] | None:
        file = ("answer.wav", audio, "audio/wav")
        language = self.language or None
        if self.timed:
            try:
                verbose = await self._client.audio.transcriptions.create(
                    file=file,
                    model=self.model,
                    response_format="verbose_json",
                    timestamp_granularities=["segment"],
                    language=language or omit,
                )
            except BadRequestError as exc:
                if not _refuses_timing(exc):
                    raise
                # This model cannot time its text: ask for the text alone, now and from now on.
                log.info("speech.timestamps_refused", model=self.model, error=describe(exc))
                self.timed = False
            else:
                segments = [Segment(s.start, s.end, s.text) for s in verbose.segments or ()]
                # Times past the end of the audio sent are clamped to it.
                sentences = timed_sentences(segments, duration_s) if segments else None
                return verbose.text, (sentences if verbose.text.strip() else None)
        if not self.stream:
            if language:
                result = await self._client.audio.transcriptions.create(
                    file=file, model=self.model, response_format="json", language=language
                )
            else:
                result = await self._client.audio.transcriptions.create(
                    file=file, model=self.model, response_format="json"
                )
            return result.text, None
        events = await self._client.audio.transcriptions.create(
            file=file, model=self.model, response_format="json", stream=True
        )
        pieces: list[str] = []
        async for event in events:
            if event.type == "transcript.text.delta":
                pieces.append(event.delta)
                if on_delta is not None:
                    await on_delta(event.delta)
            elif event.type == "transcript.text.done":
                return event.text, None
        return None


def _refuses_timing(exc: BadRequestError) -> bool:
    """Whether a 400 is about asking for timing (OpenAI names the parameter; some compatible
    servers only say it)."""
    if exc.param in ("response_format", "timestamp_granularities"):
        return True
    return any(word in exc.message for word in ("verbose_json", "timestamp_granularities"))
