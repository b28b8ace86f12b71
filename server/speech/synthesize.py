"""Questions to speech: an OpenAI-compatible speech API (``audio.speech.create``) on
``OPENHIRE_SPEECH_BASE_URL``, with ``OPENHIRE_TTS_MODEL`` and ``OPENHIRE_TTS_VOICE``.

``Synthesizer.speak(text)`` returns the question as 24 kHz mono 16-bit PCM (the API's ``pcm``
format), what an audio track sends after resampling. Failures are classified as
transcription's are (server/speech/transcribe.py) and retried by the same rule
(server/openai_retry.py: backoff with jitter, at least Retry-After, both capped); one that
outlasts the retries raises, and the text is still shown (server/speech/spoken_questions.py
says what then happens to the question's speech).
"""

from __future__ import annotations

import httpx2
import structlog
from openai import APIError

from server.config import Settings
from server.errors import SpeechFailed, SpeechUnavailable
from server.openai_retry import Backoff, after_failure
from server.speech.transcribe import speech_client

log = structlog.get_logger(__name__)

PCM_RATE = 24000  # the speech API's pcm: 24 kHz, 16-bit signed little-endian, mono
MAX_INPUT = 4096  # characters the speech API takes in one request


class Synthesizer:
    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        voice: str = "alloy",
        base_url: str | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        retry_base_delay_s: float = 0.5,
        retry_max_delay_s: float = 8.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.voice = voice
        self.attempts = attempts
        # The one retry rule of OpenAI-compatible APIs (server/openai_retry.py).
        self.retry_delay = Backoff(retry_base_delay_s, retry_max_delay_s)
        self._client = speech_client(api_key, base_url, timeout_s, http_client)

    @classmethod
    def from_settings(cls, settings: Settings) -> Synthesizer:
        if settings.tts_model is None or not settings.speech_api_key:
            raise ValueError("OPENHIRE_TTS_MODEL and a speech API key must be set")
        return cls(
            api_key=settings.speech_api_key,
            model=settings.tts_model,
            voice=settings.tts_voice,
            base_url=settings.speech_base_url,
            attempts=settings.stt_attempts,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def speak(self, text: str) -> bytes:
        """``text`` spoken: 24 kHz mono 16-bit PCM. Raises SpeechFailed or SpeechUnavailable."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.audio.speech.create(
                    model=self.model,
                    voice=self.voice,
                    input=text[:MAX_INPUT],
                    response_format="pcm",
                )
                return await response.aread()
            except APIError as exc:
                await after_failure(
                    exc,
                    attempt,
                    attempts=self.attempts,
                    delay=self.retry_delay,
                    call="speech synthesis",
                    failed=SpeechFailed,
                    unavailable=SpeechUnavailable,
                    log_as="speech.synthesis_",
                    model=self.model,
                )
