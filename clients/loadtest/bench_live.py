"""Benchmark: the live-interview socket path at many concurrent sessions.

    .venv/bin/python -m clients.loadtest.bench_live --sessions 200 [--duration 20]
        [--answers N] [--think-time 1.0] [--jitter 0.5] [--watchers] [--screenshots 2]
        [--procs 1] [--url URL] [--samples FILE]

Starts its own ``openhire serve`` (embedded PostgreSQL in a temporary directory, the scripted
interviewer, warning-level logs), or targets the running server at ``--url``. Over the public
API it signs up one recruiter and N candidates, posts one job whose interview plan has enough
questions for the run (30, no follow-ups), and has every candidate apply and the recruiter
schedule an interview for each. Then it opens N candidate sockets (and, with ``--watchers``, one
watcher socket per interview) and runs them all concurrently for ``--duration`` seconds (or
``--answers`` answers each): each candidate waits for ``question.done``, "thinks" for the
think time (uniform jitter around it), sends an ``answer`` and measures

- answer -> ``ack`` (the answer is committed to the database),
- answer -> the first ``question.delta`` of the next question (first token),
- answer -> the watcher's ``event`` for that answer (with ``--watchers``),
- screenshot -> ``ack`` (with ``--screenshots SECONDS``: each candidate also sends a webcam
  screenshot that often, which the server writes to the blob store and logs).

It prints the counts, p50/p90/p99/max of each latency, the messages per second the client
exchanged, the CPU used over the measured window by the client, the server, PostgreSQL and
everything else on the machine, and the client's own event-loop lag: if that is large, the
client, not the server, is the bottleneck (``--procs 2`` spreads the sockets over two client
processes). ``--samples`` writes every sample, with when it was sent, for plotting.

Answers sent during the first ``--warmup`` seconds are not measured. The client keeps time with
``time.perf_counter`` on one asyncio loop per process. After the window every interview is
ended (and evaluated), so a server given with ``--url`` is left with nothing in progress.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from clients.interview_client import screenshot_frame, ws_url
from clients.loadtest.metrics import percentile
from clients.loadtest.roster import Seat, build_roster
from clients.loadtest.server import BenchServer
from clients.loadtest.simulate import connect, ticket_url

ANSWER = (
    "In my last role I owned the ingestion service, written in Python with asyncio and "
    "PostgreSQL. I profiled it, found that one query ran per message, batched the writes and "
    "cut the p99 latency from 180 ms to 25 ms, measured over two weeks of production traffic."
)

# The plan: enough questions for the run, no follow-ups (every turn is a main question), and
# limits that never fire during a benchmark.
PLAN = {
    "question_count": 30,
    "follow_ups_per_question": 0,
    "answer_time_limit_s": 600,
    "total_time_limit_min": 60,
}

LATENCIES = ("ack", "first_token", "watcher_event", "screenshot_ack")
LABELS = {
    "ack": "answer -> ack",
    "first_token": "answer -> first token",
    "watcher_event": "answer -> watcher event",
    "screenshot_ack": "screenshot -> ack",
}


def fake_jpeg(size: int, width: int = 640, height: int = 480) -> bytes:
    """A JPEG as far as the server looks (it parses the header, not the pixels): start of
    image, an APP1 segment of padding to make up ``size`` bytes, a frame header, end of image."""
    sof = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    sof += b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    padding = max(0, min(65533, size - len(sof) - 8))
    app1 = b"\xff\xe1" + (padding + 2).to_bytes(2, "big") + bytes(padding)
    return b"\xff\xd8" + app1 + sof + b"\xff\xd9"


# --- setup over the public API ----------------------------------------------------------------


async def setup(base_url: str, sessions: int, concurrency: int) -> tuple[str, list[Seat]]:
    """One recruiter, one job, ``sessions`` candidates, each with an application and a
    scheduled interview (``clients.loadtest.roster``)."""
    roster = await build_roster(
        base_url, candidates=sessions, interview_plan=PLAN, concurrency=concurrency
    )
    return roster.recruiter_token, roster.seats


# --- the load -------------------------------------------------------------------------------


@dataclass
class Options:
    base_url: str
    recruiter_token: str
    duration: float
    answers: int | None
    think: float
    jitter: float
    watchers: bool
    warmup: float
    connect_concurrency: int
    seed: int
    # Seconds between a candidate's screenshots (0: none) and their size in bytes.
    screenshot_every: float = 0.0
    screenshot_bytes: int = 30_000
    # Whose CPU to sample over the measured window: the machine's (if probe_cpu), the
    # server's and its database's (if known). One client process samples them.
    probe_cpu: bool = True
    server_pid: int | None = None
    data_dir: str | None = None


@dataclass
class Stats:
    # kind -> [(when the answer was sent, seconds after the window opened; latency in s)]
    samples: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {k: [] for k in LATENCIES}
    )
    answers: int = 0  # answers sent in the measured window
    screenshots: int = 0  # screenshots sent in the measured window
    received: int = 0  # frames received in the measured window
    sent: int = 0  # frames sent in the measured window
    errors: list[str] = field(default_factory=list)
    window_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    loop_lag_ms: list[float] = field(default_factory=list)
    ended_early: int = 0


class Clock:
    """The run's phases, shared by the sessions of one process."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.measure_from = float("inf")
        self.measure_until = float("inf")
        self.stop_at = float("inf")

    def measuring(self, t: float) -> bool:
        return self.measure_from <= t < self.measure_until

    def sample(self, started: float, now: float) -> tuple[float, float]:
        return (started - self.measure_from, now - started)


