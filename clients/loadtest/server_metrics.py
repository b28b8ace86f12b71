"""The server's own figures, read from its ``/metrics`` (Prometheus' text format) beside /proc
while a load runs: what the client cannot see from outside, such as how long commits take,
how late the server's event loop runs and how deep its persistence queue gets.

A local server started by the load test serves them on a port of its own
(``OPENHIRE_METRICS_PORT``); a remote one when given ``--metrics-url``. ``begin()`` reads them
as the run starts (after the setup); ``sample()`` is called once a second with the /proc sample
(``ResourceSampler``) and adds a few figures to that row of the timeline. ``summary()`` takes
the histograms' increase from the first reading to the latest, over the run alone, as
Prometheus' ``increase()`` would.

The figures of histograms are estimates from their buckets: a quantile is interpolated within
its bucket (as ``histogram_quantile`` does), and a maximum is the upper bound of the highest
bucket that grew ("at most"). Gauges (the queue's depth, the pool in use) are sampled once a
second, so their maximum is the largest seen at those moments.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# A histogram's buckets: (upper bound, cumulative count), in order, +Inf last.
Buckets = list[tuple[float, float]]


class Scrape:
    """One reading of /metrics: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str) -> float:
        """The sum over every label set of ``name``."""
        return sum(v for (n, _), v in self.values.items() if n == name)

    def buckets(self, name: str, **labels: str) -> Buckets:
        """The buckets of ``name``'s series with these labels (and any others)."""
        wanted = set(labels.items())
        found = [
            (float(dict(series)["le"]), value)
            for (n, series), value in self.values.items()
            if n == f"{name}_bucket" and wanted <= series
        ]
        return sorted(found)


def increase(first: Buckets, last: Buckets) -> Buckets:
    before = dict(first)
    return [(bound, count - before.get(bound, 0.0)) for bound, count in last]


