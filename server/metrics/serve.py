"""Serving the metrics: what is read at scrape time, the event loop's lag, and the listener.

The listener is ``prometheus_client``'s own small HTTP server, in a thread, on a port of its
own (``OPENHIRE_METRICS_PORT``, loopback unless ``OPENHIRE_METRICS_HOST`` says otherwise):
never on the public port, where it would need a log-in, and never in the event loop's way. A
scrape costs the loop nothing, and it is still answered while the loop is stalled, which is
when an operator needs it most. What it reads at scrape time (the number of live interviews,
the writer's queue, the pool's connections) are sizes of containers, which a thread may read.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from server.background import BackgroundTask
from server.config import Settings
from server.errors import ConfigurationError

if TYPE_CHECKING:
    from server.media.hub import MediaHub
    from server.sessions.manager import SessionManager
    from server.sessions.persistence import EventWriter
    from server.store.database import Pool

log = structlog.get_logger(__name__)


class LiveState(Collector):
    """Gauges read when scraped: nothing on the hot path keeps them."""

    def __init__(
        self,
        sessions: SessionManager,
        writer: EventWriter,
        pool: Pool,
        media: MediaHub | None = None,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._pool = pool
        self._media = media

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "openhire_live_interviews",
            "Interviews held in memory: in progress, or scheduled with a socket open",
            value=len(self._sessions.live),
        )
        yield GaugeMetricFamily(
            "openhire_writer_queue_events",
            "Entries waiting in the persistence queue",
            value=self._writer.queued,
        )
        yield GaugeMetricFamily(
            "openhire_writer_queue_limit",
            "The queue's soft limit: past it, new client messages are refused as overloaded",
            value=self._writer.soft_limit,
        )
        if self._media is not None:
            peers = GaugeMetricFamily(
                "openhire_media_peers",
                "WebRTC peers open (OPENHIRE_MAX_MEDIA_SESSIONS bounds them all), by role",
                labels=["role"],
            )
            # Read from the scraper's thread: a copy (one call, under the GIL) to count.
            now_open = list(self._media.peers)
            for role in ("candidate", "watcher"):
                peers.add_metric([role], sum(p.role == role for p in now_open))
            yield peers
            yield GaugeMetricFamily(
                "openhire_media_max_peers",
                "The most WebRTC peers this server holds (OPENHIRE_MAX_MEDIA_SESSIONS)",
                value=self._media.settings.max_media_sessions,
            )
        size, idle = self._pool.get_size(), self._pool.get_idle_size()
        connections = GaugeMetricFamily(
            "openhire_db_pool_connections",
            "The database pool's open connections, in use or idle",
            labels=["state"],
        )
        connections.add_metric(["in_use"], size - idle)
        connections.add_metric(["idle"], idle)
        yield connections
        yield GaugeMetricFamily(
            "openhire_db_pool_max_connections",
            "The most connections the pool opens (OPENHIRE_DB_POOL_MAX)",
            value=self._pool.get_max_size(),
        )


class LoopLagMonitor:
    """How late the event loop runs what is due: a task that sleeps a tenth of a second and
    observes how much later than asked it woke. Any callback that holds the loop (a long
    parse, a full garbage collection, a blocking call) shows up as lag."""

    def __init__(self, lag: Histogram, interval_s: float = 0.1) -> None:
        self._lag = lag
        self._interval = interval_s
        self._task = BackgroundTask(self._run, name="loop-lag")

    def start(self) -> None:
        self._task.start()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._lag.observe(max(0.0, loop.time() - due))

    async def close(self) -> None:
        await self._task.close()


class GcPauseMonitor:
    """How long each cyclic garbage collection holds the process, by generation: a ``gc``
    callback times every collection from its start to its stop. ``gc.callbacks`` belongs to
    the process, so ``close`` takes the callback out again (several apps may share one process,
    as in the tests). A collection may run in any thread; the GIL keeps each start and its stop
    together."""

    def __init__(self, pause: Histogram) -> None:
        self._by_generation = {g: pause.labels(str(g)) for g in range(3)}
        self._started = 0.0

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        histogram = self._by_generation.get(info.get("generation", -1))
        if histogram is not None:
            histogram.observe(time.perf_counter() - self._started)

    def start(self) -> None:
        gc.callbacks.append(self._on_collection)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_collection)


class MetricsListener:
    """The metrics port: opened by the lifespan when ``OPENHIRE_METRICS_PORT`` is set."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @classmethod
    def open(cls, settings: Settings, registry: CollectorRegistry) -> MetricsListener | None:
        if settings.metrics_port is None:
            return None
        try:
            server, thread = start_http_server(
                settings.metrics_port, addr=settings.metrics_host, registry=registry
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}"
                f" (OPENHIRE_METRICS_HOST, OPENHIRE_METRICS_PORT): {exc.strerror or exc}"
            ) from None
        log.info("metrics.listening", host=settings.metrics_host, port=settings.metrics_port)
        return cls(server, thread)

    async def close(self) -> None:
        # shutdown() waits for the serving loop to notice (up to half a second): not on the
        # event loop.
        await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()
        await asyncio.to_thread(self._thread.join, 2.0)
