"""A small Python client for OpenHire's interview protocol ``openhire.v1``.

It uses only the public HTTP API (to get a ticket) and the documented socket protocol
(docs/protocol.md). Tests, the load generator and scripts use it; so can you::

    async with httpx.AsyncClient(base_url="http://localhost:8000", headers=auth) as http:
        async with await CandidateSession.open(http, interview_id) as session:
            question = await session.next_question()
            ack = await session.answer(question["question_id"], "My answer ...")
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Self

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

SUBPROTOCOL = "openhire.v1"


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + path


async def fetch_ticket(http: httpx.AsyncClient, interview_id: str) -> dict[str, Any]:
    resp = await http.post(f"/interviews/{interview_id}/ticket")
    resp.raise_for_status()
    data: dict[str, Any] = resp.json()
    return data


def screenshot_frame(image: bytes, client_id: str, taken_at: str | None = None) -> bytes:
    header = orjson.dumps(
        {
            "type": "screenshot",
            "client_id": client_id,
            "taken_at": taken_at or datetime.now(UTC).isoformat(),
        }
    )
    return struct.pack(">I", len(header)) + header + image


class SocketSession:
    """A socket plus a reader task that sorts incoming messages: acks by client id, the rest
    into a queue."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.errors: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ready: dict[str, Any] | None = None
        self._reader = asyncio.create_task(self._read())
        self.close_code: int | None = None
        self.close_reason: str | None = None

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = orjson.loads(raw)
                kind = message.get("type")
                cid = message.get("client_id")
                if kind == "ack" and cid in self.acks:
                    future = self.acks.pop(cid)
                    if not future.done():
                        future.set_result(message)
                    continue
                if kind == "error" and cid in self.acks:
                    future = self.acks.pop(cid)
                    if not future.done():
                        future.set_result(message)
                    continue
                await self.messages.put(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            for future in self.acks.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed before the ack"))
            await self.messages.put({"type": "_closed", "code": self.close_code})

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def receive_until(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next message of ``kind``, skipping others (raises if the socket closes)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.messages.get()
                if message["type"] == kind:
                    return message
                if message["type"] == "_closed":
                    raise ConnectionError(f"socket closed ({message['code']}) waiting for {kind}")

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a message with a client id; wait for its ack (or error)."""
        cid = message.setdefault("client_id", uuid.uuid4().hex)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[cid] = future
        await self.ws.send(orjson.dumps(message).decode())
        return await asyncio.wait_for(future, timeout)

    async def send_binary(
        self, frame: bytes, client_id: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[client_id] = future
        await self.ws.send(frame)
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _connect(url: str) -> ClientConnection:
    return await websockets.connect(
        url,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        max_size=2**20,
        compression=None,
        open_timeout=10,
    )


class CandidateSession(SocketSession):
    @classmethod
    async def open(cls, http: httpx.AsyncClient, interview_id: str) -> CandidateSession:
        ticket = await fetch_ticket(http, interview_id)
        ws = await _connect(ws_url(str(http.base_url), ticket["url"]))
        session = cls(ws)
        session.ready = await session.receive_until("session.ready")
        return session

    async def next_question(self, timeout: float = 10.0) -> dict[str, Any]:
        return await self.receive_until("question.done", timeout)

    async def answer(
        self, question_id: str, text: str, client_id: str | None = None
    ) -> dict[str, Any]:
        message = {"type": "answer", "question_id": question_id, "text": text}
        if client_id:
            message["client_id"] = client_id
        return await self.request(message)

    async def proctor(self, signal: str) -> dict[str, Any]:
        return await self.request({"type": "proctor", "signal": signal})

    async def screenshot(self, image: bytes, client_id: str | None = None) -> dict[str, Any]:
        cid = client_id or uuid.uuid4().hex
        return await self.send_binary(screenshot_frame(image, cid), cid)

    async def end(self) -> dict[str, Any]:
        return await self.request({"type": "end"})


class WatcherSession(SocketSession):
    @classmethod
    async def open(
        cls, http: httpx.AsyncClient, interview_id: str, since: int = 0
    ) -> WatcherSession:
        ticket = await fetch_ticket(http, interview_id)
        ws = await _connect(ws_url(str(http.base_url), f"{ticket['url']}&since={since}"))
        session = cls(ws)
        session.ready = await session.receive_until("session.ready")
        return session

    async def events(self, timeout: float = 10.0) -> AsyncIterator[dict[str, Any]]:
        while True:
            message = await self.receive(timeout)
            if message["type"] == "_closed":
                return
            if message["type"] == "event":
                yield message

    async def inject_question(self, text: str) -> dict[str, Any]:
        return await self.request({"type": "inject_question", "text": text})

    async def end(self) -> dict[str, Any]:
        return await self.request({"type": "end"})
