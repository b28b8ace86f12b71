"""`openhire loadtest`: many concurrent interviews against one server, measured, with proof
that nothing was lost. docs/benchmarks.md explains the options, the output and the figures.

    openhire loadtest --interviews 500 --watchers 1 --think-time 5 --screenshot-every 3 \\
        --ramp-up 30 --duration 60 --baseline --json run.json --plot run.png
    openhire loadtest --idle 2000
    openhire loadtest --url https://interviews.example.com --interviews 50

Without ``--url`` it starts its own server (``openhire serve``, embedded PostgreSQL in a
temporary directory, the scripted interviewer) and samples its CPU and memory, and
PostgreSQL's, over the run.

Exit status: 0 when every interview completed and the logs hold every acked message exactly
once, in order; 1 when a message was lost, duplicated or reordered (the interviews are named);
3 when nothing was lost but some interviews failed or did not complete; 2 for bad options or
a failed setup.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import queue
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson

from clients.loadtest.metrics import LATENCIES, Recorder, percentile, summarize
from clients.loadtest.report import ProgressLine, plot, progress_text, summary_table
from clients.loadtest.resources import ResourceSampler, machine, raise_open_file_limit
from clients.loadtest.roster import Roster, build_roster, plan
from clients.loadtest.server import BenchServer
from clients.loadtest.simulate import Behaviour, play
from clients.loadtest.verify import verify_all

EXIT_LOSS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3


def _kb_range(text: str) -> tuple[int, int]:
    try:
        low, _, high = text.partition("-")
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KB or LOW-HIGH in KB, got {text!r}") from None
    if not 1 <= lo <= hi <= 500:
        raise argparse.ArgumentTypeError("sizes must satisfy 1 <= LOW <= HIGH <= 500 (KB)")
    return lo, hi


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openhire loadtest",
        description="Play many concurrent interviews against an OpenHire server, measure "
        "them, and prove from the event logs that nothing acked was lost.",
        epilog="Exit status: 0 all completed, nothing lost; 1 loss, duplicate or reorder; "
        "2 bad options or setup; 3 nothing lost but interviews failed.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--url", help="a running server (default: start a throw-away local one and sample it)"
    )
    target.add_argument("--keep", action="store_true", help="keep the local server's data")
    load = parser.add_argument_group("load")
    load.add_argument("--interviews", type=int, default=20, help="concurrent interviews")
    load.add_argument("--watchers", type=int, default=1, help="recruiter sockets per interview")
    load.add_argument(
        "--ramp-up", type=float, default=10.0, help="seconds over which interviews start"
    )
    load.add_argument(
        "--duration",
        type=float,
        default=60.0,
        help="seconds each interview lasts: it has duration / think-time questions (1-30)",
    )
    load.add_argument("--questions", type=int, help="questions per interview (overrides the above)")
    load.add_argument(
        "--think-time",
        type=float,
        default=5.0,
        help="seconds from a question to its answer (±20%%)",
    )
    load.add_argument(
        "--screenshot-every", type=float, default=3.0, help="seconds between screenshots (0: none)"
    )
    load.add_argument(
        "--jpeg-kb", type=_kb_range, default=(30, 80), help="screenshot sizes, LOW-HIGH KB"
    )
    load.add_argument(
        "--signal-rate", type=float, default=2.0, help="proctoring signals per candidate-minute"
    )
    load.add_argument(
        "--disconnect-rate",
        type=float,
        default=0.2,
        help="drops (then resume) per socket-minute, candidates and watchers",
    )
    load.add_argument("--procs", type=int, default=1, help="load-generator processes")
    load.add_argument("--seed", type=int, default=2026)
    load.add_argument(
        "--setup-concurrency", type=int, default=8, help="sign-ups at once (argon2 is slow)"
    )
    base = parser.add_argument_group("baseline")
    base.add_argument(
        "--baseline",
        action="store_true",
        help="also measure a bare echo server and OpenHire at saturation; report ratios",
    )
    base.add_argument(
        "--saturation-clients", type=int, default=32, help="closed-loop clients at saturation"
    )
    base.add_argument(
        "--saturation-seconds", type=float, default=10.0, help="measured seconds per phase"
    )
    idle = parser.add_argument_group("idle sessions")
    idle.add_argument(
        "--idle",
        type=int,
        metavar="N",
        help="instead of the load: hold N connected idle candidates; report memory per session",
    )
    idle.add_argument("--hold", type=float, default=10.0, help="seconds to hold idle sessions")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, help="write the full result as JSON here")
    out.add_argument("--plot", type=Path, help="write a PNG of latency and load over time here")
    out.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.interviews < 1 or args.watchers < 0 or args.procs < 1:
        parser.error("--interviews and --procs must be at least 1, --watchers at least 0")
    if args.think_time <= 0 or args.duration <= 0 or args.ramp_up < 0:
        parser.error("--think-time and --duration must be positive, --ramp-up not negative")
    if 0 < args.screenshot_every < 1.0:
        parser.error("--screenshot-every: at least 1 s (0 for none)")
    if args.questions is not None and not 1 <= args.questions <= 30:
        parser.error("--questions: 1 to 30 (an interview plan's limit)")
    if args.idle is not None and args.idle < 1:
        parser.error("--idle: at least 1")
    if args.procs > args.interviews:
        args.procs = args.interviews


def questions_for(args: argparse.Namespace) -> int:
    if args.questions is not None:
        return int(args.questions)
    duration: float = args.duration
    think: float = args.think_time
    return max(1, min(30, round(duration / think)))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    progress = ProgressLine(quiet=args.quiet)
    soft, _hard = raise_open_file_limit()
    needed = (args.idle or args.interviews * (1 + args.watchers)) + 100
    if soft < needed:
        progress.say(f"warning: the open-file limit is {soft}; this run needs about {needed}")
    load_before = machine()
    server: BenchServer | None = None
    if args.url:
        base_url = args.url.rstrip("/")
    else:
        env = {"OPENHIRE_LOG_LEVEL": "warning", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
        if args.screenshot_every > 0:
            # Let the server take screenshots at the pace the candidates send them.
            env["OPENHIRE_SCREENSHOT_INTERVAL"] = f"{min(1.0, args.screenshot_every / 2):g}"
        server = BenchServer(keep=args.keep, env=env)
        progress.say("starting a local server ...")
        server.start()
        base_url = server.url
    sampler = ResourceSampler(
        server_pid=server.proc.pid if server is not None and server.proc is not None else None,
        data_dir=server.data_dir if server is not None else None,
    )
    try:
        if args.idle is not None:
            result = run_idle(args, base_url, sampler, progress)
        else:
            result = run_load(args, base_url, sampler, progress)
        if args.baseline:
            result["baseline"] = run_baseline(args, base_url, progress, sampler.server_pid)
    except SetupError as exc:
        progress.done()
        print(f"openhire loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if server is not None:
            server.stop()
    result["machine"] = load_before
    result["load_after"] = [round(v, 2) for v in os.getloadavg()]
    result["target"] = base_url
    result["local"] = server is not None
    progress.done()
    samples = result.pop("_samples", None)
    if samples is not None:
        result["samples"] = {
            kind: [[t, round(latency * 1000, 3)] for t, latency in values]
            for kind, values in samples.items()
        }
    if args.idle is not None:
        print(idle_table(result))
    else:
        print(summary_table(result))
        if args.plot:
            plot(result, samples or {}, args.plot)
    if args.json:
        args.json.write_bytes(
            orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
    code: int = result["exit_code"]
    return code


class SetupError(Exception):
    pass


# --- the load ----------------------------------------------------------------------------------


def run_load(
    args: argparse.Namespace, base_url: str, sampler: ResourceSampler, progress: ProgressLine
) -> dict[str, Any]:
    questions = questions_for(args)
    think_max = args.think_time * 1.2
    interview_plan = plan(
        questions,
        answer_time_limit_s=int(min(3600, max(120, 4 * think_max))),
        total_time_limit_min=min(240, math.ceil((questions * (think_max + 10) + 600) / 60)),
    )
    images: list[bytes] = []
    if args.screenshot_every > 0:
        from clients.loadtest.images import webcam_jpegs

        images = webcam_jpegs(args.jpeg_kb)
    progress.say(f"setting up {args.interviews} candidates, applications and interviews ...")
    started = time.perf_counter()
    roster = _roster(base_url, args.interviews, 1, interview_plan, args.setup_concurrency)
    setup_s = time.perf_counter() - started
    progress.say(f"set up in {setup_s:.1f} s; running")
    behaviour = Behaviour(
        base_url=base_url,
        recruiter_token=roster.recruiter_token,
        questions=questions,
        think_time=args.think_time,
        screenshot_every=args.screenshot_every,
        signal_rate=args.signal_rate,
        disconnect_rate=args.disconnect_rate,
        watchers=args.watchers,
        ramp_up=args.ramp_up,
        deadline=args.ramp_up + questions * (think_max + 10) + 180,
        images=images,
    )
    seats = list(enumerate(roster.seats))
    monitor = Monitor(args.interviews, sampler, progress)
    if args.procs == 1:
        recorder, tracks = asyncio.run(_play_here(seats, behaviour, args.seed, monitor))
    else:
        recorder, tracks = _play_in_processes(seats, behaviour, args, monitor)
    run_s = time.time() - monitor.start_wall
    progress.done()
    progress.say(f"checking {len(tracks)} event logs ...")
    verdicts, _logs = asyncio.run(verify_all(base_url, roster.recruiter_token, tracks))
    return assemble(args, questions, setup_s, run_s, recorder, tracks, verdicts, monitor, images)


def _roster(
    base_url: str, candidates: int, jobs: int, interview_plan: dict[str, Any], concurrency: int
) -> Roster:
    import httpx

    try:
        return asyncio.run(
            build_roster(
                base_url,
                candidates=candidates,
                jobs=jobs,
                interview_plan=interview_plan,
                concurrency=concurrency,
            )
        )
    except httpx.HTTPError as exc:
        raise SetupError(f"setting up the accounts and interviews failed: {exc!r}") from exc


class Monitor:
    """Once a second: add up what the client processes reported, sample the server, keep a
    row of the timeline, show the progress line."""

    def __init__(self, total: int, sampler: ResourceSampler, progress: ProgressLine) -> None:
        self.total = total
        self.sampler = sampler
        self.progress = progress
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.recent: deque[tuple[float, float]] = deque()
        self.timeline: list[dict[str, Any]] = []
        self.start_wall = time.time()
        self._last = (self.start_wall, 0, 0)

    def begin(self, start_wall: float) -> None:
        self.start_wall = start_wall
        self._last = (start_wall, 0, 0)

    def update(self, worker: int, snapshot: dict[str, Any]) -> None:
        self.snapshots[worker] = snapshot
        now = time.time()
        for latency in snapshot["fresh"].get("answer_ack", []):
            self.recent.append((now, latency))

    def tick(self) -> None:
        now = time.time()
        counts: dict[str, int] = {}
        frames_in = frames_out = candidates = watchers = 0
        for snap in self.snapshots.values():
            for key, value in snap["counts"].items():
                counts[key] = counts.get(key, 0) + value
            frames_in += snap["frames_in"]
            frames_out += snap["frames_out"]
            candidates += snap["candidates_open"]
            watchers += snap["watchers_open"]
        last_t, last_in, last_out = self._last
        span = max(1e-3, now - last_t)
        self._last = (now, frames_in, frames_out)
        row = {
            "t": round(now - self.start_wall, 1),
            "started": counts.get("started", 0),
            "completed": counts.get("completed", 0),
            "failed": counts.get("failed", 0),
            "candidates_open": candidates,
            "watchers_open": watchers,
            "frames_in_per_s": round((frames_in - last_in) / span, 1),
            "frames_out_per_s": round((frames_out - last_out) / span, 1),
            **self.sampler.sample(),
        }
        self.timeline.append(row)
        while self.recent and self.recent[0][0] < now - 5:
            self.recent.popleft()
        recent = sorted(v * 1000 for _, v in self.recent)
        self.progress.show(progress_text(row, self.total, percentile(recent, 99)))


async def _play_here(
    seats: list[tuple[int, Any]], behaviour: Behaviour, seed: int, monitor: Monitor
) -> tuple[Recorder, list[dict[str, Any]]]:
    start_wall = time.time() + 0.5
    monitor.begin(start_wall)
    recorder = Recorder(start_wall)
    run_start = time.perf_counter() + (start_wall - time.time())
    task = asyncio.create_task(
        play(seats, behaviour, recorder, seed=seed, run_start=run_start, total=len(seats))
    )
    next_tick = time.time() + 1
    while not task.done():
        await asyncio.wait({task}, timeout=max(0.0, next_tick - time.time()))
        if time.time() >= next_tick:
            monitor.update(0, recorder.snapshot())
            monitor.tick()
            next_tick += 1
    tracks = task.result()
    monitor.update(0, recorder.snapshot())
    monitor.tick()
    return recorder, [t.export() for t in tracks]


def _worker(
    index: int,
    seats: list[tuple[int, Any]],
    behaviour: Behaviour,
    seed: int,
    start_wall: float,
    total: int,
    results: Any,
) -> None:
    try:
        recorder = Recorder(start_wall)
        run_start = time.perf_counter() + (start_wall - time.time())
        tracks = asyncio.run(
            play(
                seats,
                behaviour,
                recorder,
                seed=seed,
                run_start=run_start,
                total=total,
                on_tick=lambda snap: results.put(("tick", index, snap)),
            )
        )
        results.put(("done", index, (recorder, [t.export() for t in tracks])))
    except BaseException as exc:
        results.put(("error", index, repr(exc)))
        raise


def _play_in_processes(
    seats: list[tuple[int, Any]],
    behaviour: Behaviour,
    args: argparse.Namespace,
    monitor: Monitor,
) -> tuple[Recorder, list[dict[str, Any]]]:
    """One interview (its candidate and its watchers) always stays in one process, so each
    latency is measured on one clock."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_wall = time.time() + 3.0  # time for the workers to start and import
    monitor.begin(start_wall)
    workers = [
        ctx.Process(
            target=_worker,
            args=(i, seats[i :: args.procs], behaviour, args.seed, start_wall, len(seats), results),
        )
        for i in range(args.procs)
    ]
    for worker in workers:
        worker.start()
    monitor.sampler.add_clients([w.pid for w in workers if w.pid is not None])
    finished: dict[int, tuple[Recorder, list[dict[str, Any]]]] = {}
    next_tick = time.time() + 1
    while len(finished) < len(workers):
        try:
            kind, index, payload = results.get(timeout=max(0.01, next_tick - time.time()))
        except queue.Empty:
            pass
        else:
            if kind == "tick":
                monitor.update(index, payload)
            elif kind == "done":
                finished[index] = payload
            else:
                for worker in workers:
                    worker.kill()
                raise RuntimeError(f"load-generator process {index} failed: {payload}")
        if time.time() >= next_tick:
            monitor.tick()
            next_tick += 1
        if any(w.exitcode not in (None, 0) for w in workers) and results.empty():
            raise RuntimeError("a load-generator process died")
    for worker in workers:
        worker.join()
    merged = Recorder(start_wall)
    tracks: list[dict[str, Any]] = []
    for recorder, part in finished.values():
        merged.merge(recorder)
        tracks += part
    monitor.tick()
    return merged, tracks


