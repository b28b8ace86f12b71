"""What speech to text (server/speech/transcribe.py) and text to speech
(server/speech/synthesize.py) share: one ``openai`` client to the OpenAI-compatible speech API
(``OPENHIRE_SPEECH_BASE_URL``), its settings, and the state by which each retries its calls."""

from __future__ import annotations

from typing import ClassVar, TypedDict

import httpx2
from openai import APIError

from server.errors import SpeechFailed, SpeechUnavailable
from server.openai_retry import Backoff, after_failure, openai_client


class SpeechOptions(TypedDict, total=False):
    """The settings every speech client takes beside its key and model, with the defaults of
    ``SpeechClient``: a subclass takes them as ``**options: Unpack[SpeechOptions]``."""

    base_url: str | None
    timeout_s: float
    attempts: int
    retry_base_delay_s: float
    retry_max_delay_s: float
    http_client: httpx2.AsyncClient | None


class SpeechClient:
    """One client to the speech server, shared by every live interview of the process. Its
    ``openai`` client makes no retries of its own; a subclass retries each call itself with
    ``_after_failure``, by the one rule of OpenAI-compatible APIs (server/openai_retry.py), so
    that only transient failures are retried, ``attempts`` times at most."""

    # What ``_after_failure`` calls the request in its errors ("transcription failed 3 times:
    # ...") and how its log events begin ("speech.transcription_retry"): each subclass names both.
    call: ClassVar[str]
    log_as: ClassVar[str]

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        retry_base_delay_s: float = 0.5,
        retry_max_delay_s: float = 8.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.attempts = attempts
        self.retry_delay = Backoff(retry_base_delay_s, retry_max_delay_s)
        self._client = openai_client(
            api_key=api_key, base_url=base_url, timeout_s=timeout_s, http_client=http_client
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _after_failure(self, exc: APIError | None, attempt: int) -> None:
        """Raise SpeechFailed if ``exc`` is permanent, SpeechUnavailable once the attempts are
        spent; else wait before the next. None: a stream cut short (transient)."""
        await after_failure(
            exc,
            attempt,
            attempts=self.attempts,
            delay=self.retry_delay,
            call=self.call,
            failed=SpeechFailed,
            unavailable=SpeechUnavailable,
            log_as=self.log_as,
            model=self.model,
        )