class Candidate:
    """One candidate socket. A reader task timestamps every frame as it is read; the main
    coroutine waits for each question, thinks, and answers."""

    def __init__(self, ws: ClientConnection, stats: Stats, clock: Clock, opts: Options) -> None:
        self.ws = ws
        self.stats = stats
        self.clock = clock
        self.opts = opts
        self.question: asyncio.Queue[str | None] = asyncio.Queue()
        # question_id answered -> perf_counter when the answer was sent (and whether measured)
        self.sent_at: dict[str, float] = {}
        self.pending_ack: dict[str, float] = {}  # client_id -> sent at
        self.awaiting_first_token: float | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        stats, clock = self.stats, self.clock
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                message = orjson.loads(raw)
                kind = message["type"]
                if clock.measuring(now):
                    stats.received += 1
                if kind == "question.delta":
                    started = self.awaiting_first_token
                    if started is not None:
                        self.awaiting_first_token = None
                        if clock.measuring(started):
                            stats.samples["first_token"].append(clock.sample(started, now))
                elif kind == "ack":
                    cid = message["client_id"]
                    started = self.pending_ack.pop(cid, None)
                    if started is not None and clock.measuring(started):
                        key = "screenshot_ack" if cid.startswith("shot-") else "ack"
                        stats.samples[key].append(clock.sample(started, now))
                elif kind == "question.done":
                    self.question.put_nowait(message["question_id"])
                elif kind == "interview.ended":
                    self.question.put_nowait(None)
                elif kind == "error":
                    stats.errors.append(f"{message.get('code')}: {message.get('message')}")
        except websockets.ConnectionClosed:
            pass
        finally:
            self.question.put_nowait(None)

    async def screenshots(self, rng: random.Random) -> None:
        """A webcam screenshot every ``screenshot_every`` seconds (jittered), while answering."""
        opts, clock = self.opts, self.clock
        image = fake_jpeg(opts.screenshot_bytes)
        await clock.go.wait()
        await asyncio.sleep(rng.uniform(0, opts.screenshot_every))
        while time.perf_counter() < clock.stop_at and not self.reader.done():
            client_id = f"shot-{uuid.uuid4().hex}"
            frame = screenshot_frame(image, client_id)
            started = time.perf_counter()
            self.pending_ack[client_id] = started
            try:
                await self.ws.send(frame)
            except websockets.ConnectionClosed:
                return
            if clock.measuring(started):
                self.stats.screenshots += 1
                self.stats.sent += 1
            await asyncio.sleep(opts.screenshot_every * rng.uniform(0.9, 1.1))

    async def run(self, rng: random.Random) -> None:
        opts, clock = self.opts, self.clock
        first = True
        answered = 0
        while True:
            question_id = await self.question.get()
            if question_id is None:
                if time.perf_counter() < clock.stop_at:
                    self.stats.ended_early += 1
                return
            if first:
                await clock.go.wait()
                # Spread the first answers over a whole think period so the load is steady.
                delay = rng.uniform(0, 2 * opts.think)
                first = False
            else:
                delay = opts.think + rng.uniform(-opts.jitter, opts.jitter)
            await asyncio.sleep(max(0.0, delay))
            if time.perf_counter() >= clock.stop_at:
                return
            if opts.answers is not None and answered >= opts.answers:
                return
            client_id = uuid.uuid4().hex
            frame = orjson.dumps(
                {
                    "type": "answer",
                    "client_id": client_id,
                    "question_id": question_id,
                    "text": ANSWER,
                }
            ).decode()
            started = time.perf_counter()
            self.pending_ack[client_id] = started
            self.awaiting_first_token = started
            self.sent_at[question_id] = started
            await self.ws.send(frame)
            answered += 1
            if clock.measuring(started):
                self.stats.answers += 1
                self.stats.sent += 1


