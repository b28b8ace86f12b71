"""A small OpenAI-compatible server for tests: ``POST /v1/chat/completions`` on a loopback port.

It answers each request with the next planned :class:`Reply`, in order: an SSE stream of
chunks when the request asks for ``stream``, otherwise a JSON chat completion whose message
content is a string (structured output is that string, a JSON document). Planned failures
(status codes with an OpenAI-style error body, ``Retry-After``, a stream cut short, a delay)
exercise the retries; a stream may pause after a given chunk until the test resumes it.
Every request is recorded (body and headers) for the test to inspect.

The ways a stream can end are the documented Chat Completions ones: a last chunk whose
``finish_reason`` is ``stop``, ``length`` (the token limit) or ``content_filter``; a refusal
streamed as ``delta.refusal`` instead of ``delta.content``; or an error event,
``data: {"error": {...}}``, in place of the next chunk (the ``openai`` client raises
``APIError`` on it). A JSON reply's ``finish_reason`` is planned the same way.

It runs uvicorn in a thread of the test process, so it serves the ``openai`` client both in the
test process and in a server subprocess (``OPENAI_BASE_URL=fake.base_url``). Nothing here is
random: the same plan gives the same replies.

    with serve_fake_openai() as fake:
        fake.plan(Reply(chunks=["Hello ", "there?"]), Reply(content='{"ok": true}'))
        ...
        assert fake.requests[0].body["stream"] is True

A test that cannot know the requests in advance (whole simulated interviews) sets a
``responder`` instead: it is called with each request that finds no planned reply and returns
the reply, from what the request carries (the transcript, the rubric).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.loopback import serve_app


@dataclass
class Reply:
    """What the fake server answers to the next request."""

    status: int = 200
    chunks: Sequence[str] = ()  # streamed: one SSE event per chunk
    content: str | None = None  # not streamed: the assistant message's content
    refusal: str | None = None
    refusal_chunks: Sequence[str] = ()  # streamed: delta.refusal events, after the chunks
    finish_reason: str = "stop"  # "length", "content_filter": how the model stopped
    break_after: int | None = None  # drop the connection after this many chunks
    error_after: int | None = None  # streamed: an error event after this many chunks, then end
    error_message: str = "The server had an error while processing your request."
    delay_s: float = 0.0
    # streamed: after this many chunks, wait until ``resume`` is set (at most 60 s)
    pause_after: int | None = None
    resume: threading.Event = field(default_factory=threading.Event)
    code: str | None = None  # error code in an error body
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def structured(cls, document: Any) -> Reply:
        """A non-streamed reply whose content is ``document`` as JSON (structured output)."""
        return cls(content=json.dumps(document))


@dataclass
class Seen:
    """One request the fake server received."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body["messages"]
        return messages

    @property
    def text(self) -> str:
        """Every message's content, one per line: to look for what the prompt carried."""
        return "\n".join(str(m.get("content")) for m in self.messages)

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))


class BrokenStream(Exception):
    """Raised inside the fake server to cut a stream short."""


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        # Requests that found no planned reply, or a reply of the wrong kind (a stream planned
        # for a structured-output request, or the reverse): a mistake in the test's plan.
        self.misplanned: list[str] = []
        # Answers requests that find no planned reply, when set (see the module docstring).
        self.responder: Callable[[Seen], Reply] | None = None
        self.url = ""
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    @property
    def base_url(self) -> str:
        """What to give the client as its base URL (``OPENAI_BASE_URL``)."""
        return f"{self.url}/v1"

    def plan(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()
        self.misplanned.clear()
        self.responder = None

    def check(self) -> None:
        """Raise unless every planned reply was used, each by a request of its kind."""
        assert not self.misplanned, f"the fake OpenAI was misplanned: {self.misplanned}"
        assert not self.replies, f"planned replies were not all used: {list(self.replies)}"

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        seen = Seen(body, dict(request.headers))
        self.requests.append(seen)
        streamed = bool(body.get("stream"))
        if not self.replies and self.responder is not None:
            self.replies.append(self.responder(seen))
        if not self.replies:
            problem = f"request {len(self.requests)} ({'streamed' if streamed else 'JSON'})"
            self.misplanned.append(f"{problem}: no reply planned")
            return _error(400, "the test planned no reply for this request", None, {})
        reply = self.replies.popleft()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _error(reply.status, f"planned {reply.status}", reply.code, reply.headers)
        if streamed != (reply.content is None and reply.refusal is None):
            kind = "streamed" if streamed else "JSON"
            self.misplanned.append(f"request {len(self.requests)} ({kind}): got {reply}")
            return _error(400, f"the test planned the wrong kind of reply: {reply}", None, {})
        if streamed:
            return StreamingResponse(_sse(body["model"], reply), media_type="text/event-stream")
        message = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        choice = {"index": 0, "message": message, "finish_reason": reply.finish_reason}
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body["model"],
                "choices": [choice],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )


def _error(status: int, message: str, code: str | None, headers: dict[str, str]) -> Response:
    error = {"message": message, "type": "test_error", "param": None, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


async def _sse(model: str, reply: Reply) -> AsyncIterator[bytes]:
    def event(delta: dict[str, str | None], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    def error() -> bytes:
        body = {"message": reply.error_message, "type": "server_error", "param": None, "code": None}
        return f"data: {json.dumps({'error': body})}\n\n".encode()

    # A refusal's first chunk has no content, as the API sends it.
    refusing = bool(reply.refusal_chunks)
    yield event({"role": "assistant", "content": None if refusing else "", "refusal": None})
    for n, text in enumerate(reply.chunks):
        if reply.break_after is not None and n == reply.break_after:
            raise BrokenStream
        if reply.error_after is not None and n == reply.error_after:
            yield error()
            return
        if reply.pause_after is not None and n == reply.pause_after:
            await asyncio.to_thread(reply.resume.wait, 60)
        yield event({"content": text})
    if reply.error_after is not None and reply.error_after >= len(reply.chunks):
        yield error()
        return
    for text in reply.refusal_chunks:
        yield event({"refusal": text})
    yield event({}, reply.finish_reason)
    yield b"data: [DONE]\n\n"


@contextmanager
def serve_fake_openai() -> Iterator[FakeOpenAI]:
    """Run a FakeOpenAI on a free loopback port, in a thread, for the duration of the block."""
    fake = FakeOpenAI()
    with serve_app(fake.app) as running:
        fake.url = running.url
        yield fake
