"""A load run's result: the figures, the verification and the exit status, assembled from what
the processes recorded, what the monitor sampled and what the logs held."""

from __future__ import annotations

import argparse
from typing import Any

from clients.loadtest.latency import window_figures
from clients.loadtest.metrics import LATENCIES, Recorder, summarize
from clients.loadtest.monitor import Monitor

EXIT_LOSS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3


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
        "profile": args.profile,
        "interviews": args.interviews,
        "questions": questions,
        "watchers": args.watchers,
        "ramp_up": args.ramp_up,
        "duration": args.duration,
        "think_time": args.think_time,
        "think_jitter": args.think_jitter,
        "warmup": args.warmup,
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
    result: dict[str, Any] = {
        "title": (
            f"{args.interviews} interviews, {args.watchers} watcher(s) each, answer every"
            f" {args.think_time:g} s, screenshot every {args.screenshot_every:g} s"
            + (f", latency over {args.duration:g} s" if args.profile == "latency" else "")
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
    if args.profile == "latency":
        result["window"] = window_figures(
            recorder, timeline, start=args.ramp_up + args.warmup, seconds=args.duration
        )
    return result


def _mean(values: Any) -> float:
    items = list(values)
    return round(sum(items) / len(items), 1) if items else 0.0
