"""Helpers for the notification tests: an SSE client on httpx that reads the stream as a browser's
EventSource would (event id, event type, data; Last-Event-ID on resume), people and jobs made
over the public API, and a webhook receiver on a loopback port."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import ServerProcess, free_port, job_payload
from tests.live_helpers import PLAN


@dataclass
class Person:
    id: str
    http: httpx.AsyncClient
    name: str


async def person(server: ServerProcess, role: str, name: str | None = None) -> Person:
    full_name = name or f"Notified {role}"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anon:
        resp = await anon.post(
            "/auth/signup",
            json={
                "email": f"{role}-{uuid.uuid4().hex[:12]}@example.test",
                "password": "correct horse battery",
                "full_name": full_name,
                "role": role,
            },
        )
        resp.raise_for_status()
        body = resp.json()
    http = httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=30,
    )
    return Person(body["user"]["id"], http, full_name)


async def post_job(recruiter: Person, title: str = "Notified Engineer", **plan: Any) -> str:
    resp = await recruiter.http.post(
        "/jobs", json=job_payload(title=title, interview_plan={**PLAN, **plan})
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


async def apply(candidate: Person, job_id: str) -> str:
    resp = await candidate.http.post(
        f"/jobs/{job_id}/applications", files={"cover_letter": (None, "Hello")}
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


async def schedule(recruiter: Person, application_id: str, expires_in_s: float = 3600) -> str:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in_s)
    resp = await recruiter.http.post(
        f"/applications/{application_id}/interviews", json={"expires_at": expires.isoformat()}
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


@dataclass
class Event:
    id: str | None
    event: str
    data: dict[str, Any]


@dataclass
class Stream:
    """One open notification stream; ``events`` is every event read so far."""

    response: httpx.Response
    lines: AsyncIterator[str]
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry_ms: int | None = None
    ended: bool = False
    # The `ready` event's data: where the stream starts.
    ready: dict[str, Any] | None = None
    # The last event id received, as EventSource keeps it for Last-Event-ID.
    last_id: str | None = None

    async def started(self, timeout: float = 30.0) -> dict[str, Any]:
        """Read up to the `ready` event, the stream's first: the server has subscribed it
        before sending that, so a notification committed from now on reaches it (one
        committed before may be counted in where it starts instead). Its data."""
        event = await self._next_event(timeout)
        assert event is not None and event.event == "ready", event
        self.ready = event.data
        return event.data

    async def next(self, timeout: float = 15.0) -> Event | None:
        """The next notification; None when the server ends the stream."""
        while True:
            event = await self._next_event(timeout)
            if event is None or event.event != "ready":
                return event
            self.ready = event.data

    async def _next_event(self, timeout: float) -> Event | None:
        async with asyncio.timeout(timeout):
            fields: dict[str, str] = {}
            while True:
                try:
                    line = await anext(self.lines)
                except StopAsyncIteration:
                    self.ended = True
                    return None
                if line == "":
                    if "data" in fields or "id" in fields:
                        event = Event(
                            fields.get("id"),
                            fields.get("event", "message"),
                            orjson.loads(fields["data"]) if "data" in fields else {},
                        )
                        if event.id is not None:
                            self.last_id = event.id
                        if event.event != "ready":
                            self.events.append(event)
                        return event
                    fields = {}
                    continue
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "retry":
                    self.retry_ms = int(value)
                elif name == "data" and "data" in fields:
                    fields["data"] += "\n" + value
                else:
                    fields[name] = value

    async def until(
        self, done: Callable[[list[Event]], bool], timeout: float = 30.0
    ) -> list[Event]:
        deadline = time.monotonic() + timeout
        while not done(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not seen in time; got {[e.data for e in self.events]}")
            if await self.next(left) is None:
                raise AssertionError("the stream ended")
        return self.events

    async def idle(self, seconds: float) -> None:
        """Read for ``seconds`` (comments, heartbeats), expecting no notification."""
        with contextlib.suppress(TimeoutError):
            event = await self.next(seconds)
            raise AssertionError(f"unexpected: {event}")

    def kinds(self) -> list[str]:
        return [e.data["kind"] for e in self.events]


async def ticket(who: Person) -> dict[str, Any]:
    resp = await who.http.post("/notifications/ticket")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@contextlib.asynccontextmanager
async def open_stream(
    who: Person,
    *,
    url: str | None = None,
    last_event_id: str | None = None,
    after: int | None = None,
) -> AsyncIterator[Stream]:
    """A stream, as EventSource opens it: no Authorization header, the ticket in the URL."""
    if url is None:
        url = (await ticket(who))["url"]
    if after is not None:
        url += f"&after={after}"
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=str(who.http.base_url), timeout=None) as plain,
        plain.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response, response.aiter_lines())


# --- webhooks -----------------------------------------------------------------------------


def verify_standard_webhook(
    secret: str, headers: dict[str, str], body: bytes, *, tolerance_s: int = 300
) -> bool:
    """The Standard Webhooks spec's rules, written here apart from the server's code: the
    secret is base64 after `whsec_`; the signed content is `{id}.{timestamp}.{body}`; any one
    of the space-delimited `v1,` signatures may match (constant-time compare); the timestamp
    must be within the tolerance of now."""
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: str


Behaviour = Callable[["Received", int], Any]


class Receiver:
    """A webhook receiver on a loopback port: uvicorn in this process. ``behave(request, n)``
    (n: how many times this message id came before) returns what to do: an int status, or
    "hang" (never answer within the sender's deadline)."""

    def __init__(self, behave: Callable[[Received, int], Any] | None = None) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.behave = behave or (lambda request, seen: 200)
        self.hang_s = 30.0
        self.arrived = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def seen(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.headers.get("webhook-id") == message_id]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        got = Received(time.time(), request.url.path, headers, body, "")
        before = len(self.seen(headers["webhook-id"])) if "webhook-id" in headers else 0
        what = self.behave(got, before)
        got.answered = str(what)
        self.received.append(got)
        self.arrived.set()
        if what == "hang":
            await asyncio.sleep(self.hang_s)
            return Response(status_code=200)
        if isinstance(what, Response):
            return what
        return Response(f"answer {what}", status_code=int(what))

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("the receiver did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
