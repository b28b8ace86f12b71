"""The interview log's one owner: every statement on ``interview_events`` and
``interview_artifacts``, and the interview row's changes that go with log entries.

An interview's log is append-only, one entry per offset (``(interview_id, offset)`` is unique),
and has one writer at a time (the live interview, through the process's ``EventWriter``).
Transcripts, the live view, replay and restore are all reads of it.

- ``store_blobs`` and ``append``: a batch of entries, each with what goes with it: a
  screenshot's blob (written first, so that no row points at a blob that is not there: by
  ``store_blobs`` ahead of the batch, or else by ``append``) and its artifact row, the
  interview's start or end (with its evaluation, and the application handed on to review when
  the session says so). The rows go in one transaction.
- ``was_appended``: after a failure that may have struck after the commit, whether a batch is
  there already.
- ``read_since`` (watcher replay and the events API) and ``read_all`` (restore).
- ``expire``: a scheduled interview past its expiry, with its log entry.
- ``take_over``: behind several nodes, raise the interview's fencing epoch for its new owner
  (``openhire.interview_leases``): from then on a write that carries an older epoch is refused
  in its own transaction (``StaleOwner``), so a node that lost the interview without knowing
  it (paused, partitioned) can never write after the new owner has begun.
- ``artifacts``: an interview's artifacts, for review.

The notifications these changes cause (the interview started, ended, expired, its evaluation
ready, the application moved on) are written in the same transaction, last
(``server.notify.notifications``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence, Set
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from server.errors import StaleOwner
from server.notify.notices import Kind, Notice
from server.notify.notifications import Notifications
from server.sessions.actions import (
    Concluded,
    LogEntry,
    Persist,
    Recording,
    Screenshot,
    Started,
)
from server.store.blob_keys import screenshot_key
from server.store.blobs import BlobStore
from server.store.database import Connection, Pool
from server.store.evaluations import add_version

_INSERT_ENTRIES = (
    'insert into public.interview_events (interview_id, "offset", kind, data, client_id,'
    " sender, created_at) values ($1, $2, $3, $4, $5, $6, $7)"
)
_INSERT_ARTIFACTS = (
    "insert into public.interview_artifacts (interview_id, kind, blob_key, content_type,"
    " size_bytes, width, height, event_offset, created_at)"
    " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
# Behind several nodes: the same insert, made only if the row's epoch is the interview's newest
# (openhire.check_epoch raises SQLSTATE OH409 otherwise, and the whole batch is refused). The
# function holds the lease row in share mode until the commit, so a takeover raising the epoch
# waits for a write under way, and the new owner reads the log after it.
_INSERT_FENCED = (
    'insert into public.interview_events (interview_id, "offset", kind, data, client_id,'
    " sender, created_at) select $1::uuid, $2::bigint, $3::text, $4::jsonb, $5::text,"
    " $6::text, $7::timestamptz where openhire.check_epoch($1::uuid, $8::bigint)"
)
_STALE_OWNER = "OH409"
_SELECT_ENTRIES = (
    'select "offset", kind, data, client_id, sender, created_at from public.interview_events'
)


@dataclass(frozen=True, slots=True)
class Append:
    """One entry to append, as it will be stored, with what goes with it."""

    interview_id: uuid.UUID
    entry: LogEntry
    screenshot: Screenshot | None = None
    milestone: Started | Concluded | None = None
    recording: Recording | None = None
    # The writer's fencing epoch behind several nodes (None for a single node: not checked).
    epoch: int | None = None

    @classmethod
    def of(cls, interview_id: uuid.UUID, persist: Persist, epoch: int | None = None) -> Append:
        """What a session's ``Persist`` stores: a screenshot's entry names the blob it is
        kept under (the key derives from the interview and the offset)."""
        entry = persist.entry
        if persist.screenshot is not None:
            key = screenshot_key(interview_id, entry.offset, persist.screenshot.content_type)
            entry = replace(entry, data={"blob_key": key, **entry.data})
        return cls(
            interview_id, entry, persist.screenshot, persist.milestone, persist.recording, epoch
        )


def _artifact(a: Append) -> tuple[Any, ...]:
    """The artifact row of a screenshot's or a recording segment's entry."""
    data = a.entry.data
    kind = "recording" if a.recording is not None else "screenshot"
    return (
        a.interview_id,
        kind,
        data["blob_key"],
        data["content_type"],
        data["size_bytes"],
        data.get("width"),
        data.get("height"),
        a.entry.offset,
        a.entry.at,
    )


def _columns(e: LogEntry) -> tuple[Any, ...]:
    return (e.offset, e.kind, e.data, e.client_id, e.sender, e.at)


def _entry(row: Any) -> LogEntry:
    return LogEntry(
        offset=row["offset"],
        kind=row["kind"],
        data=row["data"],
        at=row["created_at"],
        client_id=row["client_id"],
        sender=row["sender"],
    )


class InterviewLog:
    def __init__(
        self, pool: Pool, blobs: BlobStore, notifications: Notifications | None = None
    ) -> None:
        self._pool = pool
        self._blobs = blobs
        self._notifications = notifications or Notifications(pool)

    # --- writing ------------------------------------------------------------------------

    async def store_blobs(self, batch: Sequence[Append]) -> None:
        """Write the screenshots' blobs of entries not appended yet, ahead of ``append`` (the
        writer does, while it commits the batch before): ``append`` then skips the keys it is
        told are stored."""
        shots = [(a.entry, a.screenshot) for a in batch if a.screenshot is not None]
        if shots:
            await self._blobs.put_many(
                [(entry.data["blob_key"], shot.image, shot.content_type) for entry, shot in shots]
            )

    async def append(self, batch: Sequence[Append], *, stored: Set[str] = frozenset()) -> None:
        """Store a batch: its blobs first (but those whose keys are in ``stored``, written
        already by ``store_blobs``), then its rows in one transaction (all or none). Raises
        ``StaleOwner`` (nothing stored) when an entry's epoch is no longer its interview's
        newest."""
        try:
            await self._append(batch, stored)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == _STALE_OWNER:
                raise StaleOwner(str(getattr(exc, "detail", "") or "")) from None
            raise

    async def _append(self, batch: Sequence[Append], stored: Set[str]) -> None:
        await self.store_blobs(
            [a for a in batch if a.screenshot is None or a.entry.data["blob_key"] not in stored]
        )
        artifacts = [a for a in batch if a.screenshot is not None or a.recording is not None]
        fenced = any(a.epoch is not None for a in batch)
        insert = _INSERT_FENCED if fenced else _INSERT_ENTRIES
        rows = [
            (a.interview_id, *_columns(a.entry), *((a.epoch,) if fenced else ())) for a in batch
        ]
        if not artifacts and not any(a.milestone for a in batch):
            # Most batches are entries only: one statement, and executemany is atomic (one
            # implicit transaction), so one round trip instead of three (begin, insert,
            # commit), each of which waits for its turn on a busy event loop.
            async with self._pool.acquire() as conn:
                await conn.executemany(insert, rows)
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(insert, rows)
            if artifacts:
                await conn.executemany(_INSERT_ARTIFACTS, [_artifact(a) for a in artifacts])
            notices: list[Notice] = []
            for a in batch:
                if isinstance(a.milestone, Started):
                    notices += await _start(conn, a.interview_id, a.milestone)
                elif isinstance(a.milestone, Concluded):
                    notices += await _conclude(conn, a.interview_id, a.milestone)
            await self._notifications.record(conn, notices)

    async def was_appended(self, first: Append) -> bool:
        """Whether a batch whose write failed transiently was committed anyway. A batch is one
        transaction, and an interview's offsets are written by its one owner only, so its first
        entry's row, if there, is that entry."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "select kind, client_id from public.interview_events where interview_id = $1"
                ' and "offset" = $2',
                first.interview_id,
                first.entry.offset,
            )
        return row is not None and (row["kind"], row["client_id"]) == (
            first.entry.kind,
            first.entry.client_id,
        )

    async def expire(
        self,
        interview_id: uuid.UUID,
        conn: Connection | None = None,
        *,
        notices: list[Notice] | None = None,
    ) -> bool:
        """Mark a scheduled interview whose expiry passed as expired, with its log entry and
        its recruiter's notification; whether it was (nothing happens to one no longer
        scheduled). ``conn``: within the caller's transaction; ``notices``: the notification
        is added there instead, for the caller to record with its own, last."""
        if conn is None:
            async with self._pool.acquire() as own:
                return await self._expire(own, interview_id, notices)
        return await self._expire(conn, interview_id, notices)

    async def _expire(
        self, conn: Connection, interview_id: uuid.UUID, notices: list[Notice] | None
    ) -> bool:
        async with conn.transaction():
            updated = await conn.fetchval(
                "update public.interviews set state = 'expired',"
                " state_reason = 'not_started_in_time', ended_at = now()"
                " where id = $1 and state = 'scheduled' returning id",
                interview_id,
            )
            if updated is None:
                return False
            await conn.execute(
                'insert into public.interview_events (interview_id, "offset", kind, data)'
                ' values ($1, coalesce((select max("offset") from public.interview_events'
                " where interview_id = $1), 0) + 1, 'state', $2)",
                interview_id,
                {"state": "expired", "reason": "not_started_in_time"},
            )
            notice = _for_recruiter(await _about(conn, interview_id), "interview.expired", {})
            if notices is not None:
                notices.append(notice)
            else:
                await self._notifications.record(conn, [notice])
        return True

    async def take_over(self, interview_id: uuid.UUID, node: str) -> int:
        """Raise the interview's fencing epoch for ``node``, its new owner, and return it.
        Waits for a write of the previous owner that is under way (it holds the row); any
        later write of the previous owner is refused."""
        epoch: int = await self._pool.fetchval(
            "insert into openhire.interview_leases (interview_id, epoch, node) values ($1, 1, $2)"
            " on conflict (interview_id) do update set epoch = interview_leases.epoch + 1,"
            " node = excluded.node, taken_at = now() returning epoch",
            interview_id,
            node,
        )
        return epoch

    # --- reading ------------------------------------------------------------------------

    async def read_since(
        self,
        interview_id: uuid.UUID,
        since: int,
        limit: int,
        *,
        hidden_kinds: Sequence[str] = (),
    ) -> list[LogEntry]:
        """Up to ``limit`` entries after offset ``since``, in order, leaving out the kinds
        the reader may not see."""
        rows = await self._pool.fetch(
            f'{_SELECT_ENTRIES} where interview_id = $1 and "offset" > $2'
            ' and kind <> all($4::text[]) order by "offset" limit $3',
            interview_id,
            since,
            limit,
            list(hidden_kinds),
        )
        return [_entry(row) for row in rows]

    async def last_offset(self, interview_id: uuid.UUID) -> int:
        """The offset of the log's last entry (0 for an empty log)."""
        last: int = await self._pool.fetchval(
            'select coalesce(max("offset"), 0) from public.interview_events'
            " where interview_id = $1",
            interview_id,
        )
        return last

    async def read_all(self, interview_id: uuid.UUID) -> list[LogEntry]:
        """The whole log, in order: what a session is rebuilt from."""
        rows = await self._pool.fetch(
            f'{_SELECT_ENTRIES} where interview_id = $1 order by "offset"', interview_id
        )
        return [_entry(row) for row in rows]

    async def artifacts(self, interview_id: uuid.UUID, since: int) -> list[dict[str, Any]]:
        """The interview's artifacts (screenshots, recording segments) logged after offset
        ``since`` (all of them for 0), oldest first."""
        # A recording's track and span are in its log entry (the artifact row has no columns
        # for them): read with it.
        rows = await self._pool.fetch(
            "select a.id, a.kind, a.blob_key, a.content_type, a.size_bytes, a.width, a.height,"
            " a.event_offset, a.created_at, e.data->>'track' as track,"
            " (e.data->>'started_at')::timestamptz as started_at,"
            " (e.data->>'ended_at')::timestamptz as ended_at"
            " from public.interview_artifacts a left join public.interview_events e"
            " on a.kind = 'recording' and e.interview_id = a.interview_id"
            ' and e."offset" = a.event_offset'
            " where a.interview_id = $1"
            " and ($2::bigint = 0 or a.event_offset > $2::bigint) order by a.created_at, a.id",
            interview_id,
            since,
        )
        return [dict(row) for row in rows]