class Watch:
    """One watcher socket: answer -> its ``event`` delivered to the watcher."""

    def __init__(
        self, ws: ClientConnection, candidate: Candidate, stats: Stats, clock: Clock
    ) -> None:
        self.ws = ws
        self.candidate = candidate
        self.stats = stats
        self.clock = clock
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        stats, clock = self.stats, self.clock
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                if clock.measuring(now):
                    stats.received += 1
                message = orjson.loads(raw)
                if message["type"] == "event" and message["kind"] == "answer":
                    started = self.candidate.sent_at.pop(message["data"]["question_id"], None)
                    if started is not None and clock.measuring(started):
                        stats.samples["watcher_event"].append(clock.sample(started, now))
        except websockets.ConnectionClosed:
            pass


async def _first_ready(ws: ClientConnection) -> None:
    message = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
    if message["type"] != "session.ready":
        raise RuntimeError(f"expected session.ready, got {message}")


async def _loop_lag(samples: list[float], clock: Clock) -> None:
    """How late the client's own loop wakes up: if this is large, the client is saturated."""
    interval = 0.01
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        now = time.perf_counter()
        if clock.measuring(now):
            samples.append((now - before - interval) * 1000)


async def _window_cpu(stats: Stats, clock: Clock, done: asyncio.Event, opts: Options) -> None:
    """CPU seconds used during the measured window by this client process and, if known,
    by the server and its database."""

    def sample() -> dict[str, dict[int, float]]:
        if not opts.probe_cpu:
            return {}
        machine = {0: _machine_busy_seconds()}
        if opts.server_pid is None:
            return {"machine": machine}
        pg = _postgres_pids(Path(opts.data_dir)) if opts.data_dir else []
        return {
            "server": _cpu_seconds([opts.server_pid]),
            "postgres": _cpu_seconds(pg),
            "machine": machine,
        }

    await asyncio.sleep(max(0.0, clock.measure_from - time.perf_counter()))
    client = time.process_time()
    before = sample()
    await done.wait()
    stats.client_cpu_s = time.process_time() - client
    after = sample()
    # A database backend started during the window counts from zero.
    stats.server_cpu_s = {
        name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in per_pid.items())
        for name, per_pid in after.items()
    }


async def run_load(seats: list[Seat], opts: Options, barrier: Any = None) -> Stats:
    """Open the sockets of ``seats``, run them, return the measurements of this process."""
    stats = Stats()
    clock = Clock()
    rng = random.Random(opts.seed)
    gate = asyncio.Semaphore(opts.connect_concurrency)
    limits = httpx.Limits(max_connections=opts.connect_concurrency * 2)
    candidates: list[Candidate] = []
    watches: list[Watch] = []
    async with httpx.AsyncClient(base_url=opts.base_url, timeout=60, limits=limits) as http:

        async def open_seat(seat: Seat) -> None:
            async with gate:
                watcher_ws = None
                if opts.watchers:
                    url = await ticket_url(http, seat.interview_id, opts.recruiter_token)
                    watcher_ws = await connect(ws_url(opts.base_url, url + "&since=0"))
                    await _first_ready(watcher_ws)
                url = await ticket_url(http, seat.interview_id, seat.candidate_token)
                ws = await connect(ws_url(opts.base_url, url))
                await _first_ready(ws)
                candidate = Candidate(ws, stats, clock, opts)
                candidates.append(candidate)
                if watcher_ws is not None:
                    watches.append(Watch(watcher_ws, candidate, stats, clock))

        await asyncio.gather(*(open_seat(s) for s in seats))
    runners = [asyncio.create_task(c.run(random.Random(rng.random()))) for c in candidates]
    shooters = [
        asyncio.create_task(c.screenshots(random.Random(rng.random())))
        for c in (candidates if opts.screenshot_every > 0 else [])
    ]
    if barrier is not None:  # every client process has its sockets open
        await asyncio.to_thread(barrier.wait)
    lag = asyncio.create_task(_loop_lag(stats.loop_lag_ms, clock))
    start = time.perf_counter()
    clock.measure_from = start + opts.warmup
    clock.stop_at = start + opts.warmup + opts.duration
    clock.measure_until = clock.stop_at
    if opts.answers is not None:
        clock.stop_at = clock.measure_until = float("inf")
    window_done = asyncio.Event()
    cpu = asyncio.create_task(_window_cpu(stats, clock, window_done, opts))
    clock.go.set()
    runs = asyncio.gather(*runners)
    if opts.answers is None:
        await asyncio.sleep(clock.measure_until - time.perf_counter())
        window_done.set()
        await runs
    else:
        await runs
        clock.measure_until = time.perf_counter()
        window_done.set()
    await cpu
    for shooter in shooters:
        shooter.cancel()
    # Let the last acks and tokens arrive before closing.
    await asyncio.sleep(0.5)
    stats.window_s = clock.measure_until - clock.measure_from
    lag.cancel()
    # End every interview (it is evaluated and completed), so a server given with --url is
    # left with nothing in progress; then close whatever the server has not closed.
    end = orjson.dumps({"type": "end", "client_id": "bench-end"}).decode()
    for candidate in candidates:
        with contextlib.suppress(websockets.ConnectionClosed):
            await candidate.ws.send(end)
    readers = [c.reader for c in candidates] + [w.reader for w in watches]
    await asyncio.wait(readers, timeout=60)
    for socket in [c.ws for c in candidates] + [w.ws for w in watches]:
        await socket.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return stats


