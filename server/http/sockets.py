"""The interview sockets: thin shells that turn frames into session events.

One receive loop per socket; it never waits on the database (the session hands events to the
persistence queue) and never blocks on a slow peer (each socket's writer has its own bounded
queue). Every refusal before the session starts is a named close code (see
``server.protocol.codes``); every bad frame after it is an ``error`` message, and the socket
goes on.
"""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth.tickets import TicketRole
from server.errors import ApiError, NotFound
from server.protocol import SUBPROTOCOL
from server.protocol.codec import ProtocolError, decode_candidate, decode_screenshot, decode_watcher
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.images import ImageError, inspect_image
from server.protocol.messages import Error, SessionReady
from server.services import get_services
from server.sessions.connection import Connection
from server.sessions.live import LiveInterview, Watcher, event_message
from server.sessions.manager import InterviewOver
from server.sessions.session import NewEvent
from server.store.database import Pool

log = structlog.get_logger(__name__)

MAX_TEXT_FRAME = 128 * 1024


class RateLimit:
    """A token bucket: ``rate`` messages a second on average, ``burst`` at once."""

    def __init__(self, rate: float = 30.0, burst: float = 60.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _refuse(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    await websocket.close(code, reason)


async def _open(websocket: WebSocket, role: TicketRole) -> LiveInterview | None:
    """Accept, check the ticket and find the live interview; or close with the reason."""
    if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.accept()
        await _refuse(websocket, CloseCode.PROTOCOL_UNSUPPORTED, f"offer subprotocol {SUBPROTOCOL}")
        return None
    await websocket.accept(subprotocol=SUBPROTOCOL)
    services = get_services(websocket)
    try:
        interview_id = uuid.UUID(websocket.path_params["interview_id"])
    except ValueError:
        await _refuse(websocket, CloseCode.NOT_FOUND, "no such interview")
        return None
    ticket = services.tickets.redeem(websocket.query_params.get("ticket"))
    if ticket is None:
        await _refuse(websocket, CloseCode.BAD_TICKET, "missing, expired or used ticket")
        return None
    if ticket.interview_id != interview_id or ticket.role != role:
        await _refuse(
            websocket, CloseCode.FORBIDDEN, "this ticket is not for this interview or role"
        )
        return None
    try:
        return await services.sessions.get(interview_id)
    except NotFound:
        await _refuse(websocket, CloseCode.NOT_FOUND, "no such interview")
    except InterviewOver as exc:
        await _refuse(websocket, CloseCode.INTERVIEW_ENDED, exc.message)
    except ApiError as exc:
        await _refuse(websocket, CloseCode.INTERNAL_ERROR, exc.message)
    return None


async def candidate_socket(websocket: WebSocket) -> None:
    live = await _open(websocket, "candidate")
    if live is None:
        return
    settings = get_services(websocket).settings
    connection = Connection(websocket, "candidate")
    structlog.contextvars.bind_contextvars(interview_id=str(live.id), role="candidate")
    live.attach_candidate(connection, time.time())
    limit = RateLimit()
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if not limit.allow():
                connection.close(CloseCode.RATE_LIMITED, "too many messages")
                break
            try:
                if frame.get("text") is not None:
                    text = frame["text"]
                    if len(text) > MAX_TEXT_FRAME:
                        raise ProtocolError(
                            ErrorCode.TOO_LARGE,
                            f"a text frame may be at most {MAX_TEXT_FRAME} bytes",
                        )
                    message = decode_candidate(text)
                    if not live.overloaded(connection, message.client_id):
                        live.candidate_message(message)
                elif frame.get("bytes") is not None:
                    header, image = decode_screenshot(frame["bytes"])
                    if len(image) > settings.max_screenshot_bytes:
                        raise ProtocolError(
                            ErrorCode.TOO_LARGE,
                            f"a screenshot may be at most {settings.max_screenshot_bytes} bytes",
                            header.client_id,
                        )
                    try:
                        info = inspect_image(image)
                    except ImageError as exc:
                        raise ProtocolError(
                            ErrorCode.BAD_IMAGE, str(exc), header.client_id
                        ) from None
                    if not live.overloaded(connection, header.client_id):
                        live.candidate_screenshot(
                            header, image, info.content_type, info.width, info.height
                        )
            except ProtocolError as exc:
                connection.send(Error(code=exc.code, message=exc.message, client_id=exc.client_id))
    except WebSocketDisconnect:
        pass
    finally:
        live.detach_candidate(connection, time.time())
        await connection.aclose()


async def watcher_socket(websocket: WebSocket) -> None:
    services = get_services(websocket)
    since_raw = websocket.query_params.get("since", "0")
    live = await _open(websocket, "watcher")
    if live is None:
        return
    try:
        since = max(0, int(since_raw))
    except ValueError:
        since = 0
    connection = Connection(websocket, "watcher", max_queue=1024)
    watcher = Watcher(connection, since)
    # Register first, read the log second: whatever commits meanwhile waits in the buffer.
    live.add_watcher(watcher)
    connection.send(
        SessionReady(
            interview_id=str(live.id),
            state=live.session.phase.value,
            resumed=since > 0,
            offset=live.session.committed_offset,
            last_client_id=None,
            role="watcher",
        )
    )
    try:
        await _replay(services.pool, live.id, watcher)
        limit = RateLimit(rate=10, burst=20)
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if not limit.allow():
                connection.close(CloseCode.RATE_LIMITED, "too many messages")
                break
            try:
                if frame.get("text") is None:
                    raise ProtocolError(ErrorCode.MALFORMED, "watchers send text frames only")
                message = decode_watcher(frame["text"])
                if not live.overloaded(connection, message.client_id):
                    live.watcher_message(watcher, message)
            except ProtocolError as exc:
                connection.send(Error(code=exc.code, message=exc.message, client_id=exc.client_id))
    except WebSocketDisconnect:
        pass
    finally:
        live.remove_watcher(watcher)
        await connection.aclose()


async def _replay(pool: Pool, interview_id: uuid.UUID, watcher: Watcher) -> None:
    last = watcher.last_sent
    while True:
        rows = await pool.fetch(
            'select "offset", kind, data, client_id, created_at from public.interview_events'
            ' where interview_id = $1 and "offset" > $2 order by "offset" limit 500',
            interview_id,
            last,
        )
        for row in rows:
            event = NewEvent(
                offset=row["offset"], kind=row["kind"], data=row["data"], at=row["created_at"]
            )
            await watcher.connection.send_wait(event_message(event))
            last = row["offset"]
        if len(rows) < 500:
            break
    watcher.last_sent = last
    watcher.finish_replay()


routes = [
    WebSocketRoute("/ws/interviews/{interview_id}", candidate_socket),
    WebSocketRoute("/ws/interviews/{interview_id}/watch", watcher_socket),
]
