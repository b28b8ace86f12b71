"""What an operator sees inside a running server: ``/metrics`` in Prometheus' text format.

``Metrics`` holds every instrument of one app, in a registry of its own (made and closed by the
lifespan, never ``prometheus_client``'s global one, so several apps in one process keep apart).
The instruments are bound to their labels once, here, so the hot path (an ack, a batch, a
frame) only observes a number. The seams feed them:

- ``server.transport.writer``: sockets open by role, and answer -> ack (``AnswerClock``);
- ``server.sessions.persistence``: the writer's batches, commit time, retries, failures;
- ``server.metrics.seams``: the blob store and the interviewer, wrapped at start-up;
- ``server.metrics.serve``: event-loop lag (a small task), garbage-collection pauses (a
  ``gc`` callback), what is read at scrape time (live
  interviews, the writer's queue, the database pool), and the listener.

What each figure means and what to alert on: docs/operations.md, "Metrics".
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector

from server.protocol.messages import Ack, ServerMessage

# Seconds, for what should take milliseconds: an ack, a commit, the loop's lag.
FAST_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Seconds, for a call over the network: the blob store, the AI interviewer.
REMOTE_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
# Seconds, for a garbage collection: a young one takes microseconds, a full one over a large
# heap tens of milliseconds or more.
GC_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
GC_GENERATIONS: Final = ("0", "1", "2")
# Entries per committed batch (the writer takes at most 500 at a time).
BATCH_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500)

SOCKET_ROLES: Final = ("candidate", "watcher")
BLOB_OPERATIONS: Final = ("put", "get", "delete", "sign")
INTERVIEWER_OPERATIONS: Final = ("question", "evaluation")
# How a call to the blob store or the interviewer failed: transient failures that outlasted
# the retries, permanent ones, and anything that is not one of the two (a bug).
ERROR_KINDS: Final = ("unavailable", "failed", "crashed")


class Metrics:
    def __init__(self) -> None:
        # No `_created` series: in the text format each would be one more series per counter
        # and histogram for Prometheus to store, saying only when the process started. (A
        # switch of prometheus_client's for the whole process; saying it twice is harmless.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        GCCollector(registry=r)

        sockets = Gauge("openhire_sockets", "Interview sockets open, by role", ["role"], registry=r)
        self.sockets = {role: sockets.labels(role) for role in SOCKET_ROLES}
        self.answer_ack = Histogram(
            "openhire_answer_ack_seconds",
            "From a candidate's answer arriving to its ack going out (committed)",
            registry=r,
            buckets=FAST_BUCKETS,
        )

        self.commit = Histogram(
            "openhire_writer_commit_seconds",
            "Writing one batch of the persistence queue: its blobs, then one transaction",
            registry=r,
            buckets=FAST_BUCKETS,
        )
        self.batch = Histogram(
            "openhire_writer_batch_events",
            "Entries committed in one batch",
            registry=r,
            buckets=BATCH_BUCKETS,
        )
        self.writer_retries = Counter(
            "openhire_writer_retries",
            "Batches retried after a transient database failure",
            registry=r,
        )
        self.writer_failures = Counter(
            "openhire_writer_failed_events",
            "Entries that failed for good and were forgotten (never acked)",
            registry=r,
        )

        # WebRTC (server.media): how long a peer took from its offer to connected, and how
        # late a snapshot is logged after its frame arrived (stored and committed).
        self.media_connect = Histogram(
            "openhire_media_connect_seconds",
            "From an rtc.offer arriving to the server's peer connected, by role",
            ["role"],
            registry=r,
            buckets=REMOTE_BUCKETS,
        )
        self.snapshot_lag = Histogram(
            "openhire_media_snapshot_lag_seconds",
            "From a video frame arriving to its snapshot committed to the log",
            registry=r,
            buckets=FAST_BUCKETS,
        )
        self.recording_segments = Counter(
            "openhire_media_recording_segments",
            "Recording segments stored and logged, by track",
            ["track"],
            registry=r,
        )

        self.loop_lag = Histogram(
            "openhire_event_loop_lag_seconds",
            "How late the event loop ran a timer that was due (sampled 10 times a second)",
            registry=r,
            buckets=FAST_BUCKETS,
        )

        self.gc_pause = Histogram(
            "openhire_gc_pause_seconds",
            "How long each cyclic garbage collection held the process (and its event loop),"
            " by generation (2: a full collection)",
            ["generation"],
            registry=r,
            buckets=GC_BUCKETS,
        )

        blob_seconds = Histogram(
            "openhire_blob_store_seconds",
            "Blob store operations (retries included), by operation",
            ["operation"],
            registry=r,
            buckets=REMOTE_BUCKETS,
        )
        blob_errors = Counter(
            "openhire_blob_store_errors",
            "Blob store operations that failed, by operation and kind",
            ["operation", "kind"],
            registry=r,
        )
        self.blob_store = {
            op: Operation(
                blob_seconds.labels(op), {k: blob_errors.labels(op, k) for k in ERROR_KINDS}
            )
            for op in BLOB_OPERATIONS
        }

        interviewer_seconds = Histogram(
            "openhire_interviewer_seconds",
            "AI interviewer calls, by operation: a whole question streamed, an evaluation",
            ["operation"],
            registry=r,
            buckets=REMOTE_BUCKETS,
        )
        interviewer_errors = Counter(
            "openhire_interviewer_errors",
            "AI interviewer calls that failed, by operation and kind",
            ["operation", "kind"],
            registry=r,
        )
        self.interviewer = {
            op: Operation(
                interviewer_seconds.labels(op),
                {k: interviewer_errors.labels(op, k) for k in ERROR_KINDS},
            )
            for op in INTERVIEWER_OPERATIONS
        }
        self.first_chunk = Histogram(
            "openhire_interviewer_first_chunk_seconds",
            "From asking for a question to its first chunk",
            registry=r,
            buckets=REMOTE_BUCKETS,
        )

    def committed(self, entries: int, seconds: float) -> None:
        self.batch.observe(entries)
        self.commit.observe(seconds)


class Operation:
    """One kind of call to a service outside the process: its time, and its failures by
    kind (each child bound once)."""

    __slots__ = ("errors", "seconds")

    def __init__(self, seconds: Histogram, errors: dict[str, Counter]) -> None:
        self.seconds = seconds
        self.errors = errors


class AnswerClock:
    """Answer -> ack on one candidate socket: when each answer arrived (by client id), until
    its ack goes out. An answer refused with an error is never acked: it stays until the
    socket closes, or until ``LIMIT`` newer ones push it out (a resend under the same client
    id starts its clock again)."""

    LIMIT = 256
    __slots__ = ("_arrived", "_histogram")

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._arrived: dict[str, float] = {}

    def arrived(self, client_id: str) -> None:
        self._arrived.pop(client_id, None)  # a resend goes to the back
        if len(self._arrived) >= self.LIMIT:
            del self._arrived[next(iter(self._arrived))]
        self._arrived[client_id] = time.perf_counter()

    def replied(self, message: ServerMessage) -> None:
        """Called with every message the socket sends: one type check for most of them."""
        if type(message) is Ack:  # exact: cheaper than isinstance on a pydantic model
            started = self._arrived.pop(message.client_id, None)
            if started is not None:
                self._histogram.observe(time.perf_counter() - started)
