"""A track's recording, in closed segments of about ``segment_s`` seconds, each a whole WebM
file stored as soon as it closes: a crash loses at most the segment still open.

Frames arrive on the event loop (``push``: no work but a list append). The recorder's own task
hands them in batches to a worker thread that encodes them into the open segment (PyAV
releases the GIL while libopus and libvpx work), at most one batch in flight per recorder, so a
segment's container is only ever touched by one thread at a time. When a segment's span is
reached the thread closes the file and the task hands its bytes to ``store`` (the blob store,
then the log); only then does the next segment's store begin, so segments are logged in order.

Frames waiting for the thread are bounded (``MAX_WAITING``); when encoding falls behind, the
oldest are dropped and counted, never queued without end.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import av
import structlog

log = structlog.get_logger(__name__)

Track = Literal["audio", "video"]
# About 4 s of audio (20 ms frames) or of 30 fps video.
MAX_WAITING = 200
BATCH = 25  # frames handed to the thread at once
AUDIO_BIT_RATE = 32_000
AUDIO_COMPLEXITY = "0"  # libopus's encoder complexity, 0-10 (its default: 10)
CONTENT_TYPE: dict[Track, str] = {"audio": "audio/webm", "video": "video/webm"}


@dataclass(frozen=True, slots=True)
class Segment:
    """A closed segment: a whole WebM file and the wall-clock span it covers."""

    track: Track
    data: bytes
    started_at: float
    ended_at: float
    content_type: str


class _Open:
    """A segment being written (touched only by the worker thread)."""

    def __init__(self, track: Track, started_at: float) -> None:
        self.track = track
        self.started_at = started_at
        self.ended_at = started_at
        self.buffer = io.BytesIO()
        self.container: Any = av.open(self.buffer, mode="w", format="webm")
        self.stream: Any = None
        self.samples = 0

    def _stream_for(self, frame: Any) -> Any:
        if self.stream is None:
            if self.track == "audio":
                # Speech: mono at a 32 kbit/s target (about 0.3 MB a minute in WebM,
                # measured) is what a review needs. At libopus's lowest complexity: a fifth
                # of the default's CPU (about 0.2 % of a core per recording instead of 1 %,
                # docs/benchmarks.md), the files about a quarter larger.
                self.stream = self.container.add_stream("libopus", rate=48000)
                self.stream.layout = "mono"
                self.stream.bit_rate = AUDIO_BIT_RATE
                self.stream.options = {"compression_level": AUDIO_COMPLEXITY}
            else:
                self.stream = self.container.add_stream("libvpx", rate=30)
                self.stream.width, self.stream.height = frame.width, frame.height
                self.stream.pix_fmt = "yuv420p"
                self.stream.codec_context.time_base = Fraction(1, 1000)
                # Real time: a recording must keep up with the camera, not win on size.
                self.stream.options = {"deadline": "realtime", "cpu-used": "8"}
        return self.stream

    def encode(self, frames: list[tuple[Any, float]]) -> None:
        for frame, at in frames:
            stream = self._stream_for(frame)
            if self.track == "audio":
                frame.pts, frame.time_base = self.samples, Fraction(1, frame.sample_rate)
                self.samples += frame.samples
            else:
                if (frame.width, frame.height) != (stream.width, stream.height):
                    frame = frame.reformat(width=stream.width, height=stream.height)
                frame.pts = round((at - self.started_at) * 1000)
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                self.container.mux(packet)
            self.ended_at = max(self.ended_at, at)

    def finish(self) -> bytes | None:
        if self.stream is None:
            self.container.close()
            return None
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        return self.buffer.getvalue()

    def discard(self) -> None:
        try:
            self.container.close()
        except Exception:
            log.debug("recorder.discard_failed", exc_info=True)


class SegmentRecorder:
    def __init__(
        self,
        track: Track,
        *,
        segment_s: float,
        threads: Executor,
        store: Callable[[Segment], Awaitable[None]],
    ) -> None:
        self.track = track
        self.segment_s = segment_s
        self._threads = threads
        self._store = store
        self._waiting: list[tuple[Any, float]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self.dropped = 0
        self.stored = 0
        self._open: _Open | None = None
        # Owned: awaited by close(); cancelled by abort().
        self._task = asyncio.create_task(self._run(), name=f"recorder-{track}")

    def push(self, frame: Any, at: float) -> None:
        """A frame that arrived at ``at`` (a Unix time): queued for the thread."""
        if self._closing:
            return
        if len(self._waiting) >= MAX_WAITING:
            del self._waiting[0]
            self.dropped += 1
        self._waiting.append((frame, at))
        if len(self._waiting) >= BATCH or self._due(at):
            self._wakeup.set()

    def _due(self, at: float) -> bool:
        return self._open is not None and at - self._open.started_at >= self.segment_s

    async def close(self) -> None:
        """Encode what is waiting, close the open segment and store it."""
        self._closing = True
        self._wakeup.set()
        # Waited for, not awaited: a recorder aborted meanwhile ends cancelled, which is no
        # error of the caller's.
        await asyncio.wait([self._task])

    def abort(self) -> None:
        """Stop at once; the open segment is lost (as in a crash)."""
        self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._waiting:
                    batch, self._waiting = self._waiting, []
                    closed = await loop.run_in_executor(self._threads, self._encode, batch)
                    for segment in closed:
                        await self._save(segment)
                if self._closing:
                    if self._open is not None:
                        last, self._open = self._open, None
                        data = await loop.run_in_executor(self._threads, last.finish)
                        if data is not None:
                            await self._save(self._segment(last, data))
                    return
        except asyncio.CancelledError:
            if self._open is not None:
                self._open.discard()
            raise

    def _segment(self, segment: _Open, data: bytes) -> Segment:
        # The last frame's own length is not known here; 20 ms (an audio frame) at most.
        ended = max(segment.ended_at, segment.started_at)
        return Segment(self.track, data, segment.started_at, ended, CONTENT_TYPE[self.track])

    def _encode(self, batch: list[tuple[Any, float]]) -> list[Segment]:
        """In the worker thread: encode ``batch``, cutting segments where their span ends."""
        closed: list[Segment] = []
        run: list[tuple[Any, float]] = []
        for frame, at in batch:
            if self._open is not None and at - self._open.started_at >= self.segment_s:
                self._open.encode(run)
                run = []
                done, self._open = self._open, None
                data = done.finish()
                if data is not None:
                    closed.append(self._segment(done, data))
            if self._open is None:
                self._open = _Open(self.track, at)
            run.append((frame, at))
        if self._open is not None and run:
            self._open.encode(run)
        return closed

    async def _save(self, segment: Segment) -> None:
        try:
            await self._store(segment)
            self.stored += 1
        except Exception:
            # The segment is lost, not the recording: the next one is stored as usual.
            log.exception("recorder.segment_not_stored", track=self.track)
