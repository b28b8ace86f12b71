"""A speech stand-in whose ``audio.speech`` answers tones: tests/fake_speech.py's server (its
transcriptions unchanged) with ``POST /v1/audio/speech`` answering, for each ``input``, a pure
tone of the frequency the test gave that text (``tones``), so the order in which pieces of a
question play on the server's audio track can be read back from the track itself.

The request is OpenAI's documented shape (JSON: ``model``, ``input``, ``voice``,
``response_format``); the answer is the audio bytes: ``pcm`` (24 kHz, 16-bit little-endian,
mono) or ``wav``. Errors have OpenAI's body. On top:

- ``fail(Failure(...))`` plans statuses (with headers, such as ``Retry-After``) for the next
  speech requests, in order;
- ``refuse(text, Failure(...))`` answers every request for ``text`` with that failure (which
  request comes first, of pieces requested at once, is up to the network);
- ``hold(text)`` keeps a request for ``text`` unanswered until ``release(text)``; a held request
  whose client goes away (the request cancelled) is recorded in ``cancelled``.

Every speech request is recorded in ``said`` (with when it arrived), answered or not.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
import wave
from collections import deque
from dataclasses import dataclass

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from tests.fake_speech import Failure, FakeSpeech, _error

PCM_RATE = 24000


@dataclass
class Said:
    """One speech request: its input text and when it arrived (time.monotonic())."""

    text: str
    body: dict[str, object]
    received_at: float


def tone(hz: float, seconds: float, rate: int = PCM_RATE) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2").tobytes()


class FakeVoice(FakeSpeech):
    def __init__(self, tones: dict[str, float] | None = None, seconds: float = 0.6) -> None:
        super().__init__()
        self.tones: dict[str, float] = dict(tones or {})
        self.seconds = seconds
        self.said: list[Said] = []
        self.cancelled: list[str] = []
        self.speech_failures: deque[Failure] = deque()
        self.refusals: dict[str, Failure] = {}
        self._held: dict[str, threading.Event] = {}
        self._guard = threading.Lock()

    def reset(self) -> None:
        with self._guard:
            for gate in self._held.values():
                gate.set()
            self._held.clear()
        self.said.clear()
        self.cancelled.clear()
        self.speech_failures.clear()
        self.refusals.clear()

    def fail(self, *failures: Failure) -> None:
        """Answer the next speech requests with these failures, in order."""
        self.speech_failures.extend(failures)

    def refuse(self, text: str, failure: Failure) -> None:
        """Answer every request for ``text`` with ``failure``."""
        self.refusals[text] = failure

    def hold(self, *texts: str) -> None:
        with self._guard:
            for text in texts:
                self._held[text] = threading.Event()

    def release(self, *texts: str) -> None:
        with self._guard:
            for text in texts:
                gate = self._held.pop(text, None)
                if gate is not None:
                    gate.set()

    def requested(self) -> list[str]:
        return [s.text for s in self.said]

    async def speech(self, request: Request) -> Response:
        received = time.monotonic()
        body = await self.speech_request(request)
        if isinstance(body, Response):
            return body
        text = str(body["input"])
        self.said.append(Said(text, body, received))
        failure = self.refusals.get(text)
        if failure is None and self.speech_failures:
            failure = self.speech_failures.popleft()
        if failure is not None:
            kind = "server_error" if failure.status >= 500 else "invalid_request_error"
            return _error(failure.status, failure.message, kind, failure.code, failure.headers)
        with self._guard:
            gate = self._held.get(text)
        while gate is not None and not gate.is_set():
            if await request.is_disconnected():
                self.cancelled.append(text)
                return Response(status_code=499)
            await asyncio.sleep(0.02)
        fmt = body.get("response_format", "mp3")
        pcm = tone(self.tones.get(text, 440.0), self.seconds)
        if fmt == "pcm":
            return Response(pcm, media_type="audio/pcm")
        if fmt != "wav":
            message = f"this stand-in speaks wav and pcm only, not {fmt!r}"
            return _error(
                400, message, "invalid_request_error", "invalid_value", param="response_format"
            )
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(PCM_RATE)
            wav.writeframes(pcm)
        return Response(out.getvalue(), media_type="audio/wav")


def dominant_hz(pcm: bytes, rate: int) -> float | None:
    """The loudest frequency of a stretch of 16-bit mono PCM, or None when it is silence."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if len(samples) == 0 or np.sqrt(np.mean(samples**2)) < 300:
        return None
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


Heard = float | str | None


def runs(
    values: list[float | None], hz: tuple[float, ...], within: float = 60.0
) -> list[tuple[Heard, int]]:
    """What was heard, frame by frame, as runs: each frame's dominant frequency matched to the
    nearest of ``hz`` (None: silence; "?": none of them within ``within`` Hz), consecutive
    equal ones merged, with their lengths in frames."""
    out: list[tuple[Heard, int]] = []
    for value in values:
        name: Heard = None
        if value is not None:
            nearest = min(hz, key=lambda h: abs(h - value))
            name = nearest if abs(nearest - value) <= within else "?"
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1] + 1)
        else:
            out.append((name, 1))
    return out
