"""The media service (made and closed by the lifespan), each live interview's peers, and each
socket's signalling.

- ``MediaHub``: the settings, the worker threads (JPEG and recording encodes), every open
  peer (counted against OPENHIRE_MAX_MEDIA_SESSIONS), and closing them all at shutdown.
- ``InterviewMedia``: one live interview's candidate peer and watcher peers; the live
  interview closes it when the interview ends, moves or the server stops.
- ``Signalling``: one socket's ``rtc.offer``/``rtc.close``, handled in arrival order by a task
  of the socket's own, so that a peer being made never holds up the socket's receive loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal

import structlog

from server.config import Settings
from server.errors import ProtocolError
from server.media.peer import CandidatePeer, MediaSink, Peer, Sender, WatcherPeer
from server.media.ports import restrict_ports
from server.media.sdp import check_offer, video_limit
from server.protocol.codec import error_frame
from server.protocol.codes import ErrorCode
from server.protocol.messages import (
    IceServerInfo,
    MediaInfo,
    RtcAnswer,
    RtcClose,
    RtcOffer,
)
from server.store.blobs import BlobStore

if TYPE_CHECKING:
    from server.metrics import Metrics

log = structlog.get_logger(__name__)

# Offers one socket may send in its life (the first and its renegotiations).
MAX_OFFERS_PER_SOCKET = 10
# rtc.* messages waiting on one socket while a peer is being made.
MAX_SIGNALS_WAITING = 4


class MediaHub:
    def __init__(
        self,
        settings: Settings,
        blobs: BlobStore,
        *,
        metrics: Metrics | None = None,
        threads: int = 2,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.metrics = metrics
        self.enabled = settings.webrtc
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="media")
        self.peers: set[Peer] = set()
        self._closing: set[asyncio.Task[None]] = set()
        restrict_ports(settings.rtc_port_min, settings.rtc_port_max)

    def info(self, snapshot_interval_s: float) -> MediaInfo | None:
        """``session.ready.media``: None with WebRTC off."""
        if not self.enabled:
            return None
        return MediaInfo(
            ice_servers=[
                IceServerInfo(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self.settings.ice_servers
            ],
            record_video=self.settings.record_video,
            max_video=video_limit(self.settings),
            snapshot_interval_s=snapshot_interval_s,
        )

    def admit(self, client_id: str) -> None:
        if not self.enabled:
            raise ProtocolError(
                ErrorCode.RTC_UNAVAILABLE, "WebRTC is off on this server", client_id
            )
        # Peers on their way out do not count: a client's rtc.close then a new offer must
        # not find the server full of its own old peer.
        if len(self.peers) - len(self._closing) >= self.settings.max_media_sessions:
            raise ProtocolError(
                ErrorCode.RTC_MEDIA_LIMIT,
                "the server holds as many media sessions as it may; send camera snapshots"
                " as binary frames instead, or offer again later",
                client_id,
            )

    def opened(self, peer: Peer) -> None:
        self.peers.add(peer)

    def snapshot_committed(self, taken_at: float, now: float) -> None:
        if self.metrics is not None:
            self.metrics.snapshot_lag.observe(max(0.0, now - taken_at))

    def close_soon(self, peer: Peer) -> None:
        """Close ``peer`` in a task of the hub's (awaited by ``close``)."""
        if peer.closed or any(t.get_name() == f"close-{id(peer)}" for t in self._closing):
            return
        task = asyncio.create_task(self._close(peer), name=f"close-{id(peer)}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, peer: Peer) -> None:
        try:
            await peer.close()
        except Exception:
            log.exception("media.close_failed", role=peer.role)
        finally:
            self.peers.discard(peer)

    async def close(self, within_s: float = 5.0) -> None:
        """Close every peer (recordings' last segments stored), then the threads."""
        for peer in list(self.peers):
            self.close_soon(peer)
        if self._closing:
            _, pending = await asyncio.wait(set(self._closing), timeout=within_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.threads.shutdown(wait=False, cancel_futures=True)


class InterviewMedia:
    """One live interview's peers. ``sink`` is the live interview."""

    def __init__(self, hub: MediaHub, sink: MediaSink, interview_id: str) -> None:
        self.hub = hub
        self.sink = sink
        self.interview_id = interview_id
        self.candidate: CandidatePeer | None = None
        self.watchers: dict[int, WatcherPeer] = {}
        self.closed = False

    async def offer(
        self, role: Literal["candidate", "watcher"], sender: Sender, message: RtcOffer
    ) -> None:
        """Answer ``message`` on ``sender``: a renegotiation of the socket's own peer, or a
        new peer (a candidate's replaces the one before, made on an older socket)."""
        hub = self.hub
        checked = check_offer(message.sdp, role, message.client_id, limit=video_limit(hub.settings))
        if self.closed:
            raise ProtocolError(
                ErrorCode.RTC_UNAVAILABLE, "the interview's media is closed", message.client_id
            )
        peer: Peer | None
        if role == "candidate":
            peer = self.candidate if self.candidate and self.candidate.sender is sender else None
        else:
            peer = self.watchers.get(id(sender))
            if isinstance(peer, WatcherPeer) and peer.source is not self.candidate:
                # Watching a candidate peer since replaced: its tracks have ended.
                hub.close_soon(peer)
                peer = None
        if peer is None or peer.closed:
            if role == "watcher" and (self.candidate is None or not self.candidate.sources):
                raise ProtocolError(
                    ErrorCode.RTC_UNAVAILABLE,
                    "the candidate's media is not live; offer again after a media"
                    " track_started event",
                    message.client_id,
                )
            hub.admit(message.client_id)
            if role == "candidate":
                if self.candidate is not None:
                    self._close_candidate()
                peer = self.candidate = CandidatePeer(
                    hub, sender, self.sink, self.interview_id, on_over_limit=self._drop
                )
            else:
                assert self.candidate is not None
                peer = self.watchers[id(sender)] = WatcherPeer(hub, sender, self.candidate)
            hub.opened(peer)
        try:
            sdp = await peer.answer(checked)
        except Exception as exc:
            log.info("media.offer_refused", role=role, error=repr(exc))
            hub.close_soon(peer)
            raise ProtocolError(
                ErrorCode.RTC_BAD_SDP,
                "the offer could not be answered (no codec or transport in common)",
                message.client_id,
            ) from None
        if self.closed or peer.closed:
            return
        sender.send(RtcAnswer(client_id=message.client_id, sdp=sdp))

    def _close_candidate(self) -> None:
        """Close the candidate's peer, and the watchers' peers relaying it: their tracks end
        with it (they offer again once the candidate's next peer is live)."""
        candidate, self.candidate = self.candidate, None
        if candidate is None:
            return
        self.hub.close_soon(candidate)
        for key, watcher in list(self.watchers.items()):
            if watcher.source is candidate:
                del self.watchers[key]
                self.hub.close_soon(watcher)

    def _drop(self, peer: CandidatePeer) -> None:
        """The candidate's peer sent more than the limits: it closes, and the watchers'
        relays of it."""
        if self.candidate is peer:
            self._close_candidate()
        else:
            self.hub.close_soon(peer)

    def close_peer_of(self, sender: Sender) -> None:
        """The socket stopped its media (rtc.close) or closed."""
        if self.candidate is not None and self.candidate.sender is sender:
            self._close_candidate()
        watcher = self.watchers.pop(id(sender), None)
        if watcher is not None:
            self.hub.close_soon(watcher)

    def close_soon(self) -> None:
        """The interview ended, moved or the server is stopping: every peer closes (the
        recordings' open segments are stored)."""
        self.closed = True
        peers: list[Peer] = [*self.watchers.values()]
        if self.candidate is not None:
            peers.append(self.candidate)
        self.watchers.clear()
        self.candidate = None
        for peer in peers:
            self.hub.close_soon(peer)

    def abort(self) -> None:
        """Another node owns the interview now: nothing more is stored from here."""
        if self.candidate is not None:
            self.candidate.abort()
        self.close_soon()


class Signalling:
    """One socket's rtc.* messages, in order, in a task of its own (awaited by ``aclose``)."""

    def __init__(
        self,
        media: InterviewMedia,
        role: Literal["candidate", "watcher"],
        sender: Sender,
    ) -> None:
        self.media = media
        self.role = role
        self.sender = sender
        self.offers = 0
        self._queue: asyncio.Queue[RtcOffer | RtcClose | None] = asyncio.Queue(
            MAX_SIGNALS_WAITING + 1
        )
        self._task = asyncio.create_task(self._run(), name=f"signalling-{role}")

    def receive(self, message: RtcOffer | RtcClose) -> None:
        if self._queue.qsize() >= MAX_SIGNALS_WAITING:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "an offer is still being answered; wait for its answer",
                message.client_id,
            )
        if isinstance(message, RtcOffer):
            self.offers += 1
            if self.offers > MAX_OFFERS_PER_SOCKET:
                raise ProtocolError(
                    ErrorCode.RTC_RENEGOTIATION_LIMIT,
                    f"at most {MAX_OFFERS_PER_SOCKET} offers on one socket; reconnect to"
                    " start afresh",
                    message.client_id,
                )
        self._queue.put_nowait(message)

    async def aclose(self) -> None:
        """The socket closed: its peer closes with it."""
        self._queue.put_nowait(None)  # always fits: see __init__
        with contextlib.suppress(Exception):
            await self._task
        self.media.close_peer_of(self.sender)

    async def _run(self) -> None:
        while (message := await self._queue.get()) is not None:
            try:
                if isinstance(message, RtcClose):
                    self.media.close_peer_of(self.sender)
                else:
                    await self.media.offer(self.role, self.sender, message)
            except ProtocolError as exc:
                self.sender.send(error_frame(exc))
            except Exception:
                log.exception("media.signalling_failed", role=self.role)
                self.sender.send(
                    error_frame(
                        ProtocolError(
                            ErrorCode.INTERNAL_ERROR,
                            "the server could not handle this offer",
                            message.client_id,
                        )
                    )
                )
