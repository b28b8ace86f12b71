"""Throughput at saturation: K clients in a closed loop, each sending its next message as
soon as the previous one is answered, against the echo baseline and against OpenHire.

- Echo: an answer-sized JSON text frame (the very frame a candidate sends) or a
  screenshot-sized binary frame (a real JPEG with its header), and its echo.
- OpenHire: a candidate answers each question the moment it is done; the round trip is
  answer -> ack (the answer is committed), and the next answer waits for the next question,
  as it must. A candidate that reaches the end of an interview opens the next one.

Both run for a warm-up and then a measured window; the figures are round trips per second
over the window and the latency percentiles of the round trips sent in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import httpx
import websockets

from clients.interview_client import (
    InterviewOver,
    answer_frame,
    decode,
    end_frame,
    screenshot_frame,
    ws_url,
)
from clients.loadtest.metrics import summarize
from clients.loadtest.roster import ANSWER_WORDS, Seat
from clients.loadtest.simulate import connect_load_socket, open_load_socket
from server.protocol.messages import Ack, Error, InterviewEnded, QuestionDone


def sample_answer(question_id: str = "q1") -> str:
    """The answer frame a simulated candidate sends, with a fresh client id."""
    cid = f"a-0-{uuid.uuid4().hex[:12]}"
    return answer_frame(cid, question_id, f"{ANSWER_WORDS} (answer 1 of candidate 0)")


class _Window:
    def __init__(self, warmup: float, seconds: float) -> None:
        self.start = time.perf_counter() + warmup
        self.end = self.start + seconds
        self.latencies: list[float] = []

    def record(self, sent: float, now: float) -> None:
        if self.start <= sent < self.end:
            self.latencies.append(now - sent)

    def open(self) -> bool:
        return time.perf_counter() < self.end

    async def cpu(self, pids: dict[str, int]) -> dict[str, float]:
        """CPU used over the window (% of one core) by this process and by ``pids``: so the
        report can tell whether the server or the client was the bottleneck."""
        import psutil  # type: ignore[import-untyped,unused-ignore]

        def used(process: Any) -> float:
            cpu = process.cpu_times()
            return float(cpu.user + cpu.system)

        def read() -> dict[str, float]:
            times = {"client": time.process_time()}
            for name, pid in pids.items():
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(pid)
                    times[name] = used(process)
                    # Its worker processes (the scripted scorer's, OPENHIRE_SCORING_PROCESSES),
                    # apart: their CPU is the server's too, on another core.
                    workers = 0.0
                    for child in process.children():
                        with contextlib.suppress(psutil.Error):
                            if "multiprocessing" in " ".join(child.cmdline()):
                                workers += used(child)
                    times[f"{name} workers"] = workers
            return times

        await asyncio.sleep(max(0.0, self.start - time.perf_counter()))
        before, started = read(), time.perf_counter()
        await asyncio.sleep(max(0.0, self.end - time.perf_counter()))
        after, span = read(), time.perf_counter() - started
        return {k: round(100 * (after[k] - before[k]) / span, 1) for k in after if k in before}

    def result(self, finished: float) -> dict[str, Any]:
        window = max(1e-9, min(self.end, finished) - self.start)
        return {
            "clients": None,
            "window_s": round(window, 2),
            "round_trips": len(self.latencies),
            "per_second": round(len(self.latencies) / window, 1),
            "latency_ms": summarize(self.latencies),
        }


async def echo_saturation(
    base_url: str,
    frame: str | bytes,
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.0,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Round trips per second of ``frame`` through the echo server at ``base_url``."""
    url = ws_url(base_url, "/echo")
    sockets = [await connect_load_socket(url) for _ in range(clients)]
    window = _Window(warmup, seconds)

    async def loop(ws: Any) -> None:
        while window.open():
            sent = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            window.record(sent, time.perf_counter())

    cpu = asyncio.create_task(window.cpu(pids or {}))
    try:
        await asyncio.gather(*(loop(ws) for ws in sockets))
    finally:
        for ws in sockets:
            await ws.close()
    result = window.result(time.perf_counter())
    result["clients"] = clients
    result["frame_bytes"] = len(frame)
    result["cpu_percent"] = await cpu
    return result


async def openhire_saturation(
    base_url: str,
    seats: list[Seat],
    *,
    clients: int,
    seconds: float,
    warmup: float = 2.0,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Answers acked per second, ``clients`` candidates answering without thinking; each
    goes through its share of ``seats`` one interview after another."""
    window = _Window(warmup, seconds)
    ran_out = 0
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def interview(seat: Seat) -> None:
            ws = await open_load_socket(http, base_url, seat.interview_id, seat.candidate_token)
            async with ws:
                # The next question often arrives before the ack of the answer (the ack
                # waits for the commit, the question does not): answer it after the ack.
                question: str | None = None
                sent: float | None = None
                while window.open():
                    if question is not None and sent is None:
                        sent = time.perf_counter()
                        await ws.send(sample_answer(question))
                        question = None
                    match decode(await ws.recv()):
                        case QuestionDone(question_id=question_id):
                            question = question_id
                        case Ack() if sent is not None:
                            window.record(sent, time.perf_counter())
                            sent = None
                        case Error(code=code):
                            errors[code] = errors.get(code, 0) + 1
                            sent = None
                        case InterviewEnded():
                            return
                # Out of time: end it, so that a server given with --url is left tidy.
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.send(end_frame("sat-end"))

        async def runner(mine: list[Seat]) -> None:
            nonlocal ran_out
            for seat in mine:
                if not window.open():
                    return
                with contextlib.suppress(InterviewOver, websockets.ConnectionClosed):
                    await interview(seat)
            if window.open():
                ran_out += 1

        cpu = asyncio.create_task(window.cpu(pids or {}))
        await asyncio.gather(*(runner(seats[i::clients]) for i in range(clients)))
        cpu_percent = await cpu
    result = window.result(time.perf_counter())
    result["cpu_percent"] = cpu_percent
    result["clients"] = clients
    result["frame_bytes"] = len(sample_answer())
    result["errors"] = errors
    result["ran_out_of_interviews"] = ran_out
    return result


def screenshot_echo_frame(image: bytes) -> bytes:
    return screenshot_frame(image, f"s-0-{uuid.uuid4().hex[:12]}")


def ratios(openhire: dict[str, Any], echo: dict[str, Any]) -> dict[str, Any]:
    """OpenHire's answer -> ack against the echo's round trip, at the same concurrency."""
    out: dict[str, Any] = {}
    if echo.get("per_second"):
        out["throughput"] = round(openhire["per_second"] / echo["per_second"], 3)
    for p in ("p50", "p90", "p99"):
        o, e = openhire["latency_ms"].get(p), echo["latency_ms"].get(p)
        if o is not None and e:
            out[f"latency_{p}"] = round(o / e, 2)
    return out