def _worker(seats: list[Seat], opts: Options, barrier: Any, results: Any) -> None:
    try:
        results.put(asyncio.run(run_load(seats, opts, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put(exc)
        raise


def _for_process(opts: Options, i: int) -> Options:
    # Process 0 samples the CPU of the machine, server and database; each has its own seed.
    return dataclasses.replace(opts, seed=opts.seed + i, probe_cpu=i == 0)


def run_processes(seats: list[Seat], opts: Options, procs: int) -> Stats:
    if procs <= 1:
        return asyncio.run(run_load(seats, opts))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_worker,
            args=(seats[i::procs], _for_process(opts, i), barrier, results),
        )
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    parts = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    failed = [p for p in parts if isinstance(p, BaseException)]
    if failed:
        raise RuntimeError(f"a client process failed: {failed[0]!r}")
    merged = Stats()
    for part in parts:
        for key in LATENCIES:
            merged.samples[key] += part.samples[key]
        merged.answers += part.answers
        merged.screenshots += part.screenshots
        merged.received += part.received
        merged.sent += part.sent
        merged.errors += part.errors
        merged.client_cpu_s += part.client_cpu_s
        merged.loop_lag_ms += part.loop_lag_ms
        merged.ended_early += part.ended_early
        merged.window_s = max(merged.window_s, part.window_s)
        merged.server_cpu_s.update(part.server_cpu_s)
    return merged


# --- CPU of the server and its database ------------------------------------------------------


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    return cpu


def _machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores, /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster of the embedded database and its children."""
    try:
        postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == postmaster:
                    pids.append(int(entry.name))
    return pids


# --- report ---------------------------------------------------------------------------------


def report(stats: Stats, args: argparse.Namespace) -> None:
    window = stats.window_s
    print(
        f"\n{args.sessions} sessions{' + 1 watcher each' if args.watchers else ''}, "
        f"think {args.think_time:g} s ± {args.jitter:g} s, measured window {window:.1f} s "
        f"(after {args.warmup:g} s warm-up), {args.procs} client process(es)"
    )
    print(f"{'latency (ms)':<26}{'count':>8}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    for key in LATENCIES:
        values = sorted(latency * 1000 for _, latency in stats.samples[key])
        if not values:
            continue
        row = "".join(f"{percentile(values, p):>9.1f}" for p in (50, 90, 99))
        print(f"{LABELS[key]:<26}{len(values):>8}{row}{values[-1]:>9.1f}")
    if window > 0:
        frames = stats.sent + stats.received
        shots = f"; screenshots/s {stats.screenshots / window:.0f}" if stats.screenshots else ""
        print(
            f"answers/s {stats.answers / window:.0f}{shots}; frames/s {frames / window:.0f} "
            f"({stats.sent / window:.0f} sent, {stats.received / window:.0f} received)"
        )
        parts = [f"client {100 * stats.client_cpu_s / window:.0f}%"]
        cpu = dict(stats.server_cpu_s)
        machine = cpu.pop("machine", 0.0)
        parts += [f"{name} {100 * seconds / window:.0f}%" for name, seconds in cpu.items()]
        if machine:
            ours = stats.client_cpu_s + sum(cpu.values())
            parts.append(f"everything else {100 * max(0.0, machine - ours) / window:.0f}%")
            parts.append(f"machine busy {100 * machine / window / (os.cpu_count() or 1):.0f}%")
        print("CPU (% of one core over the window): " + ", ".join(parts))
    lag = sorted(stats.loop_lag_ms)
    if lag:
        print(
            f"client loop lag (ms): p50 {percentile(lag, 50):.1f}, p99 {percentile(lag, 99):.1f},"
            f" max {lag[-1]:.1f}"
        )
    if stats.ended_early:
        print(f"{stats.ended_early} interviews ran out of questions before the end of the run")
    if stats.errors:
        print(f"{len(stats.errors)} errors, e.g. {stats.errors[0]}")


def write_samples(stats: Stats, path: Path) -> None:
    """{kind: [[seconds into the window the answer was sent, latency in ms], ...]}"""
    path.write_bytes(
        orjson.dumps(
            {
                key: sorted([round(t, 4), round(latency * 1000, 3)] for t, latency in values)
                for key, values in stats.samples.items()
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="concurrent interviews (200)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (20)")
    parser.add_argument(
        "--answers", type=int, default=None, help="answers per candidate instead of --duration"
    )
    parser.add_argument(
        "--think-time", type=float, default=1.0, help="seconds between question and answer (1)"
    )
    parser.add_argument("--jitter", type=float, default=0.5, help="± uniform jitter (0.5 s)")
    parser.add_argument(
        "--watchers", action="store_true", help="one recruiter watching each interview"
    )
    parser.add_argument(
        "--screenshots",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="each candidate also sends a screenshot this often (default: none; at least 1)",
    )
    parser.add_argument(
        "--screenshot-bytes", type=int, default=30_000, help="size of each screenshot (30000)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first (3)")
    parser.add_argument("--procs", type=int, default=1, help="client processes (1)")
    parser.add_argument("--url", help="a running server instead of a throw-away one")
    parser.add_argument("--setup-concurrency", type=int, default=8, help="concurrent sign-ups")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the server's data directory")
    parser.add_argument(
        "--samples", type=Path, help="write every sample (sent at, latency) as JSON to this file"
    )
    args = parser.parse_args(argv)
    if 0 < args.screenshots < 1.2:
        parser.error("--screenshots: at least 1.2 s (the server takes one a second at most)")
    questions = PLAN["question_count"]
    if args.answers is not None and args.answers >= questions:
        parser.error(f"--answers must be below {questions} (the plan's questions)")
    # Each candidate answers about once per think time; an interview out of questions ends
    # (and is evaluated) mid-run, which is not what this measures.
    needed = (args.warmup + args.duration) / args.think_time + 2
    if args.answers is None and needed > questions - 1:
        parser.error(
            f"a {args.duration:g} s run takes about {needed:.0f} answers per candidate; the plan"
            f" has {questions} questions: shorten --duration or lengthen --think-time"
        )

    srv: BenchServer | None = None
    if args.url:
        base_url = args.url.rstrip("/")
    else:
        srv = BenchServer(
            keep=args.keep,
            env={
                "OPENHIRE_LOG_LEVEL": "warning",
                # The scripted interviewer, whatever the developer's environment says.
                "OPENAI_API_KEY": "",
                "OPENAI_BASE_URL": "",
            },
        )
        srv.start()
        base_url = srv.url
    try:
        started = time.perf_counter()
        recruiter, seats = asyncio.run(setup(base_url, args.sessions, args.setup_concurrency))
        print(
            f"set up {len(seats)} candidates, applications and interviews in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        opts = Options(
            base_url=base_url,
            recruiter_token=recruiter,
            duration=args.duration,
            answers=args.answers,
            think=args.think_time,
            jitter=args.jitter,
            watchers=args.watchers,
            warmup=args.warmup,
            connect_concurrency=16,
            seed=args.seed,
            screenshot_every=args.screenshots,
            screenshot_bytes=args.screenshot_bytes,
            server_pid=srv.proc.pid if srv is not None and srv.proc is not None else None,
            data_dir=str(srv.data_dir) if srv is not None else None,
        )
        stats = run_processes(seats, opts, args.procs)
        report(stats, args)
        if args.samples:
            write_samples(stats, args.samples)
    finally:
        if srv is not None:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
