"""Running the load: set up the roster, play every interview in this process or in several,
watch it once a second, then read every log back and check it."""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import queue
import time
from typing import Any

from clients.loadtest import faults
from clients.loadtest.metrics import Recorder
from clients.loadtest.monitor import Monitor
from clients.loadtest.options import questions_for
from clients.loadtest.report import ProgressLine
from clients.loadtest.resources import ResourceSampler
from clients.loadtest.results import assemble
from clients.loadtest.roster import plan, setup_roster
from clients.loadtest.simulate import Behaviour, play
from clients.loadtest.verify import verify_all


def run_load(
    args: argparse.Namespace, base_url: str, sampler: ResourceSampler, progress: ProgressLine
) -> dict[str, Any]:
    questions = questions_for(args)
    think_max = args.think_time * (1 + args.think_jitter)
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
    roster = setup_roster(base_url, args.interviews, 1, interview_plan, args.setup_concurrency)
    setup_s = time.perf_counter() - started
    progress.say(f"set up in {setup_s:.1f} s; running")
    behaviour = Behaviour(
        base_url=base_url,
        recruiter_token=roster.recruiter_token,
        questions=questions,
        think_time=args.think_time,
        think_jitter=args.think_jitter,
        screenshot_every=args.screenshot_every,
        signal_rate=args.signal_rate,
        disconnect_rate=args.disconnect_rate,
        watchers=args.watchers,
        ramp_up=args.ramp_up,
        deadline=args.ramp_up + questions * (think_max + 10) + 180,
        images=images,
        loop_lag=args.profile == "latency",
    )
    seats = list(enumerate(roster.seats))
    monitor = Monitor(args.interviews, sampler, progress)
    fault_plan = faults.FaultPlan(args.fault)
    fault_plan.start()
    try:
        if args.procs == 1:
            recorder, tracks = asyncio.run(_play_here(seats, behaviour, args.seed, monitor))
        else:
            recorder, tracks = _play_in_processes(seats, behaviour, args, monitor)
    finally:
        fault_plan.stop()
    run_s = time.time() - monitor.start_wall
    progress.done()
    progress.say(f"checking {len(tracks)} event logs ...")
    verdicts, _logs = asyncio.run(verify_all(base_url, roster.recruiter_token, tracks))
    result = assemble(args, questions, setup_s, run_s, recorder, tracks, verdicts, monitor, images)
    if args.fault:
        result["cluster"] = faults.summary(tracks, fault_plan)
    return result


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
