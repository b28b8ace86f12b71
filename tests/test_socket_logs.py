"""Socket tickets stay out of the server's log, while each socket still gets its access line."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import websockets

from clients.interview_client import (
    SUBPROTOCOL,
    CandidateSession,
    WatcherSession,
    fetch_ticket,
    ws_url,
)
from tests.conftest import ServerProcess
from tests.live_helpers import close_clients, new_interview

pytestmark = pytest.mark.asyncio(loop_scope="session")


def logged_lines(server: ServerProcess, marker: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The server's JSON log lines, once ``marker`` (a request id) has been written: a request's
    line is written after it is answered, a socket's when it ends."""
    deadline = time.monotonic() + timeout
    while True:
        output = server.output()
        if marker in output:
            return [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} never appeared in the server log")
        time.sleep(0.02)


async def test_socket_tickets_are_never_logged_but_each_socket_is(server):
    iv = await new_interview(server)
    try:
        tickets: list[str] = []
        # A candidate socket, accepted and closed.
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
        # A watcher socket, with `since` beside the ticket in the query string.
        watcher = await WatcherSession.open(iv.recruiter, iv.id, since=0)
        await watcher.close()
        # A ticket presented twice: the second socket is refused, with the ticket in its URL.
        ticket = await fetch_ticket(iv.candidate, iv.id)
        url = ws_url(server.url, ticket["url"])
        async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
            await ws.recv()
        async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4001
        # And a socket the server refuses before accepting it (no subprotocol offered).
        rejected = await fetch_ticket(iv.candidate, iv.id)
        async with websockets.connect(ws_url(server.url, rejected["url"])) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
        for given in (ticket, rejected):
            tickets.append(given["ticket"])
            assert given["ticket"] in given["url"]  # what the log must not repeat

        marker = "log-check-" + uuid.uuid4().hex
        await iv.recruiter.get("/healthz", headers={"X-Request-ID": marker})
        lines = logged_lines(server, marker)
    finally:
        await close_clients(iv)

    output = server.output()
    for secret in tickets:
        assert secret not in output
    # Nothing from any socket's query string at all: no line names a ticket parameter.
    assert f"/ws/interviews/{iv.id}?" not in output
    assert f"/ws/interviews/{iv.id}/watch?" not in output
    # Each socket still has its access line: method, path (no query) and status.
    sockets = [line for line in lines if str(line.get("path", "")).startswith("/ws/")]
    candidate = [s for s in sockets if s["path"] == f"/ws/interviews/{iv.id}"]
    watch = [s for s in sockets if s["path"] == f"/ws/interviews/{iv.id}/watch"]
    assert len(candidate) == 4 and len(watch) == 1, sockets
    assert all(s["method"] == "WS" and s.get("request_id") for s in candidate + watch)
    # Accepted sockets answer 101 (Switching Protocols), whatever close code follows.
    assert [s["status"] for s in candidate] == [101, 101, 101, 101]
    assert watch[0]["status"] == 101
