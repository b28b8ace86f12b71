"""The run's timeline: once a second, what the load-generator processes counted and what the
server, its database and the machine used, shown as the progress line."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from clients.loadtest.metrics import percentile
from clients.loadtest.report import ProgressLine, progress_text
from clients.loadtest.resources import ResourceSampler


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
        if self.sampler.server_metrics is not None:
            self.sampler.server_metrics.begin()  # the run's figures count from here
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
