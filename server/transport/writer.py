"""One WebSocket's outgoing side (the ``Outbox`` a live interview sends to): a bounded queue
drained by a writer task that this object owns, started when something is queued and ended
when the queue is empty (an idle socket, most of them most of the time, holds no task).
Sending never blocks the caller; a client too slow to keep up is closed with
``slow_consumer`` (it reconnects from its last offset and loses nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

import structlog
from prometheus_client import Gauge
from starlette.websockets import WebSocket, WebSocketState

from server.metrics import AnswerClock, Metrics
from server.protocol.codec import encode
from server.protocol.codes import CloseCode
from server.protocol.messages import ServerMessage
from server.transport.lean import Flag

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


def close_reason(text: str) -> str:
    """A close frame's reason holds at most 123 bytes of UTF-8."""
    return text.encode()[:123].decode(errors="ignore")


class SocketWriter:
    def __init__(
        self,
        websocket: WebSocket,
        role: str,
        *,
        max_queue: int = 256,
        metrics: Metrics | None = None,
    ) -> None:
        self.websocket = websocket
        self.role = role
        self.id = uuid.uuid4().hex[:12]
        # A plain list and futures made on demand rather than an asyncio.Queue (three deques
        # and an Event, about 3 KB a socket, for a queue empty most of the time).
        self._max_queue = max_queue
        self._pending: list[str | _Close] = []
        self._room: list[asyncio.Future[None]] = []  # send_wait callers wait for room
        self._closing = False
        self._finished = False
        self.closed = Flag()  # an asyncio.Event's operations, without its deque
        self.close_code: int | None = None
        # Running only while something is queued (see _write).
        self._task: asyncio.Task[None] | None = None
        # The candidate's answers are timed from arrival (CandidateInbox) to ack (send).
        self.answers: AnswerClock | None = None
        self._opened: Gauge | None = None
        if metrics is not None:
            if role == "candidate":
                self.answers = AnswerClock(metrics.answer_ack)
            # Counted until this socket's writing ends for good (_finish), however it ends.
            self._opened = metrics.sockets[role]
            self._opened.inc()

    def send(self, message: ServerMessage) -> None:
        if self.answers is not None:
            self.answers.replied(message)
        self.send_text(encode(message))

    def send_text(self, text: str) -> None:
        if self._closing:
            return
        if len(self._pending) < self._max_queue:
            self._put(text)
        else:
            log.warning("socket.slow_consumer", role=self.role, connection=self.id)
            self._closing = True
            self._abort(CloseCode.SLOW_CONSUMER, "slow consumer: reconnect from your last offset")

    async def send_wait(self, message: ServerMessage) -> None:
        """Send, waiting for room in the queue: for replays, which may be long."""
        while not self._closing and len(self._pending) >= self._max_queue:
            room = asyncio.get_running_loop().create_future()
            self._room.append(room)
            try:
                await room
            finally:
                if room in self._room:
                    self._room.remove(room)
        if not self._closing:
            self._put(encode(message))

    def _put(self, item: str | _Close) -> None:
        self._pending.append(item)
        if self._task is None and not self._finished:
            self._task = asyncio.create_task(self._write(), name=f"ws-writer-{self.role}-{self.id}")

    def close(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been sent."""
        if self._closing:
            return
        self._closing = True
        if len(self._pending) < self._max_queue:
            self._put(_Close(code, reason))
        else:
            self._abort(code, reason)

    def _abort(self, code: int, reason: str) -> None:
        # Drop what is queued and close now.
        self._pending.clear()
        self._put(_Close(code, reason))

    async def _write(self) -> None:
        """Send what is queued, in order; end when the queue is empty (the next ``_put``
        starts another), or for good after the close frame or a failed send."""
        try:
            while self._pending:
                item = self._pending.pop(0)
                if self._room:
                    room = self._room.pop(0)
                    if not room.done():
                        room.set_result(None)
                if isinstance(item, _Close):
                    self.close_code = item.code
                    if self.websocket.application_state is WebSocketState.CONNECTED:
                        await self.websocket.close(item.code, close_reason(item.reason))
                    self._finish()
                    return
                await self.websocket.send_text(item)
        except Exception as exc:  # the peer went away mid-send
            log.debug("socket.write_failed", role=self.role, error=repr(exc))
            self._finish()
        finally:
            self._task = None

    def _finish(self) -> None:
        """Nothing more will be written on this socket."""
        if self._finished:
            return
        self._finished = True
        self._closing = True
        self._pending.clear()
        self.closed.set()
        for room in self._room:  # nothing more will be written: no one waits for room
            if not room.done():
                room.set_result(None)
        if self._opened is not None:
            self._opened.dec()

    async def wait_closed(self, within_s: float) -> None:
        try:
            await asyncio.wait_for(self.closed.wait(), within_s)
        except TimeoutError:
            await self._stop()

    async def aclose(self) -> None:
        """The receive loop ended. If this side asked to close, let the writer send what was
        queued and the close frame (bounded); otherwise the peer is gone: stop the writer."""
        if self._closing and not self._finished:
            await self.wait_closed(2.0)
        await self._stop()

    async def _stop(self) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish()
