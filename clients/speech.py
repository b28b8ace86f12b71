"""A spoken answer's audio, sent over WebRTC (``SocketSession.offer_media``): a track that plays
what it is given to say, and silence in between, in real time (20 ms mono s16 frames)."""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import AUDIO_PTIME


class SpeechTrack(MediaStreamTrack):
    """Plays queued 16-bit mono PCM at ``sample_rate``, silence when there is none.
    ``say(pcm)`` queues audio; ``said()`` waits until it has all played, and ``said_at``
    holds the wall-clock time each queued piece finished playing."""

    kind = "audio"

    def __init__(self, sample_rate: int = 48000) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self._queue = bytearray()
        self._ends: list[int] = []  # sample counts where queued pieces end
        self.said_at: list[float] = []
        self._start: float | None = None
        self._samples = 0
        self._played = 0  # samples of queued audio played
        self._drained = asyncio.Event()
        self._drained.set()

    def say(self, pcm: bytes) -> None:
        self._drained.clear()
        self._queue += pcm
        self._ends.append(self._played + len(self._queue) // 2)

    @property
    def quiet(self) -> bool:
        return not self._queue

    async def said(self) -> None:
        """Wait until everything queued has been played."""
        await self._drained.wait()

    async def recv(self) -> Any:
        count = int(self.sample_rate * AUDIO_PTIME)
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / self.sample_rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = bytes(self._queue[: 2 * count])
        del self._queue[: 2 * count]
        self._played += len(chunk) // 2
        while self._ends and self._played >= self._ends[0]:
            self._ends.pop(0)
            self.said_at.append(time.time())
        if not self._queue:
            self._drained.set()
        chunk += bytes(2 * count - len(chunk))
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(chunk, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._samples += count
        return frame
