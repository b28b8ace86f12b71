"""The ``notifications`` table's one owner: writing them with the change that causes them (the
outbox), and every read of them.

``record`` runs inside the caller's transaction, after the caller's own writes, so that a
notification exists if and only if its event committed. It gives each recipient the next
numbers of their own sequence: taking them locks the recipient's counter row until the
transaction ends, so one recipient's notifications commit in the order of their numbers, and a
stream that has delivered number n has seen every committed one up to n (``after`` resumes it).
Recipients are locked in the order of their ids, and ``record`` is each transaction's last
write, so two transactions never wait on each other in a cycle.

In the same transaction it queues what else must happen: a NOTIFY per notification (delivered
to every server's listener at commit, in commit order, for the live streams), the webhook
deliveries of the recipient's endpoints subscribed to the kind, and an email where SMTP is
configured and the kind is one the candidate is emailed about.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from server.notify import email, webhooks
from server.notify.notices import (
    EMAIL_KINDS,
    STREAM_CHANNEL,
    WEBHOOK_EVENTS,
    Notice,
    Notification,
)
from server.store.database import Connection, Pool

_COLUMNS = (
    "id, user_id, seq, kind, job_id, application_id, interview_id, payload, created_at, read_at"
)
_INSERT = (
    f"insert into public.notifications ({_COLUMNS})"
    " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, null)"
)
# The next `count` numbers of a recipient's sequence; the row lock lasts until commit.
_TAKE_NUMBERS = (
    "insert into openhire.notification_counters (user_id, last_seq) values ($1, $2)"
    " on conflict (user_id) do update"
    " set last_seq = openhire.notification_counters.last_seq + excluded.last_seq"
    " returning last_seq"
)


class Notifications:
    def __init__(self, pool: Pool, *, email_enabled: bool = False) -> None:
        self._pool = pool
        # Emails are queued only where they will be sent: with SMTP unset nothing piles up.
        self.email_enabled = email_enabled

    # --- writing (the outbox) ---------------------------------------------------------------

    async def record(self, conn: Connection, notices: Sequence[Notice]) -> list[Notification]:
        """Write ``notices`` within ``conn``'s open transaction, with their NOTIFYs, webhook
        deliveries and emails; call it last in the transaction."""
        if not notices:
            return []
        assert conn.is_in_transaction(), "notifications are written with the change they tell of"
        at = datetime.now(UTC)
        by_user: dict[uuid.UUID, list[Notice]] = {}
        for notice in notices:
            by_user.setdefault(notice.user_id, []).append(notice)
        stored: list[Notification] = []
        for user_id in sorted(by_user):
            batch = by_user[user_id]
            last = await conn.fetchval(_TAKE_NUMBERS, user_id, len(batch))
            first = last - len(batch) + 1
            stored += [
                Notification(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    seq=first + number,
                    kind=notice.kind,
                    job_id=notice.job_id,
                    application_id=notice.application_id,
                    interview_id=notice.interview_id,
                    payload=dict(notice.payload),
                    created_at=at,
                )
                for number, notice in enumerate(batch)
            ]
        await conn.executemany(
            _INSERT,
            [
                (
                    n.id,
                    n.user_id,
                    n.seq,
                    n.kind,
                    n.job_id,
                    n.application_id,
                    n.interview_id,
                    n.payload,
                    n.created_at,
                )
                for n in stored
            ],
        )
        await conn.execute(
            "select pg_notify($1, message) from unnest($2::text[]) with ordinality as m(message, i)"
            " order by i",
            STREAM_CHANNEL,
            [orjson.dumps(n.to_json()).decode() for n in stored],
        )
        await webhooks.enqueue(conn, [n for n in stored if n.kind in WEBHOOK_EVENTS])
        if self.email_enabled:
            await email.enqueue(conn, [n.id for n in stored if n.kind in EMAIL_KINDS])
        return stored

    # --- reading ------------------------------------------------------------------------

    async def page(
        self, user_id: uuid.UUID, *, unread_only: bool, before_seq: int | None, limit: int
    ) -> list[Notification]:
        """Newest first: up to ``limit`` numbered below ``before_seq`` (all when None)."""
        where = "user_id = $1 and ($3::bigint is null or seq < $3)"
        if unread_only:
            where += " and read_at is null"
        rows = await self._pool.fetch(
            f"select {_COLUMNS} from public.notifications where {where} order by seq desc limit $2",
            user_id,
            limit,
            before_seq,
        )
        return [Notification.from_row(row) for row in rows]

    async def after(self, user_id: uuid.UUID, seq: int, limit: int) -> list[Notification]:
        """Oldest first: up to ``limit`` numbered above ``seq`` (a stream's resume)."""
        rows = await self._pool.fetch(
            f"select {_COLUMNS} from public.notifications where user_id = $1 and seq > $2"
            " order by seq limit $3",
            user_id,
            seq,
            limit,
        )
        return [Notification.from_row(row) for row in rows]

    async def counts(self, user_id: uuid.UUID) -> tuple[int, int]:
        """How many are unread, and the number of the latest one (0 before the first)."""
        row = await self._pool.fetchrow(
            "select (select count(*) from public.notifications where user_id = $1"
            " and read_at is null) as unread,"
            " coalesce((select last_seq from openhire.notification_counters where user_id = $1),"
            " 0) as last_seq",
            user_id,
        )
        assert row is not None
        return int(row["unread"]), int(row["last_seq"])

    async def mark_read(self, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None) -> int:
        """Mark the user's notifications ``ids`` (all of theirs when None) read; ids of other
        users' notifications change nothing. Returns how many were unread."""
        marked = await self._pool.fetchval(
            "with marked as (update public.notifications set read_at = now()"
            " where user_id = $1 and read_at is null and ($2::uuid[] is null or id = any($2))"
            " returning 1) select count(*) from marked",
            user_id,
            list(ids) if ids is not None else None,
        )
        return int(marked)

    async def with_recipient(self, conn: Connection, notification_id: uuid.UUID) -> Any:
        """One notification with its recipient's email and name, and the job's title (an
        email's content); None if it is gone."""
        return await conn.fetchrow(
            f"select {', '.join('n.' + c.strip() for c in _COLUMNS.split(','))},"
            " u.email, u.full_name from public.notifications n"
            " join public.users u on u.id = n.user_id where n.id = $1",
            notification_id,
        )
