"""One WebSocket's outgoing side: a bounded queue drained by a writer task that this object
owns. Sending never blocks the caller; a client too slow to keep up is closed with
``slow_consumer`` (it reconnects from its last offset and loses nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

import structlog
from starlette.websockets import WebSocket, WebSocketState

from server.protocol.codec import encode
from server.protocol.codes import CloseCode
from server.protocol.messages import ServerMessage

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Connection:
    def __init__(self, websocket: WebSocket, role: str, *, max_queue: int = 256) -> None:
        self.websocket = websocket
        self.role = role
        self.id = uuid.uuid4().hex[:12]
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue(maxsize=max_queue)
        self._closing = False
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._task = asyncio.create_task(self._write(), name=f"ws-writer-{role}-{self.id}")

    def send(self, message: ServerMessage) -> None:
        self.send_text(encode(message))

    def send_text(self, text: str) -> None:
        if self._closing:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("socket.slow_consumer", role=self.role, connection=self.id)
            self._closing = True
            self._abort(CloseCode.SLOW_CONSUMER, "slow consumer: reconnect from your last offset")

    async def send_wait(self, message: ServerMessage) -> None:
        """Send, waiting for room in the queue: for replays, which may be long."""
        if not self._closing:
            await self._queue.put(encode(message))

    def close(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been sent."""
        if self._closing:
            return
        self._closing = True
        try:
            self._queue.put_nowait(_Close(code, reason))
        except asyncio.QueueFull:
            self._abort(code, reason)

    def _abort(self, code: int, reason: str) -> None:
        # Drop what is queued and close now.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_Close(code, reason))

    async def _write(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Close):
                    self.close_code = item.code
                    if self.websocket.application_state is WebSocketState.CONNECTED:
                        await self.websocket.close(item.code, item.reason[:120])
                    return
                await self.websocket.send_text(item)
        except Exception as exc:  # the peer went away mid-send
            log.debug("socket.write_failed", role=self.role, error=repr(exc))
        finally:
            self._closing = True
            self.closed.set()

    async def wait_closed(self, within_s: float) -> None:
        try:
            await asyncio.wait_for(self.closed.wait(), within_s)
        except TimeoutError:
            self._task.cancel()

    async def aclose(self) -> None:
        """The receive loop ended. If this side asked to close, let the writer send what was
        queued and the close frame (bounded); otherwise the peer is gone: stop the writer."""
        if self._closing and not self._task.done():
            await self.wait_closed(2.0)
        self._closing = True
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
