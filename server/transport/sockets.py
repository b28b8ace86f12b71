"""The interview sockets: thin shells that turn frames into calls on the live interview.

One receive loop per socket; it never waits on the database (the session hands events to the
persistence queue) and never blocks on a slow peer (each socket's writer has its own bounded
queue). Each kind of frame has one entry into the live interview: a candidate's message and
screenshot (through its inbox), a watcher's message. Every refusal before the session starts
is a named close code (``server.errors.told``); every bad frame after it is an ``error`` frame,
and the socket goes on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import pydantic
import structlog
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth.tickets import Ticket, TicketRole
from server.cluster.streams import StreamFollower
from server.errors import (
    ClusterUnavailable,
    Forbidden,
    NotFound,
    OpenHireError,
    ProtocolError,
    Unauthorized,
    told,
)
from server.media.hub import Signalling
from server.protocol import SUBPROTOCOL
from server.protocol.codec import (
    decode_candidate,
    decode_screenshot,
    decode_watcher,
    encode,
    error_frame,
)
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import LogOffset, RtcClose, RtcOffer
from server.services import get_services
from server.sessions.actions import DisconnectCause
from server.sessions.live import LiveInterview
from server.sessions.outbox import Outbox
from server.transport.follow import follow_watcher_socket
from server.transport.inbox import CandidateInbox
from server.transport.limits import (
    SETTLE_BEFORE_CLOSE_S,
    RateLimit,
    check_screenshot_frame,
    check_text_frame,
)
from server.transport.replay import Watcher
from server.transport.writer import SocketWriter, close_reason

log = structlog.get_logger(__name__)

_since = pydantic.TypeAdapter[int](LogOffset)


async def _refuse(websocket: WebSocket, error: OpenHireError) -> None:
    """Close a socket that cannot go on, with the close code ``told`` gives its error."""
    answer = told(error)
    if answer is None:
        log.error("socket.refused", exc_info=error)
        await websocket.close(CloseCode.INTERNAL_ERROR, "internal error")
    else:
        await websocket.close(answer.close_code, close_reason(answer.message))


def parse_since(raw: str) -> int:
    """``since`` from a watcher's URL, by the same rule as ``?since=`` over HTTP (an integer
    from 0 to 2**63 - 1); a ``ProtocolError`` (invalid) otherwise."""
    try:
        return _since.validate_python(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise ProtocolError(ErrorCode.INVALID, f"since: {first['msg']}") from None


def disconnect_cause(code: int | None) -> DisconnectCause:
    """What a candidate socket's close code says about the gap that follows: browsers close
    with 1001 (going away) when the page unloads, as on a reload, and a page closes with 4100
    itself as it goes (its own close does not depend on the browser's teardown); 1012 is this
    server going down; anything else (1006 above all: no close frame) is a lost connection."""
    if code in (CloseCode.GOING_AWAY, CloseCode.PAGE_LEAVING):
        return "reload"
    if code == CloseCode.SERVER_RESTARTING:
        return "server_restart"
    return "network_drop"


async def close_rate_limited(live: LiveInterview, writer: SocketWriter) -> None:
    """Close a socket that sent too much, once what it sent before is answered: every message
    read before the one over the limit is committed and acked (or refused) first, so a client
    never holds a stored message it was not told about. What it sent after is never read."""
    await live.settled(within_s=SETTLE_BEFORE_CLOSE_S)
    writer.close(CloseCode.RATE_LIMITED, "too many messages; resend what was not acked")


def open_signalling(
    live: LiveInterview,
    role: Literal["candidate", "watcher"],
    sender: Outbox,
    client_id: str | None = None,
) -> Signalling:
    """A socket's WebRTC signalling; ``rtc_unavailable`` when this server has WebRTC off or
    the interview takes no more media (it is ending, or moving to another server)."""
    media = live.media_for_signalling()
    if media is None:
        raise ProtocolError(
            ErrorCode.RTC_UNAVAILABLE,
            "WebRTC is off on this server"
            if live.media_hub is None or not live.media_hub.enabled
            else "this interview takes no media now",
            client_id,
        )
    return Signalling(media, role, sender)


async def _open(websocket: WebSocket, role: TicketRole) -> tuple[LiveInterview, Ticket] | None:
    """Accept, check the ticket and find the live interview; or close with the reason."""
    if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.accept()
        await websocket.close(CloseCode.PROTOCOL_UNSUPPORTED, f"offer subprotocol {SUBPROTOCOL}")
        return None
    await websocket.accept(subprotocol=SUBPROTOCOL)
    try:
        return await _find(websocket, role)
    except OpenHireError as exc:
        await _refuse(websocket, exc)
    return None


async def _redeem(websocket: WebSocket, role: TicketRole) -> tuple[uuid.UUID, Ticket]:
    services = get_services(websocket)
    try:
        interview_id = uuid.UUID(websocket.path_params["interview_id"])
    except ValueError:
        raise NotFound("no such interview") from None
    ticket = await services.tickets.redeem(websocket.query_params.get("ticket"))
    if ticket is None:
        raise Unauthorized("missing, expired or used ticket")
    if ticket.interview_id != interview_id or ticket.role != role:
        raise Forbidden("this ticket is not for this interview or role")
    return interview_id, ticket


async def _find(websocket: WebSocket, role: TicketRole) -> tuple[LiveInterview, Ticket]:
    services = get_services(websocket)
    interview_id, ticket = await _redeem(websocket, role)
    try:
        return await services.sessions.get(interview_id), ticket
    except NotFound:
        raise NotFound("no such interview") from None


async def candidate_socket(websocket: WebSocket) -> None:
    opened = await _open(websocket, "candidate")
    if opened is None:
        return
    live, ticket = opened
    sender = f"candidate:{ticket.user_id}"
    services = get_services(websocket)
    writer = SocketWriter(websocket, "candidate", metrics=services.metrics)
    structlog.contextvars.bind_contextvars(interview_id=str(live.id), role="candidate")
    live.attach_candidate(writer, time.time())
    limit = RateLimit(*RateLimit.CANDIDATE)
    flooded = False
    # Messages reach the interview through the inbox, in arrival order; a screenshot's pixels
    # are decoded in a thread meanwhile (see server.transport.inbox).
    inbox = CandidateInbox(live, writer, services.screenshots, sender)
    # WebRTC signalling (server.media): made on the socket's first rtc.* message.
    signalling: Signalling | None = None
    close_code: int | None = None
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                close_code = frame.get("code")
                break
            if not limit.allow():
                flooded = True
                break
            try:
                if frame.get("text") is not None:
                    message = decode_candidate(check_text_frame(frame["text"]))
                    if isinstance(message, RtcOffer | RtcClose):
                        signalling = signalling or open_signalling(
                            live, "candidate", writer, message.client_id
                        )
                        signalling.receive(message)
                    else:
                        inbox.message(message)
                elif frame.get("bytes") is not None:
                    header, image = decode_screenshot(frame["bytes"])
                    check_screenshot_frame(
                        header,
                        image,
                        max_bytes=services.settings.max_screenshot_bytes,
                        now=time.time(),
                    )
                    inbox.screenshot(header, image)
            except ProtocolError as exc:
                inbox.refuse(exc)
    except WebSocketDisconnect as exc:
        close_code = exc.code
    finally:
        try:
            await inbox.aclose()  # what arrived before the end is still handed over
            if signalling is not None:
                await signalling.aclose()
            if flooded:
                await close_rate_limited(live, writer)
        finally:
            live.detach_candidate(writer, time.time(), disconnect_cause(close_code))
            await writer.aclose()


async def _follow(websocket: WebSocket, follower: StreamFollower) -> None:
    """A watcher behind several nodes (``server.transport.follow``)."""
    if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.accept()
        await websocket.close(CloseCode.PROTOCOL_UNSUPPORTED, f"offer subprotocol {SUBPROTOCOL}")
        return
    await websocket.accept(subprotocol=SUBPROTOCOL)
    services = get_services(websocket)
    try:
        if services.cluster is not None and not services.cluster.node.healthy:
            raise ClusterUnavailable("the cluster's registry is out of reach; try again shortly")
        interview_id, ticket = await _redeem(websocket, "watcher")
        try:
            since = parse_since(websocket.query_params.get("since", "0"))
        except ProtocolError as exc:
            await websocket.send_text(encode(error_frame(exc)))
            raise
        await follow_watcher_socket(websocket, services, follower, interview_id, ticket, since)
    except OpenHireError as exc:
        await _refuse(websocket, exc)


async def watcher_socket(websocket: WebSocket) -> None:
    services = get_services(websocket)
    if services.follower is not None:
        await _follow(websocket, services.follower)
        return
    opened = await _open(websocket, "watcher")
    if opened is None:
        return
    live, ticket = opened
    sender = f"recruiter:{ticket.user_id}"
    try:
        since = parse_since(websocket.query_params.get("since", "0"))
    except ProtocolError as exc:
        # As over HTTP (422): said in an error, then the socket closes; nothing is replayed.
        await websocket.send_text(encode(error_frame(exc)))
        await _refuse(websocket, exc)
        live.forget_if_idle()
        return
    writer = SocketWriter(websocket, "watcher", max_queue=1024, metrics=services.metrics)
    watcher = Watcher(writer, since)
    # Register first, read the log second: whatever commits meanwhile waits in the buffer.
    live.add_watcher(watcher, since)
    signalling: Signalling | None = None
    try:
        await watcher.replay(services.interview_log, live.id)
        limit = RateLimit(*RateLimit.WATCHER)
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if not limit.allow():
                await close_rate_limited(live, writer)
                break
            try:
                if frame.get("text") is None:
                    raise ProtocolError(ErrorCode.MALFORMED, "watchers send text frames only")
                message = decode_watcher(check_text_frame(frame["text"]))
                if isinstance(message, RtcOffer | RtcClose):
                    signalling = signalling or open_signalling(
                        live, "watcher", watcher, message.client_id
                    )
                    signalling.receive(message)
                else:
                    live.watcher_message(watcher, message, sender)
            except ProtocolError as exc:
                writer.send(error_frame(exc))
    except WebSocketDisconnect:
        pass
    finally:
        if signalling is not None:
            await signalling.aclose()
        live.remove_watcher(watcher)
        await writer.aclose()


routes = [
    WebSocketRoute("/ws/interviews/{interview_id}", candidate_socket),
    WebSocketRoute("/ws/interviews/{interview_id}/watch", watcher_socket),
]


def serve_matched(scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
    """The endpoint of a socket whose route matched (``scope`` holds its ``endpoint`` and
    ``path_params``), as server/app.py's ``OpenHireApp`` calls it: the coroutine is returned,
    not awaited here, so that no frame of this function is held while the socket is open."""
    endpoint: Callable[[WebSocket], Coroutine[Any, Any, None]] = scope["endpoint"]
    return endpoint(WebSocket(scope, receive, send))
