"""The one rule for calling an OpenAI-compatible API again after a failure: the AI interviewer
(server/interviewer/openai.py), speech to text (server/speech/transcribe.py) and text to speech
(server/speech/synthesize.py) all follow it.

- ``is_transient``: whether the same request may succeed if sent again (a lost connection or a
  timeout, 408, 409, 429 unless the quota is spent, 5xx, an error event inside a stream); a
  refusal (other 4xx, a reply that does not parse) is permanent.
- ``retry_delay``: exponential backoff from ``base_s``, capped at ``max_s``, with jitter (half
  to all of the step), and never sooner than the server's ``Retry-After`` (itself capped at
  ``max_s``, so a server asking for minutes cannot stall a live interview: the attempts run out
  instead).
- ``Backoff``: that delay with one caller's settings.
- ``describe``: the failure in one short line for a person (an error message, a log).
- ``after_failure``: raise, or wait before the next attempt.
- ``openai_client``: an ``openai`` client that leaves retrying to its caller.

Each caller keeps its own attempts, its own errors and log lines; the rule is shared."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import structlog
from openai import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    AsyncOpenAI,
)

log = structlog.get_logger(__name__)

# A 429 that waiting will not cure: the account's quota or billing limit.
PERMANENT_429_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


def is_transient(exc: BaseException | None) -> bool:
    """Whether the same request may succeed if sent again. None: a stream that ended before
    its done event, the server's trouble."""
    if exc is None or isinstance(exc, APIConnectionError):  # timeouts included
        return True
    if isinstance(exc, APIStatusError):
        if exc.status_code == 429:
            return exc.code not in PERMANENT_429_CODES
        return exc.status_code in (408, 409) or exc.status_code >= 500
    if isinstance(exc, APIResponseValidationError):
        return False
    # Any other APIError is an error event inside a stream: the server's trouble, not ours.
    # Anything else is unexpected (a malformed reply, a bug): not worth repeating.
    return isinstance(exc, APIError)


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "the stream ended before its done event"
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"[:300]
    return (str(exc) or type(exc).__name__)[:300]


def retry_delay(
    attempt: int,
    exc: BaseException | None,
    *,
    base_s: float,
    max_s: float,
    rng: random.Random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) that raised ``exc``."""
    step = min(max_s, base_s * 2.0 ** (attempt - 1))
    delay = step * (0.5 + rng.random() / 2)
    after = retry_after(exc)
    if after is not None:
        delay = max(delay, min(after, max_s))
    return delay


@dataclass
class Backoff:
    """``retry_delay`` with one caller's settings and its own random source:
    ``backoff(attempt, exc)``."""

    base_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random)

    def __call__(self, attempt: int, exc: BaseException | None = None) -> float:
        return retry_delay(attempt, exc, base_s=self.base_s, max_s=self.max_s, rng=self.rng)


def retry_after(exc: BaseException | None) -> float | None:
    """The seconds of a failed response's ``Retry-After`` header, if it has one in seconds (an
    HTTP date is rare from these APIs, and the backoff still applies)."""
    if not isinstance(exc, APIStatusError):
        return None
    raw = exc.response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


async def after_failure(
    exc: BaseException | None,
    attempt: int,
    *,
    attempts: int,
    delay: Callable[[int, BaseException | None], float],
    call: str,
    failed: Callable[[str], Exception],
    unavailable: Callable[[str], Exception],
    log_as: str,
    transient: Callable[[BaseException | None], bool] = is_transient,
    **fields: Any,
) -> None:
    """After failed attempt number ``attempt``: raise ``failed`` if ``exc`` is permanent,
    ``unavailable`` once ``attempts`` are spent, else wait ``delay(attempt, exc)`` before the
    next. ``call`` names the call in the error ("transcription failed 3 times: ..."), and the
    log lines are ``{log_as}failed``, ``{log_as}unavailable`` and ``{log_as}retry`` with
    ``fields``."""
    if not transient(exc):
        log.warning(f"{log_as}failed", **fields, error=repr(exc))
        raise failed(f"{call} failed: {describe(exc)}") from exc
    if attempt >= attempts:
        log.warning(f"{log_as}unavailable", **fields, attempts=attempt, error=repr(exc))
        raise unavailable(f"{call} failed {attempt} times: {describe(exc)}") from exc
    wait = delay(attempt, exc)
    log.info(f"{log_as}retry", **fields, attempt=attempt, delay_s=round(wait, 3), error=repr(exc))
    await asyncio.sleep(wait)


def openai_client(
    *, api_key: str, base_url: str | None, timeout_s: float, http_client: httpx2.AsyncClient | None
) -> AsyncOpenAI:
    """An ``openai`` client with no retries of its own (its caller retries by this rule, which
    the client's would not follow) and a connect bounded by 10 s."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        http_client=http_client,
    )
