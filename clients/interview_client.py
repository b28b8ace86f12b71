"""The Python client of OpenHire's interview protocol ``openhire.v1`` (docs/protocol.md).

It speaks only the public HTTP API (for a ticket) and the socket protocol, and restates none
of it: the subprotocol, frame limit, close codes, messages and screenshot framing all come
from ``server.protocol``. Two layers, one protocol:

- functions for each step, cheap enough to call per frame: ``open_socket`` (ticket, URL,
  subprotocol), ``read_ready``, ``decode`` (a server frame into its typed message),
  ``answer_frame``, ``proctor_frame``, ``end_frame``, ``inject_question_frame`` and
  ``screenshot_frame``, ``rtc_offer_frame`` and ``rtc_close_frame`` (what a client sends),
  ``close_code`` (with
  ``server.protocol.codes.FINAL_CLOSE_CODES``: whether to come back). The load generator
  (``clients/loadtest``) drives thousands of sockets with these on one event loop;
- ``CandidateSession`` and ``WatcherSession``: a socket with a reader task that sorts what
  arrives (acks and errors by client id, the rest into a queue), for tests and scripts::

    async with httpx.AsyncClient(base_url="http://localhost:8000", headers=auth) as http:
        async with await CandidateSession.open(http, interview_id) as session:
            question = await session.next_question()
            ack = await session.answer(question["question_id"], "My answer ...")

With aiortc, a session also carries a peer (``offer_media``): the camera and microphone of a
candidate, or a watcher's receive-only view of them; ``clients.media`` has the tracks the
tests and the load test send.

A session hands its caller each message as the JSON object the server sent (tests compare
them with what the docs promise, field by field), after checking it against its typed model:
a frame the protocol does not define ends the session with a ``ProtocolError``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import httpx
import orjson
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode as WebSocketCloseCode
from websockets.typing import Subprotocol

from server.protocol import MAX_FRAME_BYTES
from server.protocol import SUBPROTOCOL as SUBPROTOCOL
from server.protocol.codec import ProtocolError, decode_server, encode_screenshot
from server.protocol.codes import ErrorCode
from server.protocol.messages import AnyServerMessage, ProctorSignal, SessionReady

# What a closed socket reports when no close frame came (the connection dropped): RFC 6455's
# 1006, never sent on the wire, so not one of the protocol's codes.
DROPPED = int(WebSocketCloseCode.ABNORMAL_CLOSURE)


class InterviewOver(Exception):
    """The interview has ended: its ticket request answered 409 ``interview_ended``."""


# --- opening a socket -------------------------------------------------------------------------


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + path


async def fetch_ticket(
    http: httpx.AsyncClient, interview_id: str, token: str | None = None
) -> dict[str, Any]:
    """A single-use ticket for the interview's socket, as ``http``'s user (or ``token``'s)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    resp = await http.post(f"/interviews/{interview_id}/ticket", headers=headers)
    if resp.status_code == 409:
        raise InterviewOver(resp.text)
    resp.raise_for_status()
    ticket: dict[str, Any] = resp.json()
    return ticket


@dataclass(frozen=True, slots=True)
class SocketOptions:
    """How long to wait for a socket to open and to close, and how often to ping the server
    (None: never; the server pings, and the client answers either way)."""

    open_timeout: float = 10
    ping_interval: float | None = 20
    close_timeout: float = 10


async def connect(url: str, options: SocketOptions = SocketOptions()) -> ClientConnection:
    """A socket speaking ``openhire.v1``: the subprotocol, the protocol's frame limit, no
    per-message compression (as the server: JPEGs do not compress)."""
    return await websockets.connect(
        url,
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        max_size=MAX_FRAME_BYTES,
        compression=None,
        open_timeout=options.open_timeout,
        ping_interval=options.ping_interval,
        close_timeout=options.close_timeout,
    )


async def open_socket(
    http: httpx.AsyncClient,
    base_url: str,
    interview_id: str,
    *,
    token: str | None = None,
    since: int | None = None,
    options: SocketOptions = SocketOptions(),
) -> ClientConnection:
    """Fetch a ticket and open the interview's socket with it: the candidate's, or with
    ``since`` (a watcher's ticket) the watcher's, from that offset."""
    ticket = await fetch_ticket(http, interview_id, token)
    path = ticket["url"] if since is None else f"{ticket['url']}&since={since}"
    return await connect(ws_url(base_url, path), options)


async def read_ready(ws: ClientConnection, timeout: float = 10) -> tuple[SessionReady, int]:
    """The greeting every socket starts with, and its size in bytes."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message = decode(raw)
    if not isinstance(message, SessionReady):
        await ws.close()
        raise ProtocolError(ErrorCode.INVALID, f"expected session.ready first, got {message.type}")
    return message, len(raw)


# --- frames in and out ------------------------------------------------------------------------


def decode(raw: str | bytes) -> AnyServerMessage:
    """A frame from the server as its typed message; ``ProtocolError`` if the protocol has no
    such message (see ``server.protocol.codec.decode_server``)."""
    return decode_server(raw)


def answer_frame(client_id: str, question_id: str, text: str) -> str:
    return _text_frame(
        {"type": "answer", "client_id": client_id, "question_id": question_id, "text": text}
    )


def proctor_frame(client_id: str, signal: ProctorSignal | str) -> str:
    """``signal`` is one of ``ProctorSignal``; any other string is sent as given (the server
    refuses it), as a test may want."""
    return _text_frame({"type": "proctor", "client_id": client_id, "signal": signal})


def end_frame(client_id: str) -> str:
    return _text_frame({"type": "end", "client_id": client_id})


def inject_question_frame(client_id: str, text: str) -> str:
    return _text_frame({"type": "inject_question", "client_id": client_id, "text": text})


def screenshot_frame(image: bytes, client_id: str, taken_at: str | None = None) -> bytes:
    """A binary screenshot frame; ``taken_at`` is now unless given (tests give bad ones)."""
    return encode_screenshot(client_id, taken_at or datetime.now(UTC).isoformat(), image)


def rtc_offer_frame(client_id: str, sdp: str) -> str:
    return _text_frame({"type": "rtc.offer", "client_id": client_id, "sdp": sdp})


def rtc_close_frame(client_id: str) -> str:
    return _text_frame({"type": "rtc.close", "client_id": client_id})


def _text_frame(message: dict[str, Any]) -> str:
    # orjson, not the models: a client sends what it is given (tests send bad values on
    # purpose), and the server validates whatever arrives.
    return orjson.dumps(message).decode()


# --- closing --------------------------------------------------------------------------------


def close_code(ws: ClientConnection) -> int:
    """The code the socket closed with; ``DROPPED`` (1006) when the connection just ended."""
    return ws.close_code if ws.close_code is not None else DROPPED


def drop(ws: ClientConnection) -> None:
    """Cut the TCP connection without a close frame, as a network failure would."""
    transport = ws.transport
    if transport is not None:
        transport.abort()


# --- sessions for tests and scripts ------------------------------------------------------------


# The messages that answer one of the client's, matched to it by its client id.
REPLIES = ("ack", "error", "rtc.answer", "answer.resumed")


class SocketSession:
    """A socket plus a reader task that sorts incoming messages: acks (and errors) by client
    id, the rest into a queue, ending with ``{"type": "_closed", "code": ...}``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ready: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        # A frame the protocol does not define: the session ends with it.
        self.violation: ProtocolError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                decode(raw)  # each frame must be one of the protocol's messages
                message: dict[str, Any] = orjson.loads(raw)
                cid = message.get("client_id")
                if message["type"] in REPLIES and cid in self.acks:
                    future = self.acks.pop(cid)
                    if not future.done():
                        future.set_result(message)
                    continue
                await self.messages.put(message)
        except websockets.ConnectionClosed:
            pass
        except ProtocolError as exc:
            self.violation = exc
            await self.ws.close()
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            for future in self.acks.values():
                if not future.done():
                    future.set_exception(
                        self.violation or ConnectionError("socket closed before the ack")
                    )
            await self.messages.put({"type": "_closed", "code": self.close_code})

    def _check(self, message: dict[str, Any]) -> dict[str, Any]:
        if message["type"] == "_closed" and self.violation is not None:
            raise self.violation
        return message

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        return self._check(await asyncio.wait_for(self.messages.get(), timeout))

    async def receive_until(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next message of ``kind``, skipping others (raises if the socket closes)."""
        async with asyncio.timeout(timeout):
            while True:
                message = self._check(await self.messages.get())
                if message["type"] == kind:
                    return message
                if message["type"] == "_closed":
                    raise ConnectionError(f"socket closed ({message['code']}) waiting for {kind}")

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a message with a client id (one is added if missing); wait for its ack or
        error. Sent as given, so a test can send what the protocol refuses."""
        cid = message.setdefault("client_id", uuid.uuid4().hex)
        return await self._send(_text_frame(message), cid, timeout)

    async def send_binary(
        self, frame: bytes, client_id: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        return await self._send(frame, client_id, timeout)

    async def _send(self, frame: str | bytes, client_id: str, timeout: float) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[client_id] = future
        await self.ws.send(frame)
        return await asyncio.wait_for(future, timeout)

    async def offer_media(
        self, pc: RTCPeerConnection, client_id: str | None = None, timeout: float = 20.0
    ) -> dict[str, Any]:
        """WebRTC over this socket (docs/protocol.md, "Media"): ``pc`` with its tracks or
        transceivers added; its offer is made, gathered in full (aiortc does not trickle),
        sent as ``rtc.offer``, and the ``rtc.answer`` applied. Returns the reply: the answer,
        or the ``error`` that refused the offer (then ``pc`` is left as it was)."""
        await pc.setLocalDescription(await pc.createOffer())
        cid = client_id or uuid.uuid4().hex
        reply = await self._send(rtc_offer_frame(cid, pc.localDescription.sdp), cid, timeout)
        if reply["type"] == "rtc.answer":
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return reply

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
        if self.violation is not None:
            raise self.violation

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @classmethod
    async def _open(
        cls, http: httpx.AsyncClient, interview_id: str, since: int | None = None
    ) -> Self:
        ws = await open_socket(http, str(http.base_url), interview_id, since=since)
        session = cls(ws)
        session.ready = await session.receive_until("session.ready")
        return session


class CandidateSession(SocketSession):
    @classmethod
    async def open(cls, http: httpx.AsyncClient, interview_id: str) -> CandidateSession:
        return await cls._open(http, interview_id)

    async def next_question(self, timeout: float = 10.0) -> dict[str, Any]:
        return await self.receive_until("question.done", timeout)

    async def answer(
        self, question_id: str, text: str, client_id: str | None = None
    ) -> dict[str, Any]:
        cid = client_id or uuid.uuid4().hex
        return await self._send(answer_frame(cid, question_id, text), cid, 10.0)

    async def proctor(self, signal: ProctorSignal | str) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        return await self._send(proctor_frame(cid, signal), cid, 10.0)

    async def screenshot(self, image: bytes, client_id: str | None = None) -> dict[str, Any]:
        cid = client_id or uuid.uuid4().hex
        return await self._send(screenshot_frame(image, cid), cid, 10.0)

    async def end(self) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        return await self._send(end_frame(cid), cid, 10.0)


class WatcherSession(SocketSession):
    @classmethod
    async def open(
        cls, http: httpx.AsyncClient, interview_id: str, since: int = 0
    ) -> WatcherSession:
        return await cls._open(http, interview_id, since)

    async def events(self, timeout: float = 10.0) -> AsyncIterator[dict[str, Any]]:
        while True:
            message = await self.receive(timeout)
            if message["type"] == "_closed":
                return
            if message["type"] == "event":
                yield message

    async def inject_question(self, text: str) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        return await self._send(inject_question_frame(cid, text), cid, 10.0)

    async def end(self) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        return await self._send(end_frame(cid), cid, 10.0)