async def _about(conn: Connection, interview_id: uuid.UUID) -> Any:
    """Who and what an interview's notifications name."""
    return await conn.fetchrow(
        "select i.id as interview_id, i.job_id, i.application_id, i.candidate_id,"
        " i.recruiter_id, j.title, u.full_name from public.interviews i"
        " join public.jobs j on j.id = i.job_id"
        " join public.users u on u.id = i.candidate_id where i.id = $1",
        interview_id,
    )


def _for_recruiter(about: Any, kind: Kind, payload: dict[str, Any]) -> Notice:
    return Notice(
        about["recruiter_id"],
        kind,
        job_id=about["job_id"],
        application_id=about["application_id"],
        interview_id=about["interview_id"],
        payload={"job_title": about["title"], "candidate_name": about["full_name"], **payload},
    )


async def _start(conn: Connection, interview_id: uuid.UUID, started: Started) -> list[Notice]:
    await conn.execute(
        "update public.interviews set state = 'in_progress', started_at = $2 where id = $1",
        interview_id,
        started.at,
    )
    about = await _about(conn, interview_id)
    return [_for_recruiter(about, "interview.started", {})]


async def _conclude(
    conn: Connection, interview_id: uuid.UUID, concluded: Concluded
) -> list[Notice]:
    await conn.execute(
        "update public.interviews set state = $2, state_reason = $3, ended_at = $4,"
        " evaluation = coalesce($5::jsonb, evaluation) where id = $1",
        interview_id,
        concluded.state,
        concluded.reason,
        concluded.at,
        concluded.evaluation,
    )
    if concluded.evaluation is not None:
        # Kept as the interview's first version, in the same transaction (store/evaluations).
        await add_version(conn, interview_id, concluded.evaluation, reason="interview_completed")
    about = await _about(conn, interview_id)
    ended: Kind = "interview.completed" if concluded.state == "completed" else "interview.abandoned"
    notices = [_for_recruiter(about, ended, {"reason": concluded.reason})]
    if concluded.evaluation is not None:
        summary: dict[str, Any] = {
            key: concluded.evaluation[key]
            for key in ("overall_score", "recommendation")
            if key in concluded.evaluation
        }
        notices.append(_for_recruiter(about, "evaluation.ready", summary))
    if concluded.to_review:
        moved = await conn.fetchval(
            "update public.applications set status = 'reviewing'"
            " where id = $1 and status = 'submitted' returning id",
            about["application_id"],
        )
        if moved is not None:
            notices.append(
                Notice(
                    about["candidate_id"],
                    "application.status_changed",
                    job_id=about["job_id"],
                    application_id=about["application_id"],
                    payload={"job_title": about["title"], "from": "submitted", "to": "reviewing"},
                )
            )
    return notices
