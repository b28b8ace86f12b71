"""The process-wide persistence queue: every event of every live interview is committed here,
each interview's in order, with group commit.

Sessions hand events over without awaiting anything (``submit``); one writer task drains the
queue in batches: it hands each batch to the interview log (``server.store.interview_log``,
which commits the entries, artifacts and the interview's start or end in one transaction),
then reports each interview's committed entries to its callback. A second task, the blob
stage, writes the screenshots' blobs as they come, ahead of the writer: a batch is committed
once its blobs are stored (no row ever names a blob that is not there), and the next batch's
blobs are written while this one commits. An interview whose screenshot's blob is not stored
yet waits for it, from that screenshot on; the others' entries are committed meanwhile. A
session acks a client message only from that callback, so an acked message is in the database
whatever happens afterwards.

Transient database failures (connection lost, the database shutting down or restarting,
serialization failures, resources exhausted: classified by SQLSTATE class) are retried with
backoff, forever: events stay queued and unacked meanwhile. A transient failure may have struck
after the commit (the connection died before its answer arrived), so before writing a batch
again the writer asks whether it is already there. A batch that fails for any other reason is
retried one event at a time so that one bad event cannot hold back the others; an event that
still fails is reported as failed and never acked.

Behind several nodes each event carries its interview's fencing epoch (``EventSink.epoch``);
when PostgreSQL refuses a batch because another node has taken an interview over
(``StaleOwner``), that interview is told (``on_fenced``: it stops, unacked), its events are
dropped, and the rest of the batch is written.

Each event belongs to a sink (its live interview), which says whether it still wants an event
written: after a failure the interview forgets the failed event and every later one of its own,
and those are dropped here unwritten, so the interview's offsets stay dense.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog

from server.background import BackgroundTask
from server.errors import StaleOwner
from server.sessions.actions import LogEntry, Persist
from server.store.database import is_transient
from server.store.interview_log import Append, InterviewLog

if TYPE_CHECKING:
    from server.metrics import Metrics

log = structlog.get_logger(__name__)


class EventSink(Protocol):
    """Whoever proposed an entry: told when it is committed, or has failed for good."""

    # The fencing epoch its entries are written under (None: a single node, not checked).
    epoch: int | None

    def wants_stored(self, generation: int) -> bool:
        """False for entries (of this session generation) that their interview has since
        forgotten: they are dropped unwritten."""
        ...

    def on_committed(self, entries: list[LogEntry]) -> None:
        """``entries`` (in offset order, as stored) are committed, and all before them."""
        ...

    def on_failed(self, entry: LogEntry, generation: int, reason: str) -> None: ...

    def on_fenced(self) -> None:
        """Another node owns the interview now: nothing more of this sink's is written."""
        ...


# The most blobs the blob stage writes in one go: a batch waits for the whole group its last
# screenshot is in, so the groups stay small enough to finish often.
BLOB_GROUP = 64
# How far past a batch's worth of entries the writer looks for entries it can commit now
# (in batches' worth): those of interviews not waiting for a screenshot's blob.
SCAN_BATCHES = 4
# Where an entry's screenshot blob stands in the blob stage (entries without one: NO_BLOB).
NO_BLOB, BLOB_PENDING, BLOB_STORED, BLOB_FAILED = range(4)


@dataclass(slots=True)
class _Item:
    append: Append
    generation: int
    sink: EventSink
    blob: int = NO_BLOB

    def wanted(self) -> bool:
        return self.sink.wants_stored(self.generation)


