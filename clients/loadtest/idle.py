"""Idle sessions: N candidates connected at once, each in an interview that has started and
waits for an answer (the candidate is thinking), held for a while. For a local server it
reports the server's resident memory before and after, and the difference per session.

Each socket has a reader that drains what the server sends (the first question, pings), as a
browser tab would; without one, the client's buffers would fill and stop answering pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from clients.interview_client import ws_url
from clients.loadtest.resources import MB, ResourceSampler
from clients.loadtest.roster import Seat
from clients.loadtest.simulate import connect, ticket_url


async def hold_idle(
    base_url: str,
    seats: list[Seat],
    *,
    hold: float,
    sampler: ResourceSampler | None,
    concurrency: int = 32,
    settle: float = 5.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda line: print(line, file=sys.stderr))
    before = _memory(sampler)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    asked = 0
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    everyone_asked = asyncio.Event()

    async def drain(ws: ClientConnection) -> None:
        nonlocal asked
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                if orjson.loads(raw).get("type") == "question.done":
                    asked += 1
                    if asked >= len(seats):
                        everyone_asked.set()

    limits = httpx.Limits(max_connections=concurrency * 2)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def open_one(seat: Seat) -> None:
            async with gate:
                try:
                    url = await ticket_url(http, seat.interview_id, seat.candidate_token)
                    ws = await connect(ws_url(base_url, url))
                except Exception as exc:
                    key = type(exc).__name__
                    failures[key] = failures.get(key, 0) + 1
                    return
            sockets.append(ws)
            readers.append(asyncio.create_task(drain(ws)))
            if len(sockets) % 250 == 0:
                say(f"idle: {len(sockets)}/{len(seats)} connected")

        await asyncio.gather(*(open_one(seat) for seat in seats))
        connect_s = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone_asked.wait(), 60)
        say(f"idle: {len(sockets)} connected in {connect_s:.1f} s, {asked} asked; holding")
        await asyncio.sleep(settle)
        series: list[dict[str, Any]] = []
        deadline = time.perf_counter() + hold
        while time.perf_counter() < deadline:
            if sampler is not None:
                series.append(sampler.sample())
            await asyncio.sleep(1.0)
        still_open = sum(1 for ws in sockets if ws.close_code is None)
        after = _memory(sampler)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
    result: dict[str, Any] = {
        "sessions": len(seats),
        "connected": len(sockets),
        "still_open_after_hold": still_open,
        "asked": asked,
        "connect_failures": failures,
        "connect_s": round(connect_s, 1),
        "hold_s": hold,
    }
    if before and after:
        n = max(1, still_open)
        result.update(
            server_rss_before_mb=round(before["server_rss"] / MB, 1),
            server_rss_after_mb=round(after["server_rss"] / MB, 1),
            server_kb_per_session=round((after["server_rss"] - before["server_rss"]) / n / 1024, 1),
            postgres_pss_before_mb=round(before["postgres_pss"] / MB, 1),
            postgres_pss_after_mb=round(after["postgres_pss"] / MB, 1),
        )
    if series:
        result["cpu_while_idle"] = {
            "server": round(sum(r.get("server_cpu", 0) for r in series) / len(series), 1),
            "postgres": round(sum(r.get("postgres_cpu", 0) for r in series) / len(series), 1),
        }
    return result


def _memory(sampler: ResourceSampler | None) -> dict[str, float] | None:
    if sampler is None or not sampler.local:
        return None
    return sampler.server_memory()