def quantile(q: float, buckets: Buckets) -> float | None:
    """``histogram_quantile``: None with no observations; the highest finite bound when the
    quantile falls in the +Inf bucket."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def highest(buckets: Buckets) -> float | None:
    """The upper bound of the highest bucket that holds an observation (inf: past the last
    finite bound); None with no observations."""
    below = 0.0
    top: float | None = None
    for bound, count in buckets:
        if count > below:
            top = bound
        below = count
    return top


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class ServerMetrics:
    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)
        self.first: Scrape | None = None
        self.last: Scrape | None = None
        self.failures = 0
        self._peaks: dict[str, float] = {}

    def _scrape(self) -> Scrape | None:
        try:
            answer = self._client.get(self.url)
            answer.raise_for_status()
            return Scrape(answer.text)
        except (httpx.HTTPError, ValueError):
            self.failures += 1
            return None

    def begin(self) -> None:
        """The run starts: what the server counted before it (the setup) is left out."""
        self.first = self.last = self._scrape()

    def sample(self) -> dict[str, Any]:
        """A scrape, as the columns it adds to this second's row of the timeline."""
        scrape = self._scrape()
        if scrape is None:
            return {}
        previous, self.last = self.last, scrape
        if self.first is None:
            self.first = scrape
        lag = "openhire_event_loop_lag_seconds"
        recent = (
            increase(previous.buckets(lag), scrape.buckets(lag)) if previous is not None else []
        )
        gauges = {
            "server_live": scrape.value("openhire_live_interviews"),
            "server_queue": scrape.value("openhire_writer_queue_events"),
            "server_pool_in_use": scrape.value("openhire_db_pool_connections", state="in_use"),
        }
        for key, value in gauges.items():
            self._peaks[key] = max(self._peaks.get(key, 0.0), value)
        # At most this much lag in the last second (a bucket's bound).
        return {**gauges, "server_loop_lag_ms": _ms(highest(recent))}

    def summary(self) -> dict[str, Any]:
        """The run's figures, from the first scrape to the latest."""
        first, last = self.first, self.last
        if first is None or last is None:
            return {"url": self.url, "scrapes_failed": self.failures}

        def grown(name: str) -> Buckets:
            assert first is not None and last is not None
            return increase(first.buckets(name), last.buckets(name))

        def counted(name: str) -> float:
            assert first is not None and last is not None
            return last.total(name) - first.total(name)

        commit = grown("openhire_writer_commit_seconds")
        ack = grown("openhire_answer_ack_seconds")
        lag = grown("openhire_event_loop_lag_seconds")
        gc_pause = "openhire_gc_pause_seconds"
        full_gc = increase(
            first.buckets(gc_pause, generation="2"),
            last.buckets(gc_pause, generation="2"),
        )
        batches = counted("openhire_writer_batch_events_count")
        return {
            "url": self.url,
            "scrapes_failed": self.failures,
            "commit_ms": {
                "count": commit[-1][1] if commit else 0,
                "p50": _ms(quantile(0.5, commit)),
                "p99": _ms(quantile(0.99, commit)),
            },
            "answer_ack_ms": {
                "count": ack[-1][1] if ack else 0,
                "p50": _ms(quantile(0.5, ack)),
                "p99": _ms(quantile(0.99, ack)),
            },
            "loop_lag_ms": {"p99": _ms(quantile(0.99, lag)), "max_at_most": _ms(highest(lag))},
            # Every collection's pause, summed; the full ones (generation 2) apart.
            "gc_pause_ms": {
                "collections": counted(f"{gc_pause}_count"),
                "total": _ms(counted(f"{gc_pause}_sum")),
                "full": full_gc[-1][1] if full_gc else 0,
                "full_p50": _ms(quantile(0.5, full_gc)),
                "full_max_at_most": _ms(highest(full_gc)),
            },
            "writer": {
                "batches": batches,
                "mean_batch": round(counted("openhire_writer_batch_events_sum") / batches, 1)
                if batches
                else None,
                "queue_max": self._peaks.get("server_queue", 0.0),
                "retries": counted("openhire_writer_retries_total"),
                "failed_events": counted("openhire_writer_failed_events_total"),
            },
            "pool": {
                "in_use_max": self._peaks.get("server_pool_in_use", 0.0),
                "size_max": last.value("openhire_db_pool_max_connections"),
            },
            "live_interviews_max": self._peaks.get("server_live", 0.0),
            "errors": {
                "blob_store": counted("openhire_blob_store_errors_total"),
                "interviewer": counted("openhire_interviewer_errors_total"),
            },
        }

    def close(self) -> None:
        self._client.close()


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return "> 10 s" if math.isinf(value) else f"{value:g} ms"


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The summary table's lines for the server's own figures (none when not read)."""
    s = result.get("server_metrics")
    if not s:
        return []
    if "commit_ms" not in s:
        return [f"inside:    {s['url']} could not be read ({s['scrapes_failed']} failures)"]
    w, lag = s["writer"], s["loop_lag_ms"]
    gc = s.get("gc_pause_ms") or {}
    return [
        f"inside:    commit p99 {_cell(s['commit_ms']['p99'])} ({s['commit_ms']['count']:.0f}"
        f" batches, mean {w['mean_batch'] or 0:g} entries), answer->ack p99"
        f" {_cell(s['answer_ack_ms']['p99'])}; loop lag p99 {_cell(lag['p99'])}, max at most"
        f" {_cell(lag['max_at_most'])}",
        f"           writer queue max {w['queue_max']:.0f}, retries {w['retries']:.0f}, failed"
        f" {w['failed_events']:.0f}; pool in use max {s['pool']['in_use_max']:.0f} of"
        f" {s['pool']['size_max']:.0f}; errors: blob store {s['errors']['blob_store']:.0f},"
        f" interviewer {s['errors']['interviewer']:.0f}",
        f"           garbage collection: {gc.get('collections', 0):.0f} pauses,"
        f" {_cell(gc.get('total'))} in all; {gc.get('full', 0):.0f} full, p50"
        f" {_cell(gc.get('full_p50'))}, max at most {_cell(gc.get('full_max_at_most'))}",
    ]


def serve_locally(env: dict[str, str]) -> str:
    """Ask a local server (started with ``env``) to serve its metrics on a free loopback
    port; returns their URL."""
    from clients.loadtest.server import free_port

    port = free_port()
    env["OPENHIRE_METRICS_PORT"] = str(port)
    return f"http://127.0.0.1:{port}/metrics"
