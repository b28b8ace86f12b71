"""Showing a run: the live progress line, the summary table, the plot."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, TextIO

from clients.loadtest.metrics import LATENCIES, percentile
from clients.loadtest.server_metrics import summary_lines


class ProgressLine:
    """One line on stderr, once a second: rewritten in place on a terminal, appended (every
    fifth second) in a log."""

    def __init__(self, stream: TextIO = sys.stderr, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._ticks = 0

    def show(self, text: str) -> None:
        if self.quiet:
            return
        self._ticks += 1
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        elif self._ticks % 5 == 1:
            self.stream.write(text + "\n")
            self.stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (setup steps, phases)."""
        if self.quiet:
            return
        if self.tty and self._ticks:
            self.stream.write("\n")
            self._ticks = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self._ticks and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._ticks = 0


def progress_text(row: dict[str, Any], total: int, recent_ack_ms: float) -> str:
    parts = [
        f"{row['t']:>4.0f}s",
        f"live {row['candidates_open']}/{total} (+{row['watchers_open']} watching)",
        f"started {row['started']} done {row['completed']} failed {row['failed']}",
        f"msgs/s from server {row['frames_in_per_s']:,.0f}, to it {row['frames_out_per_s']:,.0f}",
    ]
    if not math.isnan(recent_ack_ms):
        parts.append(f"ack p99 {recent_ack_ms:.0f} ms")
    if "server_cpu" in row:
        parts.append(
            f"server {row['server_cpu']:.0f}% {row['server_rss_mb']:.0f} MB,"
            f" pg {row['postgres_cpu']:.0f}%"
        )
    parts.append(f"load {row['load1']:.1f}")
    return " | ".join(parts)


def _ms(value: Any) -> str:
    return f"{value:>8.1f}" if isinstance(value, int | float) else f"{'-':>8}"


