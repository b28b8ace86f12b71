"""A watcher's socket behind several nodes: the interview may run on any node, so the watcher
follows it through its Redis Stream (``server.cluster.streams``), not through the live
interview.

It subscribes to the stream first, then replays the log from PostgreSQL after its ``since``,
then sends what the stream brought, placing each committed entry by its offset: one already
sent is skipped, and one past a gap is preceded by the gap, read from PostgreSQL. So there is
no gap and no duplicate across the seam, across an owner change, or when the stream's capped
window has moved on. Live-only frames (``question.delta``) are sent once replayed. A
recruiter's commands go to the owner, wherever it is (``SessionManager.watcher_command``), and
its answers come back here. When Redis goes away the socket is closed with 1013 (try again
later): the watcher reconnects with its last offset and misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth.tickets import Ticket
from server.cluster.streams import StreamFollower, StreamItem
from server.errors import OpenHireError, ProtocolError
from server.media.hub import Signalling
from server.protocol.codec import decode_watcher, error_frame
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import RtcClose, RtcOffer
from server.services import Services
from server.sessions.live import watcher_greeting
from server.sessions.manager import SessionManager
from server.store.interview_log import InterviewLog
from server.transport.limits import RateLimit, check_text_frame
from server.transport.replay import REPLAY_PAGE
from server.transport.writer import SocketWriter

log = structlog.get_logger(__name__)

# Stream items waiting for one watcher; past it the watcher is too slow (4008, reconnect).
FOLLOW_QUEUE = 2048

_LOST = {"k": "lost"}


class StreamWatcher:
    """One watcher socket following one interview's stream (a ``Subscriber``)."""

    def __init__(
        self, writer: SocketWriter, since: int, interview_log: InterviewLog, interview_id: uuid.UUID
    ) -> None:
        self.writer = writer
        self.last_sent = since
        self._log = interview_log
        self._interview_id = interview_id
        self._items: asyncio.Queue[StreamItem] = asyncio.Queue(maxsize=FOLLOW_QUEUE)
        self.replaying = True

    def deliver(self, item: StreamItem) -> None:
        try:
            self._items.put_nowait(item)
        except asyncio.QueueFull:
            self.writer.close(CloseCode.SLOW_CONSUMER, "too slow; reconnect with your offset")

    def lost(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._items.put_nowait(_LOST)

    async def _catch_up(self, through: int | None) -> None:
        """Send the log after ``last_sent`` (up to ``through``), from PostgreSQL."""
        while through is None or self.last_sent < through:
            entries = await self._log.read_since(self._interview_id, self.last_sent, REPLAY_PAGE)
            for entry in entries:
                if through is not None and entry.offset > through:
                    return
                await self.writer.send_wait(entry.as_event())
                self.last_sent = entry.offset
            if len(entries) < REPLAY_PAGE:
                return

    async def run(self) -> None:
        await self._catch_up(None)
        self.replaying = False
        while True:
            item = await self._items.get()
            kind = item.get("k")
            if kind == "e":
                offset = int(item["o"])
                if offset <= self.last_sent:
                    continue
                if offset > self.last_sent + 1:
                    await self._catch_up(offset - 1)
                self.writer.send_text(item["f"])
                self.last_sent = offset
            elif kind == "l":
                self.writer.send_text(item["f"])
            elif kind == "x":
                await self._catch_up(int(item["o"]))
                self.writer.close(CloseCode.NORMAL, "interview ended")
                return
            elif kind == "lost":
                self.writer.close(CloseCode.TRY_AGAIN_LATER, "reconnect shortly with your offset")
                return


def _media_here(
    sessions: SessionManager,
    interview_id: uuid.UUID,
    writer: SocketWriter,
    message: RtcOffer | RtcClose,
) -> Signalling:
    """A watcher's media behind several nodes: served by the node that owns the interview (the
    candidate's peer is there); elsewhere ``rtc_unavailable``. Media never crosses nodes."""
    live = sessions.live.get(interview_id)
    media = live.media_for_signalling() if live is not None and not live.fenced else None
    if media is None:
        raise ProtocolError(
            ErrorCode.RTC_UNAVAILABLE,
            "the candidate's media is on another server; live media is watched only through"
            " the server that holds the interview (reconnect to reach it, or follow the"
            " snapshots)",
            message.client_id,
        )
    return Signalling(media, "watcher", writer)


async def follow_watcher_socket(
    websocket: WebSocket,
    services: Services,
    follower: StreamFollower,
    interview_id: uuid.UUID,
    ticket: Ticket,
    since: int,
) -> None:
    """The socket is accepted and its ticket and ``since`` checked; refusals of the interview
    itself (ended, gone) raise for the caller to close with."""
    sessions = services.sessions
    sender = f"recruiter:{ticket.user_id}"
    state, offset = await sessions.watcher_state(interview_id)
    writer = SocketWriter(websocket, "watcher", max_queue=1024)
    greeting = watcher_greeting(interview_id, state, offset, resumed=since > 0)
    media = services.media.info(services.settings.screenshot_interval_s)
    writer.send(greeting.model_copy(update={"media": media}))
    watcher = StreamWatcher(writer, since, services.interview_log, interview_id)
    try:
        await follower.subscribe(interview_id, watcher)
    except Exception:
        writer.close(CloseCode.TRY_AGAIN_LATER, "reconnect shortly with your offset")
        await writer.aclose()
        return
    sessions.watcher_sockets[writer.id] = writer.send_text
    following = asyncio.create_task(watcher.run(), name="watcher-follow")
    signalling: Signalling | None = None
    try:
        limit = RateLimit(*RateLimit.WATCHER)
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if not limit.allow():
                writer.close(CloseCode.RATE_LIMITED, "too many messages; resend what was not acked")
                break
            try:
                if frame.get("text") is None:
                    raise ProtocolError(ErrorCode.MALFORMED, "watchers send text frames only")
                message = decode_watcher(check_text_frame(frame["text"]))
                if isinstance(message, RtcOffer | RtcClose):
                    signalling = signalling or _media_here(sessions, interview_id, writer, message)
                    signalling.receive(message)
                    continue
                try:
                    await sessions.watcher_command(interview_id, writer.id, message, sender)
                except OpenHireError:
                    busy = "the interview cannot take commands now; resend shortly"
                    raise ProtocolError(ErrorCode.OVERLOADED, busy, message.client_id) from None
            except ProtocolError as exc:
                writer.send(error_frame(exc))
    except WebSocketDisconnect:
        pass
    finally:
        if signalling is not None:
            await signalling.aclose()
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await following
        follower.unsubscribe(interview_id, watcher)
        sessions.watcher_sockets.pop(writer.id, None)
        await writer.aclose()