def _resource_summary(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    if not timeline:
        return {}

    def stats(key: str) -> dict[str, float]:
        values = [row[key] for row in timeline if key in row]
        if not values:
            return {}
        return {"cpu_mean": round(sum(values) / len(values), 1), "cpu_max": max(values)}

    out: dict[str, Any] = {"client": stats("client_cpu"), "machine": stats("machine_cpu")}
    if "server_cpu" in timeline[0]:
        rss = [row["server_rss_mb"] for row in timeline]
        pss = [row["postgres_pss_mb"] for row in timeline]
        out["server"] = {
            **stats("server_cpu"),
            "rss_start_mb": rss[0],
            "rss_end_mb": rss[-1],
            "rss_max_mb": max(rss),
        }
        out["postgres"] = {
            **stats("postgres_cpu"),
            "pss_start_mb": pss[0],
            "pss_end_mb": pss[-1],
            "pss_max_mb": max(pss),
        }
    return out


def assemble(
    args: argparse.Namespace,
    questions: int,
    setup_s: float,
    run_s: float,
    recorder: Recorder,
    tracks: list[dict[str, Any]],
    verdicts: list[Any],
    monitor: Monitor,
    images: list[bytes],
) -> dict[str, Any]:
    counts = recorder.counts
    timeline = monitor.timeline
    problems = [
        {"interview_id": v.interview_id, "problems": v.problems} for v in verdicts if not v.ok
    ]
    watcher_warnings = [
        {"interview_id": t["interview_id"], "warnings": t["watcher_problems"]}
        for t in tracks
        if t["watcher_problems"]
    ]
    failed = [
        {"interview_id": t["interview_id"], "outcome": t["outcome"]}
        for t in tracks
        if t["outcome"] != "completed"
    ]
    steady = [row for row in timeline if row["candidates_open"] >= 0.9 * args.interviews]
    mb = 1024 * 1024
    config = {
        "interviews": args.interviews,
        "questions": questions,
        "watchers": args.watchers,
        "ramp_up": args.ramp_up,
        "duration": args.duration,
        "think_time": args.think_time,
        "screenshot_every": args.screenshot_every,
        "jpeg_kb": list(args.jpeg_kb),
        "jpeg_bytes": sorted(len(i) for i in images),
        "signal_rate": args.signal_rate,
        "disconnect_rate": args.disconnect_rate,
        "procs": args.procs,
        "seed": args.seed,
    }
    completed = counts.get("completed", 0)
    exit_code = 0
    if problems:
        exit_code = EXIT_LOSS
    elif completed < args.interviews:
        exit_code = EXIT_FAILED
    return {
        "title": (
            f"{args.interviews} interviews, {args.watchers} watcher(s) each, answer every"
            f" {args.think_time:g} s, screenshot every {args.screenshot_every:g} s"
        ),
        "config": config,
        "setup_s": round(setup_s, 1),
        "run_s": round(run_s, 1),
        "sessions": {
            "interviews": args.interviews,
            "started": counts.get("started", 0),
            "completed": completed,
            "failed": args.interviews - completed,
            "candidate_drops": counts.get("candidate_drops", 0),
            "candidate_reconnects": counts.get("candidate_reconnects", 0),
            "watcher_drops": counts.get("watcher_drops", 0),
            "watcher_reconnects": counts.get("watcher_reconnects", 0),
            "resent": counts.get("resent", 0),
            "acked_again": counts.get("acked_again", 0),
        },
        "throughput": {
            "frames_in_per_s": round(recorder.frames_in / max(run_s, 1e-9), 1),
            "frames_out_per_s": round(recorder.frames_out / max(run_s, 1e-9), 1),
            "peak_in_per_s": max((r["frames_in_per_s"] for r in timeline), default=0),
            "steady_in_per_s": _mean(r["frames_in_per_s"] for r in steady),
            "steady_out_per_s": _mean(r["frames_out_per_s"] for r in steady),
            "steady_seconds": len(steady),
            "mb_in_per_s": round(recorder.bytes_in / mb / max(run_s, 1e-9), 3),
            "mb_out_per_s": round(recorder.bytes_out / mb / max(run_s, 1e-9), 3),
            "answers_acked": len(recorder.samples["answer_ack"]),
        },
        "latency_ms": {
            kind: summarize([v for _, v in recorder.samples[kind]]) for kind in LATENCIES
        },
        "errors": {"close_codes": dict(recorder.closes), "error_codes": dict(recorder.errors)},
        "failures": dict(recorder.failures),
        "failure_examples": recorder.failure_examples,
        "failed_interviews": failed,
        "resources": _resource_summary(timeline),
        "verification": {
            "ok": not problems,
            "interviews": len(verdicts),
            "events": sum(v.events for v in verdicts),
            "acked": sum(v.acked for v in verdicts),
            "unacked": sum(len(t["unacked"]) for t in tracks),
            "refused": sum(len(t["refused"]) for t in tracks),
            "problems": problems,
            "watcher_warnings": watcher_warnings,
        },
        "timeline": timeline,
        "exit_code": exit_code,
        "_samples": recorder.samples,
    }


def _mean(values: Any) -> float:
    items = list(values)
    return round(sum(items) / len(items), 1) if items else 0.0


# --- the baseline ------------------------------------------------------------------------------


def run_baseline(
    args: argparse.Namespace, base_url: str, progress: ProgressLine, server_pid: int | None
) -> dict[str, Any]:
    from clients.loadtest.echo import EchoServer
    from clients.loadtest.images import webcam_jpeg
    from clients.loadtest.saturation import (
        answer_frame,
        echo_saturation,
        openhire_saturation,
        ratios,
        screenshot_echo_frame,
    )

    clients, seconds = args.saturation_clients, args.saturation_seconds
    low, high = args.jpeg_kb
    image = webcam_jpeg((low + high) * 500)
    progress.say(f"baseline: echo server, {clients} clients, {seconds:g} s per frame size ...")
    with EchoServer() as echo:
        load_echo = os.getloadavg()[0]
        pids = {"server": echo.proc.pid} if echo.proc is not None else {}
        text = asyncio.run(
            echo_saturation(echo.url, answer_frame(), clients=clients, seconds=seconds, pids=pids)
        )
        binary = asyncio.run(
            echo_saturation(
                echo.url,
                screenshot_echo_frame(image),
                clients=clients,
                seconds=seconds,
                pids=pids,
            )
        )
    # Enough interviews (30 questions each) that no client runs out below 2,000 answers/s.
    jobs = max(4, math.ceil((seconds + 2) * 2000 / 30 / clients))
    progress.say(f"baseline: OpenHire at saturation ({clients} candidates x {jobs} interviews) ...")
    roster = _roster(
        base_url,
        clients,
        jobs,
        plan(30, answer_time_limit_s=600, total_time_limit_min=60),
        args.setup_concurrency,
    )
    load_openhire = os.getloadavg()[0]
    openhire = asyncio.run(
        openhire_saturation(
            base_url,
            roster.seats,
            clients=clients,
            seconds=seconds,
            pids={"server": server_pid} if server_pid is not None else None,
        )
    )
    return {
        "echo_text": text,
        "echo_binary": binary,
        "openhire": openhire,
        "ratio": ratios(openhire, text),
        "load1_at_start": {"echo": round(load_echo, 2), "openhire": round(load_openhire, 2)},
    }


# --- idle sessions -----------------------------------------------------------------------------


def run_idle(
    args: argparse.Namespace, base_url: str, sampler: ResourceSampler, progress: ProgressLine
) -> dict[str, Any]:
    from clients.loadtest.idle import hold_idle

    n = args.idle
    accounts = min(n, 25)
    jobs = math.ceil(n / accounts)
    progress.say(f"idle: setting up {n} interviews ({accounts} candidates x {jobs} jobs) ...")
    started = time.perf_counter()
    roster = _roster(
        base_url,
        accounts,
        jobs,
        plan(1, answer_time_limit_s=3600, total_time_limit_min=240),
        args.setup_concurrency,
    )
    setup_s = time.perf_counter() - started
    idle = asyncio.run(
        hold_idle(
            base_url,
            roster.seats[:n],
            hold=args.hold,
            sampler=sampler,
            progress=progress.say,
        )
    )
    ok = idle["still_open_after_hold"] == n
    return {
        "title": f"{n} idle candidate sessions",
        "config": {"idle": n, "hold": args.hold, "accounts": accounts, "jobs": jobs},
        "setup_s": round(setup_s, 1),
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
