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

from typing import Unpack

import structlog
from openai import APIError

from server.config import Settings
from server.speech.client import SpeechClient, SpeechOptions

log = structlog.get_logger(__name__)

PCM_RATE = 24000  # the speech API's pcm: 24 kHz, 16-bit signed little-endian, mono
MAX_INPUT = 4096  # characters the speech API takes in one request


class Synthesizer(SpeechClient):
    """Text to speech: one client to the speech server, shared by every live interview of the
    process."""

    call = "speech synthesis"
    log_as = "speech.synthesis_"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        voice: str = "alloy",
        **options: Unpack[SpeechOptions],
    ) -> None:
        super().__init__(api_key=api_key, model=model, **options)
        self.voice = voice

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
                await self._after_failure(exc, attempt)