def summary_table(result: dict[str, Any]) -> str:
    """The human summary of a result (the JSON has everything)."""
    lines: list[str] = []
    cfg = result["config"]
    lines.append(
        f"OpenHire load test ({cfg['profile']}): {cfg['interviews']} interviews x"
        f" {cfg['questions']} questions, {cfg['watchers']} watcher(s) each, think"
        f" {cfg['think_time']:g} s ± {100 * cfg['think_jitter']:.0f}%,"
        f" screenshot every {cfg['screenshot_every']:g} s ({cfg['jpeg_kb'][0]}-{cfg['jpeg_kb'][1]}"
        f" KB), {cfg['signal_rate']:g} signals and {cfg['disconnect_rate']:g} drops per"
        f" socket-minute, ramp-up {cfg['ramp_up']:g} s"
    )
    m = result["machine"]
    lines.append(
        f"target {result['target']} ({'local' if result['local'] else 'remote'}),"
        f" {cfg['procs']} client process(es); {m['cpus']} CPUs, load average"
        f" {m['load_average'][0]:.2f} before, {result['load_after'][0]:.2f} after"
    )
    lines.append(f"setup {result['setup_s']:.1f} s; run {result['run_s']:.1f} s")
    s = result["sessions"]
    lines.append(
        f"sessions:  started {s['started']}, completed {s['completed']}, failed {s['failed']};"
        f" drops/reconnects: candidates {s['candidate_drops']}/{s['candidate_reconnects']},"
        f" watchers {s['watcher_drops']}/{s['watcher_reconnects']}; resent {s['resent']}"
    )
    t = result["throughput"]
    lines.append(
        f"messages:  from the server {t['frames_in_per_s']:,.0f}/s (peak"
        f" {t['peak_in_per_s']:,.0f}/s, {t['mb_in_per_s']:.2f} MB/s), to it"
        f" {t['frames_out_per_s']:,.0f}/s ({t['mb_out_per_s']:.2f} MB/s); in the steady part"
        f" ({t['steady_seconds']} s) {t['steady_in_per_s']:,.0f}/s and"
        f" {t['steady_out_per_s']:,.0f}/s"
    )
    lines.append(f"{'latency (ms)':<28}{'count':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for key, label in LATENCIES.items():
        row = result["latency_ms"].get(key, {})
        if not row.get("count"):
            continue
        cells = "".join(_ms(row.get(p)) for p in ("p50", "p90", "p99", "max"))
        lines.append(f"{label:<28}{row['count']:>8}{cells}")
    if "window" in result:
        from clients.loadtest.latency import window_lines

        lines.extend(window_lines(result))
    closes = result["errors"]["close_codes"]
    codes = result["errors"]["error_codes"]
    lines.append(
        "errors:    close codes "
        + (", ".join(f"{k}: {v}" for k, v in sorted(closes.items())) or "none")
        + "; error messages "
        + (", ".join(f"{k}: {v}" for k, v in sorted(codes.items())) or "none")
    )
    if result["failures"]:
        lines.append(f"failures:  {result['failures']}")
    lines += summary_lines(result)
    r = result.get("resources") or {}
    if r.get("server"):
        sv, pg = r["server"], r["postgres"]
        lines.append(
            f"server:    CPU mean {sv['cpu_mean']:.0f}%, max {sv['cpu_max']:.0f}% of one core;"
            f" RSS {sv['rss_start_mb']:.0f} -> {sv['rss_end_mb']:.0f} MB"
            f" (max {sv['rss_max_mb']:.0f})"
        )
        lines.append(
            f"postgres:  CPU mean {pg['cpu_mean']:.0f}%, max {pg['cpu_max']:.0f}%;"
            f" PSS {pg['pss_start_mb']:.0f} -> {pg['pss_end_mb']:.0f} MB"
        )
    if r.get("client"):
        lines.append(
            f"client:    CPU mean {r['client']['cpu_mean']:.0f}%; machine busy mean"
            f" {r['machine']['cpu_mean']:.0f}% of {m['cpus']} cores"
        )
    v = result["verification"]
    status = "OK: nothing lost, nothing duplicated" if v["ok"] else "FAILED"
    lines.append(
        f"no loss:   {v['interviews']} interviews, {v['events']:,} events,"
        f" {v['acked']:,} acked messages checked: {status}"
    )
    for problem in v["problems"][:20]:
        lines.append(f"  {problem['interview_id']}: {'; '.join(problem['problems'][:3])}")
    if v["unacked"]:
        lines.append(f"           {v['unacked']} messages never acked (not expected in the log)")
    b = result.get("baseline")
    if b:
        lines.extend(baseline_lines(b))
    return "\n".join(lines)


def baseline_lines(b: dict[str, Any]) -> list[str]:
    lines = []
    et, eb, oh = b["echo_text"], b["echo_binary"], b["openhire"]
    lines.append(f"baseline:  {oh['clients']} clients in a closed loop, {oh['window_s']:g} s each")
    for label, row in (
        ("echo, answer-sized text", et),
        ("echo, screenshot-sized binary", eb),
        ("OpenHire answer -> ack", oh),
    ):
        lat = row["latency_ms"]
        cpu = ", ".join(f"{k} {v:.0f}%" for k, v in row.get("cpu_percent", {}).items())
        lines.append(
            f"  {label:<30}{row['per_second']:>9,.0f}/s  p50 {lat.get('p50', math.nan):.1f}"
            f"  p99 {lat.get('p99', math.nan):.1f} ms  (CPU: {cpu})"
        )
    ratio = b["ratio"]
    lines.append(
        f"  OpenHire / echo: throughput {ratio.get('throughput', math.nan):.2f},"
        f" latency p50 x{ratio.get('latency_p50', math.nan):.1f},"
        f" p99 x{ratio.get('latency_p99', math.nan):.1f}"
    )
    if oh.get("ran_out_of_interviews"):
        lines.append(f"  ({oh['ran_out_of_interviews']} clients ran out of interviews early)")
    return lines


def latency_series(
    samples: dict[str, list[tuple[float, float]]], bucket: float = 2.0
) -> dict[str, list[tuple[float, float, float]]]:
    """kind -> [(bucket start, p50 ms, p99 ms)] by when the message was sent."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for kind, values in samples.items():
        buckets: dict[int, list[float]] = {}
        for sent, latency in values:
            buckets.setdefault(int(sent // bucket), []).append(latency * 1000)
        rows = []
        for b in sorted(buckets):
            vs = sorted(buckets[b])
            rows.append((b * bucket, percentile(vs, 50), percentile(vs, 99)))
        if rows:
            out[kind] = rows
    return out


def plot(result: dict[str, Any], samples: dict[str, list[tuple[float, float]]], path: Path) -> None:
    """A PNG: latency percentiles, load, and the server's CPU and memory over the run."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - an optional extra
        raise SystemExit("--plot needs matplotlib: pip install 'openhire[loadtest]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = result["timeline"]
    ts = [row["t"] for row in timeline]
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    ax = axes[0]
    for kind, rows in latency_series(samples).items():
        xs = [r[0] for r in rows]
        (line,) = ax.plot(xs, [r[2] for r in rows], label=LATENCIES[kind])
        ax.plot(xs, [r[1] for r in rows], linestyle=":", color=line.get_color())
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms): p99 solid, p50 dotted")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(result["title"], fontsize=9)

    ax = axes[1]
    ax.plot(ts, [row["candidates_open"] for row in timeline], label="candidates connected")
    ax.plot(ts, [row["watchers_open"] for row in timeline], label="watchers connected")
    ax.set_ylabel("sockets")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, alpha=0.3)
    twin = ax.twinx()
    twin.plot(
        ts,
        [row["frames_in_per_s"] for row in timeline],
        color="tab:green",
        alpha=0.6,
        label="msgs/s from the server",
    )
    twin.plot(
        ts,
        [row["frames_out_per_s"] for row in timeline],
        color="tab:red",
        alpha=0.6,
        label="msgs/s to the server",
    )
    twin.set_ylabel("messages / s")
    twin.legend(fontsize=7, loc="upper right")

    ax = axes[2]
    for key, label in (
        ("server_cpu", "server CPU"),
        ("postgres_cpu", "PostgreSQL CPU"),
        ("client_cpu", "load generator CPU"),
        ("machine_cpu", "machine CPU"),
    ):
        if timeline and key in timeline[0]:
            ax.plot(ts, [row.get(key, 0) for row in timeline], label=label)
    ax.set_ylabel("% of one core")
    ax.set_xlabel("seconds since the start of the run")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, alpha=0.3)
    if timeline and "server_rss_mb" in timeline[0]:
        twin = ax.twinx()
        twin.plot(
            ts,
            [row["server_rss_mb"] for row in timeline],
            color="black",
            linestyle="--",
            label="server RSS (MB)",
        )
        twin.plot(
            ts,
            [row["postgres_pss_mb"] for row in timeline],
            color="grey",
            linestyle="--",
            label="PostgreSQL PSS (MB)",
        )
        twin.set_ylabel("MB")
        twin.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
