"""CPU and memory of the processes under test, sampled while a load runs (psutil).

For a local server: the ``openhire serve`` process, and its embedded PostgreSQL (the
postmaster and every backend, found from ``postmaster.pid`` in the data directory) reported
apart. Also the load generator's own processes and the whole machine, so a reader can tell
whether the server, the database, the client or a neighbour used the cores.

Memory: the server's resident set (RSS); PostgreSQL's as the sum of its processes'
proportional set sizes (PSS), since its backends share the same buffers and summing their
RSS would count them many times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil  # type: ignore[import-untyped,unused-ignore]

if TYPE_CHECKING:
    from clients.loadtest.server_metrics import ServerMetrics

MB = 1024 * 1024


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class _Group:
    """A set of processes whose CPU is summed; remembers each for psutil's CPU deltas."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def update(self, pids: list[int]) -> None:
        for pid in pids:
            if pid not in self._procs:
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(pid)
                    process.cpu_percent(None)  # the first call only starts the clock
                    self._procs[pid] = process

    def cpu_percent(self) -> float:
        total = 0.0
        for pid, process in list(self._procs.items()):
            try:
                total += process.cpu_percent(None)
            except psutil.Error:
                del self._procs[pid]
        return total

    def rss(self) -> int:
        total = 0
        for process in self._procs.values():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def pss(self) -> int:
        total = 0
        for process in self._procs.values():
            try:
                total += process.memory_full_info().pss
            except (psutil.Error, AttributeError):
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
        return total


class ResourceSampler:
    """``sample()`` once a second: CPU (% of one core since the previous sample) and memory."""

    def __init__(
        self,
        *,
        server_pid: int | None = None,
        data_dir: Path | None = None,
        client_pids: list[int] | None = None,
        server_metrics: ServerMetrics | None = None,
    ) -> None:
        self.server_pid = server_pid
        # The server's own /metrics, read at the same moments (server_metrics.py).
        self.server_metrics = server_metrics
        self.data_dir = data_dir
        self.server = _Group()
        self.postgres = _Group()
        self.client = _Group()
        if server_pid is not None:
            self.server.update([server_pid])
        self.client.update(client_pids or [os.getpid()])
        self._refresh_postgres()
        psutil.cpu_percent(None)

    def add_clients(self, pids: list[int]) -> None:
        self.client.update(pids)

    def _refresh_postgres(self) -> None:
        if self.data_dir is None:
            return
        pid = postmaster_pid(self.data_dir)
        if pid is None:
            return
        pids = [pid]
        with contextlib.suppress(psutil.Error):
            pids += [child.pid for child in psutil.Process(pid).children()]
        self.postgres.update(pids)

    @property
    def local(self) -> bool:
        return self.server_pid is not None

    def sample(self) -> dict[str, Any]:
        self._refresh_postgres()
        row: dict[str, Any] = {
            "client_cpu": round(self.client.cpu_percent(), 1),
            "machine_cpu": round(psutil.cpu_percent(None) * (os.cpu_count() or 1), 1),
            "load1": round(os.getloadavg()[0], 2),
        }
        if self.local:
            row["server_cpu"] = round(self.server.cpu_percent(), 1)
            row["server_rss_mb"] = round(self.server.rss() / MB, 1)
            row["postgres_cpu"] = round(self.postgres.cpu_percent(), 1)
            row["postgres_pss_mb"] = round(self.postgres.pss() / MB, 1)
        if self.server_metrics is not None:
            row.update(self.server_metrics.sample())
        return row

    def server_memory(self) -> dict[str, float]:
        """The server's RSS and PostgreSQL's PSS now, in bytes."""
        self._refresh_postgres()
        return {"server_rss": float(self.server.rss()), "postgres_pss": float(self.postgres.pss())}


async def watch(
    sampler: ResourceSampler | None,
    seconds: float | None = None,
    *,
    stop: asyncio.Event | None = None,
    tag: Callable[[], dict[str, Any]] | None = None,
    every: float = 1.0,
) -> list[dict[str, Any]]:
    """Sample ``sampler`` every ``every`` seconds for ``seconds`` or until ``stop`` is set,
    whichever comes first; each row with ``tag()``'s fields added. A first sample only starts
    the CPU window (psutil's deltas) and is not returned. Without a sampler, only waits."""
    deadline = time.perf_counter() + seconds if seconds is not None else None
    if sampler is not None:
        sampler.sample()
    rows: list[dict[str, Any]] = []
    while deadline is None or time.perf_counter() < deadline:
        wait = every if deadline is None else max(0.0, min(every, deadline - time.perf_counter()))
        if stop is None:
            await asyncio.sleep(wait)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        if sampler is not None:
            rows.append({**sampler.sample(), **(tag() if tag is not None else {})})
        if stop is not None and stop.is_set():
            break
    return rows


def mean(rows: list[dict[str, Any]], key: str) -> float:
    """The mean of ``key`` over ``rows`` (0 where it is missing), to a tenth."""
    return round(sum(r.get(key, 0) for r in rows) / len(rows), 1) if rows else 0.0


async def measure(sampler: ResourceSampler | None, seconds: float) -> dict[str, float] | None:
    """A local server's mean CPU (% of one core) over ``seconds``, its RSS at the end, and the
    generator's mean CPU; None (after waiting as long) for a remote server."""
    local = sampler if sampler is not None and sampler.local else None
    rows = await watch(local, seconds)
    if not rows:
        return None
    return {
        "cpu": mean(rows, "server_cpu"),
        "rss_mb": rows[-1]["server_rss_mb"],
        "client_cpu": mean(rows, "client_cpu"),
    }


def server_memory(sampler: ResourceSampler | None) -> dict[str, float] | None:
    """A local server's RSS and PostgreSQL's PSS now, in bytes; None for a remote one."""
    if sampler is None or not sampler.local:
        return None
    return sampler.server_memory()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to its hard limit (children inherit it:
    a local server started afterwards can hold as many sockets). Returns (soft, hard)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft, hard
