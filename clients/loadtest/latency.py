"""The latency profile's figures (``openhire loadtest --profile latency``): the run measured in
a window of steady state, from the end of the ramp-up and the warm-up for ``--duration``
seconds, when every interview is live and none has ended.

In the window: each latency over the messages sent in it; answers and messages per second; the
CPU each process used (% of one core: the generator, the server, PostgreSQL, and everything
else on the machine, so that a neighbour's load shows as such); the fewest candidates live;
and the generator's own event-loop lag, which, if large, says the generator and not the server
set the latencies (``--procs 2`` then spreads the sockets over two processes).
"""

from __future__ import annotations

from typing import Any

from clients.loadtest.metrics import LATENCIES, Recorder, percentile, summarize


def window_figures(
    recorder: Recorder, timeline: list[dict[str, Any]], *, start: float, seconds: float
) -> dict[str, Any]:
    """``start`` and ``seconds``: the window, in seconds since the run's start (the clock of
    every sample and of every timeline row)."""
    end = start + seconds

    def inside(t: float) -> bool:
        return start <= t < end

    latency = {
        kind: summarize([v for t, v in recorder.samples[kind] if inside(t)]) for kind in LATENCIES
    }
    # A timeline row holds what was used in the second before its `t`.
    rows = [row for row in timeline if start < row["t"] <= end]

    def mean(key: str) -> float | None:
        values = [row[key] for row in rows if key in row]
        return round(sum(values) / len(values), 1) if values else None

    cpu = {name: mean(f"{name}_cpu") for name in ("client", "server", "postgres", "machine")}
    ours = sum(v for k, v in cpu.items() if k != "machine" and v is not None)
    if cpu["machine"] is not None:
        cpu["everything_else"] = round(max(0.0, cpu["machine"] - ours), 1)
    lag = sorted(late * 1000 for t, late in recorder.loop_lag if inside(t))
    return {
        "from_s": round(start, 1),
        "seconds": round(seconds, 1),
        "latency_ms": latency,
        "answers_per_s": round(latency["answer_ack"]["count"] / seconds, 1),
        "frames_in_per_s": mean("frames_in_per_s"),
        "frames_out_per_s": mean("frames_out_per_s"),
        "fewest_candidates_live": min((row["candidates_open"] for row in rows), default=0),
        "cpu_percent": cpu,
        "client_loop_lag_ms": {
            "p50": round(percentile(lag, 50), 2),
            "p99": round(percentile(lag, 99), 2),
            "max": round(lag[-1], 2),
        }
        if lag
        else {},
    }


def window_lines(result: dict[str, Any]) -> list[str]:
    """The window's part of the summary table."""
    w = result["window"]
    lines = [
        f"window:    {w['seconds']:g} s measured from {w['from_s']:g} s (after the ramp-up and"
        f" the warm-up); at least {w['fewest_candidates_live']} candidates live throughout",
        f"{'latency in the window (ms)':<30}{'count':>6}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}",
    ]
    for kind, label in LATENCIES.items():
        s = w["latency_ms"][kind]
        if s.get("count"):
            row = "".join(f"{s[p]:>8.1f}" for p in ("p50", "p90", "p99", "max"))
            lines.append(f"{label:<30}{s['count']:>6}{row}")
    frames_in, frames_out = w["frames_in_per_s"] or 0, w["frames_out_per_s"] or 0
    lines.append(
        f"  answers acked {w['answers_per_s']:,.0f}/s; messages {frames_in + frames_out:,.0f}/s"
        f" ({frames_in:,.0f} from the server, {frames_out:,.0f} to it)"
    )
    cpu = w["cpu_percent"]
    parts = [
        f"{label} {cpu[key]:.0f}%"
        for key, label in (
            ("client", "generator"),
            ("server", "server"),
            ("postgres", "PostgreSQL"),
            ("everything_else", "everything else"),
        )
        if cpu.get(key) is not None
    ]
    lines.append("  CPU in the window (% of one core): " + ", ".join(parts))
    lag = w["client_loop_lag_ms"]
    if lag:
        lines.append(
            f"  generator loop lag (ms): p50 {lag['p50']:.1f}, p99 {lag['p99']:.1f},"
            f" max {lag['max']:.1f}"
        )
    return lines
