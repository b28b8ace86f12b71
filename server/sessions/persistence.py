"""The process-wide persistence queue: every event of every live interview is committed here,
in order, with group commit.

Sessions hand events over without awaiting anything (``submit``); one writer task drains the
queue in batches: it writes the batch's blobs (screenshots) first, then inserts its events,
artifacts and interview-row updates in one transaction, then reports each interview's highest
committed offset to its callback. A session acks a client message only from that callback, so
an acked message is in the database whatever happens afterwards.

Transient database failures (connection lost, server restarting) are retried with backoff,
forever: events stay queued and unacked meanwhile. A batch that fails for any other reason is
retried one event at a time so that one bad event cannot hold back the others; an event that
still fails is reported as failed and never acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from server.sessions.session import NewEvent
from server.store.blobs import BlobStore
from server.store.database import Connection, Pool

log = structlog.get_logger(__name__)

CommitCallback = Callable[[int, list[NewEvent]], None]
FailCallback = Callable[[NewEvent, str], None]

_INSERT_EVENTS = (
    'insert into public.interview_events (interview_id, "offset", kind, data, client_id,'
    " created_at) values ($1, $2, $3, $4, $5, $6)"
)
_INTERVIEW_COLUMNS = frozenset({"state", "state_reason", "started_at", "ended_at", "evaluation"})
_TRANSIENT = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    OSError,
    TimeoutError,
)


@dataclass(slots=True)
class _Item:
    interview_id: uuid.UUID
    event: NewEvent
    on_commit: CommitCallback
    on_fail: FailCallback


class EventWriter:
    def __init__(
        self,
        pool: Pool,
        blobs: BlobStore,
        *,
        soft_limit: int = 20_000,
        max_batch: int = 500,
    ) -> None:
        self._pool = pool
        self._blobs = blobs
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self.soft_limit = soft_limit
        self.max_batch = max_batch
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.committed_events = 0

    @property
    def saturated(self) -> bool:
        """True when the queue is over its soft limit: new client messages should be refused
        (with an error the client can retry) rather than queued."""
        return len(self._queue) >= self.soft_limit

    def submit(
        self,
        interview_id: uuid.UUID,
        event: NewEvent,
        on_commit: CommitCallback,
        on_fail: FailCallback,
    ) -> None:
        self._queue.append(_Item(interview_id, event, on_commit, on_fail))
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-writer")

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
            log.error("event_writer.not_drained", queued=len(self._queue))
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._closing:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue[i] for i in range(min(self.max_batch, len(self._queue)))]
            await self._write_with_retry(batch)
            for _ in batch:
                self._queue.popleft()

    async def _write_with_retry(self, batch: list[_Item]) -> None:
        delay = 0.05
        while True:
            try:
                await self._write(batch)
            except _TRANSIENT as exc:
                log.warning("event_writer.retrying", error=repr(exc), delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            except Exception as exc:
                if len(batch) == 1:
                    item = batch[0]
                    log.error(
                        "event_writer.event_failed",
                        interview_id=str(item.interview_id),
                        offset=item.event.offset,
                        kind=item.event.kind,
                        error=repr(exc),
                    )
                    item.on_fail(item.event, "the server could not store this message")
                    return
                for item in batch:
                    await self._write_with_retry([item])
                return
            self._report(batch)
            return

    def _report(self, batch: list[_Item]) -> None:
        self.committed_events += len(batch)
        by_interview: dict[uuid.UUID, tuple[CommitCallback, list[NewEvent]]] = {}
        for item in batch:
            by_interview.setdefault(item.interview_id, (item.on_commit, []))[1].append(item.event)
        for callback, events in by_interview.values():
            try:
                callback(max(e.offset for e in events), events)
            except Exception:
                log.exception("event_writer.callback_failed")

    async def _write(self, batch: list[_Item]) -> None:
        blobs = [item.event for item in batch if item.event.blob is not None]
        if blobs:
            await asyncio.gather(
                *(
                    self._blobs.put(e.data["blob_key"], e.blob or b"", e.data["content_type"])
                    for e in blobs
                )
            )
        events = [
            (
                i.interview_id,
                i.event.offset,
                i.event.kind,
                i.event.data,
                i.event.client_id,
                i.event.at,
            )
            for i in batch
        ]
        if not any(i.event.interview or i.event.kind == "screenshot" for i in batch):
            # Most batches are events only: one statement, and executemany is atomic (one
            # implicit transaction), so one round trip instead of three (begin, insert,
            # commit), each of which waits for its turn on a busy event loop.
            async with self._pool.acquire() as conn:
                await conn.executemany(_INSERT_EVENTS, events)
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(_INSERT_EVENTS, events)
            artifacts = [i for i in batch if i.event.kind == "screenshot"]
            if artifacts:
                await conn.executemany(
                    "insert into public.interview_artifacts (interview_id, kind, blob_key,"
                    " content_type, size_bytes, width, height, event_offset, created_at)"
                    " values ($1, 'screenshot', $2, $3, $4, $5, $6, $7, $8)",
                    [
                        (
                            i.interview_id,
                            i.event.data["blob_key"],
                            i.event.data["content_type"],
                            i.event.data["size_bytes"],
                            i.event.data["width"],
                            i.event.data["height"],
                            i.event.offset,
                            i.event.at,
                        )
                        for i in artifacts
                    ],
                )
            for item in batch:
                if item.event.interview:
                    await _update_interview(conn, item.interview_id, item.event.interview)


async def _update_interview(
    conn: Connection, interview_id: uuid.UUID, columns: dict[str, Any]
) -> None:
    names = [c for c in columns if c in _INTERVIEW_COLUMNS]
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    await conn.execute(
        f"update public.interviews set {assignments} where id = $1",
        interview_id,
        *(columns[n] for n in names),
    )
    if columns.get("state") == "completed":
        # The application moves on to the recruiter's review.
        await conn.execute(
            "update public.applications set status = 'reviewing'"
            " where id = (select application_id from public.interviews where id = $1)"
            " and status = 'submitted'",
            interview_id,
        )
