"""Idle sessions: N candidates connected at once, each in an interview that has started and
waits for an answer (the candidate is thinking), held for a while. For a local server it
reports the server's resident memory before and after, and the difference per session.

Each socket has a reader that drains what the server sends (the first question, pings), as a
browser tab would; without one, the client's buffers would fill and stop answering pings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from clients.interview_client import decode
from clients.loadtest.report import ProgressLine
from clients.loadtest.resources import MB, ResourceSampler, mean, server_memory, watch
from clients.loadtest.results import EXIT_FAILED
from clients.loadtest.roster import Seat, setup_held_roster
from clients.loadtest.simulate import open_load_socket
from server.protocol.codec import ProtocolError
from server.protocol.messages import QuestionDone


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
    before = server_memory(sampler)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    asked = 0
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    everyone_asked = asyncio.Event()

    async def drain(ws: ClientConnection) -> None:
        nonlocal asked
        with contextlib.suppress(websockets.ConnectionClosed, ProtocolError):
            async for raw in ws:
                if isinstance(decode(raw), QuestionDone):
                    asked += 1
                    if asked >= len(seats):
                        everyone_asked.set()

    limits = httpx.Limits(max_connections=concurrency * 2)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def open_one(seat: Seat) -> None:
            async with gate:
                try:
                    ws = await open_load_socket(
                        http, base_url, seat.interview_id, seat.candidate_token
                    )
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
        series = await watch(sampler, hold)
        still_open = sum(1 for ws in sockets if ws.close_code is None)
        after = server_memory(sampler)
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
            "server": mean(series, "server_cpu"),
            "postgres": mean(series, "postgres_cpu"),
        }
    return result


def run_idle(
    args: argparse.Namespace, base_url: str, sampler: ResourceSampler, progress: ProgressLine
) -> dict[str, Any]:
    from clients.loadtest.idle import hold_idle

    n = args.idle
    roster = setup_held_roster(base_url, "idle", n, args.setup_concurrency, progress.say)
    idle = asyncio.run(
        hold_idle(
            base_url,
            roster.seats,
            hold=args.hold,
            sampler=sampler,
            progress=progress.say,
        )
    )
    ok = idle["still_open_after_hold"] == n
    return {
        "title": f"{n} idle candidate sessions",
        "config": {"idle": n, "hold": args.hold, "accounts": roster.accounts, "jobs": roster.jobs},
        "setup_s": round(roster.setup_s, 1),
        "idle": idle,
        "exit_code": 0 if ok else EXIT_FAILED,
    }


def idle_table(result: dict[str, Any]) -> str:
    idle = result["idle"]
    m = result["machine"]
    lines = [
        f"OpenHire idle sessions: {idle['sessions']} candidates connected and held"
        f" {idle['hold_s']:g} s; target {result['target']}"
        f" ({'local' if result['local'] else 'remote'})",
        f"{m['cpus']} CPUs, load average {m['load_average'][0]:.2f} before,"
        f" {result['load_after'][0]:.2f} after; setup {result['setup_s']:.1f} s",
        f"connected {idle['connected']} in {idle['connect_s']:.1f} s, asked {idle['asked']},"
        f" still open after the hold {idle['still_open_after_hold']};"
        f" connect failures {idle['connect_failures'] or 'none'}",
    ]
    if "server_kb_per_session" in idle:
        lines.append(
            f"server RSS {idle['server_rss_before_mb']:.0f} ->"
            f" {idle['server_rss_after_mb']:.0f} MB:"
            f" {idle['server_kb_per_session']:.1f} KB per idle session; PostgreSQL PSS"
            f" {idle['postgres_pss_before_mb']:.0f} -> {idle['postgres_pss_after_mb']:.0f} MB"
        )
        cpu = idle.get("cpu_while_idle", {})
        lines.append(
            f"CPU while idle: server {cpu.get('server', 0):.0f}%, PostgreSQL"
            f" {cpu.get('postgres', 0):.0f}% of one core"
        )
    else:
        lines.append("memory: not measured (a remote server)")
    if result.get("baseline"):
        from clients.loadtest.report import baseline_lines

        lines.extend(baseline_lines(result["baseline"]))
    return "\n".join(lines)
