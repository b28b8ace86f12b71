"""The peers of one live interview: the candidate's (its media into the server) and each
watcher's (the candidate's media relayed out to a recruiter).

The candidate's peer reads every track it receives, at once and always (a track nobody reads
queues its frames without end): audio and video frames go to their recorders, the latest video
frame is kept for the next snapshot, and a watchdog turns silence and stalls into ``media``
entries. Watchers subscribe to the same decoded frames through aiortc's ``MediaRelay``,
unbuffered: a watcher that falls behind misses frames, the candidate's side never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import structlog
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.stats import RTCTransportStats

from server.errors import ProtocolError
from server.media.recorder import Segment, SegmentRecorder, Track
from server.media.sdp import CheckedOffer, fits, video_limit
from server.protocol.codec import error_frame
from server.protocol.codes import ErrorCode
from server.protocol.messages import RtcState, ServerMessage

if TYPE_CHECKING:
    from server.media.hub import MediaHub

log = structlog.get_logger(__name__)

# Snapshots are scaled down to fit this box (a 1080p camera frame would not fit the
# screenshots bucket's 512 KiB as a JPEG at every quality).
SNAPSHOT_BOX = (1280, 720)
SNAPSHOT_QUALITY = 80
# A video frame this dark everywhere is a camera turned off (browsers send black frames).
BLACK_LUMA = 24
WATCHDOG_EVERY_S = 1.0


class MediaSink(Protocol):
    """Where the candidate's peer reports (the live interview)."""

    @property
    def snapshot_interval_s(self) -> float: ...

    def media_event(self, data: dict[str, Any]) -> None: ...

    def media_snapshot(self, image: bytes, width: int, height: int, taken_at: float) -> None: ...

    def media_recording(self, key: str, segment: Segment) -> None: ...

    # Every audio frame (an av.AudioFrame), for spoken answers (server/speech/answers.py).
    def media_audio(self, frame: Any, now: float) -> None: ...

    # The questions, spoken, sent back to the candidate (None: not spoken by the server).
    @property
    def question_voice(self) -> MediaStreamTrack | None: ...


class Sender(Protocol):
    """The socket a peer answers on."""

    def send(self, message: ServerMessage) -> None: ...


def _configuration(hub: MediaHub) -> RTCConfiguration:
    # An empty list, never None: None makes aiortc use a public STUN server of its own choice.
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in hub.settings.ice_servers
        ]
    )


def jpeg_of(frame: Any) -> tuple[bytes, int, int, bool]:
    """In a worker thread: the frame as a JPEG within SNAPSHOT_BOX, its size, and whether it
    is black (a camera turned off)."""
    image = frame.to_image()
    image.thumbnail(SNAPSHOT_BOX)
    black = image.convert("L").getextrema()[1] < BLACK_LUMA
    out = io.BytesIO()
    image.save(out, "JPEG", quality=SNAPSHOT_QUALITY)
    return out.getvalue(), image.width, image.height, black


class Peer:
    """One RTCPeerConnection, its tasks, and its place in the hub's count."""

    role: Literal["candidate", "watcher"]

    def __init__(self, hub: MediaHub, sender: Sender) -> None:
        self.hub = hub
        self.sender = sender
        self.pc = RTCPeerConnection(_configuration(hub))
        self.closed = False
        self.offers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._state = "new"
        self._offered_at: float | None = None
        self.pc.on("connectionstatechange", self._on_state)
        self.spawn(self._connect_deadline(), "rtc-connect-deadline")

    def spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def answer(self, offer: CheckedOffer) -> str:
        self._offered_at = self._offered_at or time.monotonic()
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        self.before_answer()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == self._state or self.closed:
            return
        self._state = state
        metrics = self.hub.metrics
        if state == "connected" and self._offered_at is not None and metrics is not None:
            metrics.media_connect.labels(self.role).observe(time.monotonic() - self._offered_at)
        self.sender.send(RtcState(state=state))
        self.state_changed(state)
        if state == "failed":
            self.hub.close_soon(self)

    def state_changed(self, state: str) -> None:
        pass

    def before_answer(self) -> None:
        pass

    async def _connect_deadline(self) -> None:
        """A peer whose ICE never completes is closed, and its resources freed."""
        await asyncio.sleep(self.hub.settings.media_connect_timeout_s)
        if self.pc.connectionState != "connected" and not self.closed:
            log.info("media.connect_timeout", role=self.role)
            self.sender.send(RtcState(state="failed"))
            self.state_changed("failed")
            self.hub.close_soon(self)

    async def close(self) -> None:
        """Stop every task and close the connection; idempotent."""
        if self.closed:
            return
        self.closed = True
        await self.before_close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pc.close()
        self.sender.send(RtcState(state="closed"))
        self.after_close()

    async def before_close(self) -> None:
        pass

    def after_close(self) -> None:
        pass


