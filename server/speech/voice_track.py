"""The server's own audio track to the candidate: the questions, spoken (server/speech/
synthesize.py). 20 ms frames of 48 kHz mono s16 in real time: what is queued, else silence.
``clear`` stops it at once (the candidate started answering: barge-in)."""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack

RATE = 48000
FRAME = 960  # 20 ms


class QuestionVoice(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue = bytearray()
        self._start: float | None = None
        self._samples = 0

    def say(self, pcm: bytes) -> None:
        """Queue 48 kHz mono 16-bit PCM."""
        self._queue += pcm

    def clear(self) -> None:
        self._queue.clear()

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = bytes(self._queue[: 2 * FRAME])
        del self._queue[: 2 * FRAME]
        chunk += bytes(2 * FRAME - len(chunk))
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(chunk, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, RATE)
        self._samples += FRAME
        return frame


def upsample_24k(pcm: bytes) -> bytes:
    """The speech API's 24 kHz PCM at the track's 48 kHz (linear interpolation)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
    if len(samples) == 0:
        return b""
    at = np.arange(2 * len(samples)) / 2
    return np.interp(at, np.arange(len(samples)), samples).astype("<i2").tobytes()
