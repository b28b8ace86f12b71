"""Media a Python client sends over WebRTC (``SocketSession.offer_media``): synthetic tracks
for tests (made frame by frame, encoded by aiortc per client) and a pre-encoded clip for the
load test (``clip``: written once with PyAV, then sent as it is, never encoded per client)."""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import AUDIO_PTIME

SAMPLE_RATE = 48_000


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone (or silence) in real time: 20 ms stereo s16 frames."""

    kind = "audio"

    def __init__(self, *, silent: bool = False) -> None:
        super().__init__()
        self.silent = silent
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> Any:
        count = int(SAMPLE_RATE * AUDIO_PTIME)
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(count) + self._samples) / SAMPLE_RATE
        wave = np.zeros(count) if self.silent else 0.3 * np.sin(2 * math.pi * 440 * t)
        pcm = (wave * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(pcm, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._samples += count
        return frame


class PatternTrack(MediaStreamTrack):
    """Moving colour bars of ``width`` x ``height`` at ``fps`` (black with ``black``)."""

    kind = "video"

    def __init__(
        self, width: int = 640, height: int = 360, fps: int = 15, *, black: bool = False
    ) -> None:
        super().__init__()
        self.width, self.height, self.fps, self.black = width, height, fps, black
        self._start: float | None = None
        self._count = 0
        bars = np.array(
            [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255]],
            dtype=np.uint8,
        )
        columns = np.repeat(bars, math.ceil(width / len(bars)), axis=0)[:width]
        self._image = np.broadcast_to(columns, (height, width, 3)).copy()

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        image = (
            np.zeros_like(self._image)
            if self.black
            else np.roll(self._image, self._count * 8, axis=1)
        )
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = self._count * (90_000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._count += 1
        return frame


def write_clip(
    path: Path, *, seconds: float = 10.0, width: int = 640, height: int = 360, fps: int = 15
) -> Path:
    """A WebM of VP8 video (moving bars) and Opus audio (a tone), encoded once; the load test
    sends it as it is (aiortc's ``MediaPlayer(decode=False)``), looped."""
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), mode="w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"deadline": "realtime", "cpu-used": "8", "b": "600k"}
        audio = container.add_stream("libopus", rate=SAMPLE_RATE)
        audio.layout = "stereo"
        pattern = PatternTrack(width, height, fps)
        for n in range(int(seconds * fps)):
            image = np.roll(pattern._image, n * 8, axis=1)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = n
            frame.time_base = fractions.Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        count = int(SAMPLE_RATE * AUDIO_PTIME)
        for n in range(int(seconds / AUDIO_PTIME)):
            t = (np.arange(count) + n * count) / SAMPLE_RATE
            pcm = (0.3 * np.sin(2 * math.pi * 440 * t) * 32767).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(
                np.repeat(pcm, 2).reshape(1, -1), format="s16", layout="stereo"
            )
            sound.sample_rate = SAMPLE_RATE
            sound.pts = n * count
            sound.time_base = fractions.Fraction(1, SAMPLE_RATE)
            for packet in audio.encode(sound):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    tmp.replace(path)
    return path