class CandidatePeer(Peer):
    role = "candidate"

    def __init__(
        self,
        hub: MediaHub,
        sender: Sender,
        sink: MediaSink,
        interview_id: str,
        *,
        on_over_limit: Callable[[CandidatePeer], None] | None = None,
    ) -> None:
        super().__init__(hub, sender)
        self.sink = sink
        self.interview_id = interview_id
        self._on_over_limit = on_over_limit
        self.limit = video_limit(hub.settings)
        self.over_limit = False
        # The transport's bytes received at the watchdog's last tick, and since when the
        # bitrate has been over the limit (None: it is not).
        self._bytes_at: tuple[int, float] | None = None
        self._over_since: float | None = None
        self.relay = MediaRelay()
        self.sources: dict[Track, MediaStreamTrack] = {}
        self.recorders: dict[Track, SegmentRecorder] = {}
        self.last_frame_at: dict[Track, float] = {}
        self.stalled: set[Track] = set()
        self.latest_video: tuple[Any, float] | None = None
        self.silent_since: float | None = None
        self.muted: set[Track] = set()
        self._snapshot_of: float | None = None
        self.pc.on("track", self._on_track)
        self.spawn(self._watchdog(), "rtc-watchdog")

    def before_answer(self) -> None:
        """Spoken questions (server/speech/voice_track.py): the server's audio track goes
        back on the candidate's audio transceiver, heard where the offer is sendrecv."""
        track = self.sink.question_voice
        if track is None or any(t.sender.track is track for t in self.pc.getTransceivers()):
            return
        if any(t.kind == "audio" for t in self.pc.getTransceivers()):
            self.pc.addTrack(track)

    # --- tracks -----------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        kind: Track = "audio" if track.kind == "audio" else "video"
        if kind in self.sources or self.closed:
            return
        self.sources[kind] = track
        settings = self.hub.settings
        if kind == "audio" or settings.record_video:
            self.recorders[kind] = SegmentRecorder(
                kind,
                segment_s=settings.recording_segment_s,
                threads=self.hub.threads,
                store=self._store_segment,
            )
        # Our own reader: buffered, every frame (the recorder needs them all).
        self.spawn(self._read(kind, self.relay.subscribe(track, buffered=True)), f"read-{kind}")
        if kind == "video":
            self.spawn(self._snapshots(), "rtc-snapshots")

    async def _read(self, kind: Track, track: MediaStreamTrack) -> None:
        started = False
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                now = time.time()
                self.last_frame_at[kind] = now
                if not started or kind in self.stalled:
                    started = True
                    self.stalled.discard(kind)
                    self.sink.media_event({"event": "track_started", "track": kind})
                if kind == "video":
                    self._measure(frame)
                if self.over_limit:
                    break
                recorder = self.recorders.get(kind)
                if recorder is not None:
                    recorder.push(frame, now)
                if kind == "video":
                    self.latest_video = (frame, now)
                else:
                    self._hear(frame, now)
                    self.sink.media_audio(frame, now)
        finally:
            track.stop()
        if not self.closed and not self.over_limit:
            self.sink.media_event({"event": "track_ended", "track": kind})

    def _hear(self, frame: Any, now: float) -> None:
        """Digital silence for media_silence_s: the microphone is muted (a browser sends
        zeros for a disabled track)."""
        silent = not frame.to_ndarray().any()
        if not silent:
            self.silent_since = None
            if "audio" in self.muted:
                self.muted.discard("audio")
                self.sink.media_event({"event": "unmuted", "track": "audio"})
            return
        if self.silent_since is None:
            self.silent_since = now
        elif (
            "audio" not in self.muted
            and now - self.silent_since >= self.hub.settings.media_silence_s
        ):
            self.muted.add("audio")
            self.sink.media_event({"event": "muted", "track": "audio"})

    async def _snapshots(self) -> None:
        """A JPEG of the latest video frame every snapshot interval, encoded in a thread."""
        loop = asyncio.get_running_loop()
        interval = self.sink.snapshot_interval_s
        due = loop.time()
        while True:
            # On a fixed schedule, not an interval after the last snapshot's encode: a slow
            # encode delays one snapshot, not every later one. Ticks missed are skipped.
            due = max(due + interval, loop.time())
            await asyncio.sleep(due - loop.time())
            latest = self.latest_video
            if latest is None or latest[1] == self._snapshot_of:
                continue
            frame, at = latest
            self._snapshot_of = at
            image, width, height, black = await loop.run_in_executor(
                self.hub.threads, jpeg_of, frame
            )
            if self.closed:
                return
            self.sink.media_snapshot(image, width, height, at)
            if black and "video" not in self.muted:
                self.muted.add("video")
                self.sink.media_event({"event": "muted", "track": "video"})
            elif not black and "video" in self.muted:
                self.muted.discard("video")
                self.sink.media_event({"event": "unmuted", "track": "video"})

    def _measure(self, frame: Any) -> None:
        """A decoded frame over the size limit: refused (two comparisons a frame)."""
        width, height = frame.width, frame.height
        if not fits(width, height, self.limit):
            self.refuse(
                "resolution",
                f"video of {width}x{height}; at most {self.limit.width}x{self.limit.height}",
                width=width,
                height=height,
            )

    def refuse(self, limit: str, message: str, track: Track | None = "video", **data: Any) -> None:
        """Over the limits: a ``media`` entry ``over_limit``, an ``rtc_video_limit`` error
        to the candidate, and the peer closed (the interview goes on without it)."""
        if self.over_limit or self.closed:
            return
        self.over_limit = True
        log.info("media.over_limit", limit=limit, **data)
        self.sink.media_event({"event": "over_limit", "track": track, "limit": limit, **data})
        self.sender.send(
            error_frame(
                ProtocolError(
                    ErrorCode.RTC_VIDEO_LIMIT,
                    f"the media was closed: {message} (session.ready.media.max_video);"
                    " offer again within it, or send binary screenshots",
                    None,
                )
            )
        )
        if self._on_over_limit is not None:
            self._on_over_limit(self)
        else:
            self.hub.close_soon(self)

    async def _bitrate(self, now: float) -> None:
        """The bitrate over the last tick, from the transport's own byte count (nothing
        added per packet): over max_media_bitrate_kbps for media_over_limit_s, refused."""
        received = 0
        seen: set[str] = set()
        for transceiver in self.pc.getTransceivers():
            for stats in (await transceiver.receiver.getStats()).values():
                if isinstance(stats, RTCTransportStats) and stats.id not in seen:
                    seen.add(stats.id)
                    received += stats.bytesReceived
        last, self._bytes_at = self._bytes_at, (received, now)
        if last is None or now <= last[1]:
            return
        kbps = (received - last[0]) * 8 / 1000 / (now - last[1])
        settings = self.hub.settings
        if kbps <= settings.max_media_bitrate_kbps:
            self._over_since = None
            return
        if self._over_since is None:
            self._over_since = last[1]
        elif now - self._over_since >= settings.media_over_limit_s:
            self.refuse(
                "bitrate",
                f"{round(kbps)} kbit/s for {round(now - self._over_since)} s; at most"
                f" {settings.max_media_bitrate_kbps}",
                track=None,
                kbps=round(kbps),
                seconds=round(now - self._over_since, 1),
            )

    async def _watchdog(self) -> None:
        """No frame on a track for media_silence_s: logged once per stall as no_media. The
        bitrate, measured on every tick."""
        limit = self.hub.settings.media_silence_s
        while True:
            await asyncio.sleep(WATCHDOG_EVERY_S)
            now = time.time()
            if self.pc.connectionState == "connected" and not self.over_limit:
                try:
                    await self._bitrate(time.monotonic())
                except Exception:  # a stats read must not end the stall watchdog
                    log.exception("media.bitrate_failed")
            for kind, at in self.last_frame_at.items():
                if kind not in self.stalled and now - at >= limit:
                    self.stalled.add(kind)
                    self.sink.media_event(
                        {"event": "no_media", "track": kind, "seconds": round(now - at, 1)}
                    )

    async def _store_segment(self, segment: Segment) -> None:
        """A closed segment: into the blob store, then into the log (never the other way)."""
        key = (
            f"recordings/{self.interview_id}/{int(segment.started_at * 1000)}-{segment.track}.webm"
        )
        await self.hub.blobs.put(key, segment.data, segment.content_type)
        self.sink.media_recording(key, segment)
        if self.hub.metrics is not None:
            self.hub.metrics.recording_segments.labels(segment.track).inc()

    def state_changed(self, state: str) -> None:
        self.sink.media_event({"event": "connection", "track": None, "state": state})

    async def before_close(self) -> None:
        # Recorders first, while the tasks reading into them still stand: what arrived is
        # encoded and its last segment stored.
        readers = [t for t in self._tasks if t.get_name().startswith("read-")]
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for recorder in self.recorders.values():
            await recorder.close()

    def abort(self) -> None:
        """The interview is gone (fenced, given up): nothing more is stored."""
        for recorder in self.recorders.values():
            recorder.abort()


class WatcherPeer(Peer):
    role = "watcher"

    def __init__(self, hub: MediaHub, sender: Sender, source: CandidatePeer) -> None:
        super().__init__(hub, sender)
        self.source = source
        self.relayed: list[MediaStreamTrack] = []

    async def answer(self, offer: CheckedOffer) -> str:
        self._offered_at = self._offered_at or time.monotonic()
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        if not self.relayed:
            # Into the offer's own (recvonly) transceivers: addTrack takes the free one of
            # the track's kind.
            for track in self.source.sources.values():
                relayed = self.source.relay.subscribe(track, buffered=False)
                self.relayed.append(relayed)
                self.pc.addTrack(relayed)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def after_close(self) -> None:
        for track in self.relayed:
            track.stop()
        self.relayed.clear()