class EventWriter:
    def __init__(
        self,
        interview_log: InterviewLog,
        *,
        soft_limit: int = 20_000,
        max_batch: int = 500,
        metrics: Metrics | None = None,
    ) -> None:
        self._log = interview_log
        self._metrics = metrics
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        # The blob stage: screenshots waiting for their blobs to be written (the writer's
        # ``_wakeup`` is set each time some are done).
        self._unstored: deque[_Item] = deque()
        self._blob_wakeup = asyncio.Event()
        self._blob_task = BackgroundTask(self._store_blobs, name="blob-writer")
        self.soft_limit = soft_limit
        self.max_batch = max_batch
        self._task = BackgroundTask(self._run, name="event-writer")
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._writing = 0  # entries of the batch being written, taken off the queue

    @property
    def saturated(self) -> bool:
        """True when the queue is over its soft limit: new client messages should be refused
        (with an error the client can retry) rather than queued."""
        return self.queued >= self.soft_limit

    @property
    def queued(self) -> int:
        """Entries submitted and not yet committed or failed (the batch being written
        included)."""
        return len(self._queue) + self._writing

    def submit(self, interview_id: uuid.UUID, persist: Persist, sink: EventSink) -> None:
        append = Append.of(interview_id, persist, sink.epoch)
        item = _Item(append, persist.generation, sink)
        self._queue.append(item)
        if append.screenshot is not None:
            item.blob = BLOB_PENDING
            self._unstored.append(item)
            self._blob_wakeup.set()
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        self._task.start()
        self._blob_task.start()

    async def drain(self, within_s: float) -> bool:
        """Wait until everything submitted so far is committed (or failed)."""
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
            return True
        except TimeoutError:
            return False

    async def close(self, within_s: float = 10.0) -> None:
        drained = await self.drain(within_s)
        if not drained:
            log.error("event_writer.not_drained", queued=self.queued)
        self._closing = True
        await self._task.close()
        await self._blob_task.close()

    async def _run(self) -> None:
        while not self._closing:
            # Cleared before looking, so that an entry submitted or a blob stored meanwhile
            # wakes the wait below.
            self._wakeup.clear()
            if not self._queue:
                self._idle.set()
                await self._wakeup.wait()
                continue
            batch = self._take()
            if not batch:
                # Every entry within reach waits for a screenshot's blob (its own, or one
                # before it in its interview): wait for the blob stage, or a new entry.
                await self._wakeup.wait()
                continue
            self._writing = len(batch)
            try:
                await self._write_with_retry(batch)
            finally:
                self._writing = 0

    def _take(self) -> list[_Item]:
        """The next batch, off the queue: the first entries in order, but for those of an
        interview whose screenshot's blob is not stored yet, from that screenshot on (they
        stay queued, in order, for a later batch). An interview's entries are committed in
        order; entries of different interviews need not be, and an answer is not held back
        by another interview's screenshot."""
        batch: list[_Item] = []
        kept: list[_Item] = []
        blocked: set[uuid.UUID] = set()
        for _ in range(min(len(self._queue), SCAN_BATCHES * self.max_batch)):
            if len(batch) == self.max_batch:
                break
            item = self._queue.popleft()
            interview = item.append.interview_id
            if item.blob == BLOB_PENDING:
                blocked.add(interview)
            if interview in blocked:
                kept.append(item)
            else:
                batch.append(item)
        self._queue.extendleft(reversed(kept))
        return batch

    async def _store_blobs(self) -> None:
        """The blob stage: writes the screenshots' blobs as they are submitted, in order, a
        group at a time, while the writer commits the batch before theirs (so that a batch's
        time is its commit's, not its blobs' and its commit's one after the other). A group
        that fails is marked so: ``append`` writes those blobs again itself, and fails the
        entries as it would have."""
        while True:
            if not self._unstored:
                self._blob_wakeup.clear()
                await self._blob_wakeup.wait()
                continue
            group: list[_Item] = []
            while self._unstored and len(group) < BLOB_GROUP:
                item = self._unstored.popleft()
                if item.wanted():
                    group.append(item)
                else:  # forgotten by its interview: never written
                    item.blob = BLOB_FAILED
            state = BLOB_STORED
            try:
                await self._log.store_blobs([item.append for item in group])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state = BLOB_FAILED
                log.warning("event_writer.blobs_failed", blobs=len(group), error=repr(exc))
            for item in group:
                item.blob = state
            self._wakeup.set()

    @staticmethod
    def _stored_keys(batch: list[_Item]) -> set[str]:
        """The keys of the blobs the blob stage stored for ``batch``. The stage is past
        every screenshot of a batch: ``_take`` leaves an entry whose blob is pending queued."""
        assert all(item.blob != BLOB_PENDING for item in batch)
        return {item.append.entry.data["blob_key"] for item in batch if item.blob == BLOB_STORED}

    async def _write_with_retry(self, batch: list[_Item]) -> None:
        delay = 0.05
        # After a transient failure the commit may have happened all the same.
        uncertain = False
        while True:
            # Asked on every attempt: a failure reported meanwhile makes an interview forget
            # its later events, and those must not be written.
            items = [item for item in batch if item.wanted()]
            if not items:
                return
            stored = self._stored_keys(items)
            started = time.perf_counter()
            try:
                if not (uncertain and await self._already_written(items)):
                    await self._log.append([item.append for item in items], stored=stored)
            except StaleOwner as exc:
                if not self._fence(items, exc.interview_id):
                    for item in items:
                        await self._write_with_retry([item])
                    return
                continue
            except Exception as exc:
                if is_transient(exc):
                    if self._metrics is not None:
                        self._metrics.writer_retries.inc()
                    uncertain = True
                    log.warning("event_writer.retrying", error=repr(exc), delay_s=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                if len(items) > 1:
                    for item in items:
                        await self._write_with_retry([item])
                    return
                item = items[0]
                entry = item.append.entry
                log.error(
                    "event_writer.event_failed",
                    interview_id=str(item.append.interview_id),
                    offset=entry.offset,
                    kind=entry.kind,
                    error=repr(exc),
                )
                if self._metrics is not None:
                    self._metrics.writer_failures.inc()
                try:
                    reason = "the server could not store this message"
                    item.sink.on_failed(entry, item.generation, reason)
                except Exception:
                    log.exception("event_writer.callback_failed")
                return
            if self._metrics is not None:
                self._metrics.committed(len(items), time.perf_counter() - started)
            self._report(items)
            return

    def _fence(self, items: list[_Item], interview_id: str) -> bool:
        """Tell the interview another node has taken over; its events are then unwanted."""
        fenced = {
            id(item.sink): item.sink
            for item in items
            if str(item.append.interview_id) == interview_id or len(items) == 1
        }
        if not fenced:
            # PostgreSQL did not say which interview: the caller writes each alone.
            return False
        for sink in fenced.values():
            log.warning("event_writer.stale_owner", interview_id=interview_id)
            try:
                sink.on_fenced()
            except Exception:
                log.exception("event_writer.callback_failed")
        return True

    async def _already_written(self, items: list[_Item]) -> bool:
        """Whether a batch whose write failed transiently was committed anyway."""
        written = await self._log.was_appended(items[0].append)
        if written:
            log.info("event_writer.committed_before_failure", events=len(items))
        return written

    def _report(self, batch: list[_Item]) -> None:
        by_interview: dict[uuid.UUID, tuple[EventSink, list[LogEntry]]] = {}
        for item in batch:
            by_interview.setdefault(item.append.interview_id, (item.sink, []))[1].append(
                item.append.entry
            )
        for sink, entries in by_interview.values():
            try:
                sink.on_committed(entries)
            except Exception:
                log.exception("event_writer.callback_failed")
