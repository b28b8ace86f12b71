"""What one load-generator process measures: latency samples, counters, frames per second.

Latencies are differences of ``time.perf_counter`` readings taken in one process (a candidate
and its watchers always share a process). Each sample also carries when its message was sent,
in seconds since the run's start (a wall-clock instant shared by every process), so samples
from several processes land on one timeline.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Latency kinds: the key in results, and the label in reports.
LATENCIES = {
    "answer_ack": "answer -> ack",
    "first_token": "answer -> first token",
    "screenshot_ack": "screenshot -> ack",
    "signal_ack": "signal -> ack",
    "watcher_event": "candidate event -> watcher",
    # Several nodes (clients.loadtest.faults): from a socket lost to its server (not dropped
    # on purpose) until the next session.ready.
    "without_server": "candidate without a server",
}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (nan if there are none)."""
    if not values:
        return math.nan
    rank = max(1, min(len(values), math.ceil(p / 100 * len(values))))
    return values[rank - 1]


def summarize(latencies_s: list[float]) -> dict[str, Any]:
    """count, p50, p90, p99, max and mean, in milliseconds."""
    values = sorted(v * 1000 for v in latencies_s)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), 2),
        "p90": round(percentile(values, 90), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(values[-1], 2),
        "mean": round(sum(values) / len(values), 2),
    }


@dataclass
class Recorder:
    """The measurements of one process. ``start_wall`` is the run's start (``time.time()``)."""

    start_wall: float
    # kind -> [(seconds since the start when the message was sent, latency in seconds)]
    samples: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {kind: [] for kind in LATENCIES}
    )
    counts: Counter[str] = field(default_factory=Counter)
    # Sockets the server closed unexpectedly, by close code ("1006": the connection dropped).
    closes: Counter[str] = field(default_factory=Counter)
    # In-band ``error`` messages, by error code.
    errors: Counter[str] = field(default_factory=Counter)
    # Why sessions failed (first words of the reason) -> count, and a few examples.
    failures: Counter[str] = field(default_factory=Counter)
    failure_examples: list[str] = field(default_factory=list)
    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    candidates_open: int = 0
    watchers_open: int = 0
    # (seconds since the start, how late the generator's event loop woke up, in seconds):
    # sampled when asked (the latency profile), to tell a slow server from a busy generator.
    loop_lag: list[tuple[float, float]] = field(default_factory=list)
    # Samples not yet handed to the progress display.
    _fresh: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # perf_counter -> seconds since the run's start, fixed once per process.
        self._offset = time.time() - time.perf_counter() - self.start_wall

    def since_start(self, perf: float) -> float:
        return perf + self._offset

    def latency(self, kind: str, sent: float, now: float) -> None:
        self.samples[kind].append((round(self.since_start(sent), 4), now - sent))
        self._fresh.setdefault(kind, []).append(now - sent)

    def lag(self, now: float, late: float) -> None:
        self.loop_lag.append((round(self.since_start(now), 4), late))

    def received(self, size: int) -> None:
        self.frames_in += 1
        self.bytes_in += size

    def sent(self, size: int) -> None:
        self.frames_out += 1
        self.bytes_out += size

    def fail(self, reason: str) -> None:
        self.counts["failed"] += 1
        self.failures[reason.split(":", 1)[0]] += 1
        if len(self.failure_examples) < 10:
            self.failure_examples.append(reason)

    def snapshot(self) -> dict[str, Any]:
        """Cumulative counters and the samples since the previous snapshot, for progress."""
        fresh, self._fresh = self._fresh, {}
        return {
            "counts": dict(self.counts),
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "candidates_open": self.candidates_open,
            "watchers_open": self.watchers_open,
            "fresh": fresh,
        }

    def merge(self, other: Recorder) -> None:
        for kind, values in other.samples.items():
            self.samples.setdefault(kind, []).extend(values)
        self.counts.update(other.counts)
        self.closes.update(other.closes)
        self.errors.update(other.errors)
        self.failures.update(other.failures)
        self.failure_examples += other.failure_examples[: max(0, 10 - len(self.failure_examples))]
        self.loop_lag.extend(other.loop_lag)
        self.frames_in += other.frames_in
        self.frames_out += other.frames_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
