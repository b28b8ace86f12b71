"""Recruiters' webhooks: the one owner of ``openhire.webhooks``, ``webhook_deliveries`` and
``webhook_attempts`` (endpoints, the durable queue, the attempts' record).

A message is queued in the transaction of the event it tells of (``enqueue``, called by the
notifications outbox), one delivery per endpoint subscribed to its kind. Servers take due
deliveries with ``claim``: ``for update skip locked``, so that two servers never take the same
one, and ``next_attempt_at`` moved past the attempt's deadline (a lease), so that an attempt
whose server died is made again once the lease has passed, and never while it may still run.
``finish`` records the answer, fenced by the attempt's number: a server whose lease ran out
cannot overwrite a later attempt's result.

Retries: after failed attempt n the next waits ``first_retry_s`` x 3^(n-1), with ±25 % jitter
(10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h, 18 h: ten attempts over about 27
hours), or longer when the receiver's ``Retry-After`` asks for it. A delivery whose last attempt
fails is ``failed``; if the endpoint has not succeeded since that delivery was queued, it has
been failing for about a day and is disabled (at once on ``410 Gone``), its pending deliveries
failed, and its owner notified (``webhook.disabled``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from server.notify import signing
from server.notify.notices import WEBHOOK_CHANNEL, Notification
from server.notify.targets import Answer
from server.store.database import Connection, Pool

# A recruiter's endpoints, at most; each event is sent to every one subscribed.
MAX_WEBHOOKS = 20
# The first key of the advisory lock that serialises a recruiter's creations.
_CREATE_LOCK = 0x0_57EB
# How long the previous secret still signs after a rotation.
SECRET_OVERLAP_S = 24 * 3600
# The longest a receiver's Retry-After may push a retry back.
MAX_RETRY_AFTER_S = 24 * 3600

_WEBHOOK_COLUMNS = (
    "id, recruiter_id, url, events, enabled, disabled_reason, last_success_at,"
    " previous_secret_until, created_at, updated_at"
)


def message_body(kind: str, at: datetime, data: dict[str, Any]) -> bytes:
    """The body every attempt of a message sends, as the Standard Webhooks spec shapes it."""
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": kind, "timestamp": stamp, "data": data})


def notification_message(notification: Notification) -> tuple[str, bytes]:
    """A notification's message id and body: the id is the same for every endpoint, attempt
    and re-send of it, so that a receiver can drop a duplicate."""
    data = {"notification_id": str(notification.id), **notification.subjects()}
    data.update(notification.payload)
    return (
        f"msg_{notification.id.hex}",
        message_body(notification.kind, notification.created_at, data),
    )


async def enqueue(conn: Connection, notifications: Sequence[Notification]) -> None:
    """Queue each notification to its recipient's enabled endpoints subscribed to its kind,
    within ``conn``'s transaction; wake the dispatchers at commit if any was queued."""
    if not notifications:
        return
    messages = [notification_message(n) for n in notifications]
    queued = await conn.fetchval(
        "with queued as (insert into openhire.webhook_deliveries (webhook_id, message_id, kind,"
        " body) select w.id, m.message_id, m.kind, m.body"
        " from unnest($1::uuid[], $2::text[], $3::text[], $4::text[])"
        " as m(user_id, kind, message_id, body)"
        " join openhire.webhooks w on w.recruiter_id = m.user_id and w.enabled"
        " and m.kind = any(w.events) returning 1)"
        " select count(*) from queued",
        [n.user_id for n in notifications],
        [n.kind for n in notifications],
        [message_id for message_id, _ in messages],
        [body.decode() for _, body in messages],
    )
    if queued:
        await conn.execute("select pg_notify($1, '')", WEBHOOK_CHANNEL)


def retry_delay(attempt: int, first_retry_s: float, rng: random.Random | None = None) -> float:
    """How long to wait after failed attempt ``attempt`` (1 for the first)."""
    base: float = first_retry_s * 3 ** (attempt - 1)
    return base * (rng or random).uniform(0.75, 1.25)


@dataclass(frozen=True, slots=True)
class Claimed:
    """One attempt taken from the queue, with what it needs to be made."""

    delivery_id: uuid.UUID
    attempt: int
    webhook_id: uuid.UUID
    url: str
    message_id: str
    body: bytes
    secrets: tuple[str, ...]
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class Disabled:
    """An endpoint ``finish`` disabled: whose it was, and why."""

    webhook_id: uuid.UUID
    recruiter_id: uuid.UUID
    url: str
    reason: str


class Webhooks:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    # --- endpoints --------------------------------------------------------------------------

    async def create(self, recruiter_id: uuid.UUID, url: str, events: Sequence[str]) -> Any:
        """A new endpoint with a new secret; None when the recruiter has too many."""
        secret = signing.new_secret()
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialises one recruiter's creations, so the limit holds under concurrency (the
            # two-key form: a key space apart from the migrations' lock).
            await conn.execute(
                "select pg_advisory_xact_lock($1, hashtext($2::uuid::text))",
                _CREATE_LOCK,
                recruiter_id,
            )
            count = await conn.fetchval(
                "select count(*) from openhire.webhooks where recruiter_id = $1", recruiter_id
            )
            if count >= MAX_WEBHOOKS:
                return None
            row = await conn.fetchrow(
                "insert into openhire.webhooks (recruiter_id, url, events, secret)"
                f" values ($1, $2, $3, $4) returning {_WEBHOOK_COLUMNS}, secret",
                recruiter_id,
                url,
                list(dict.fromkeys(events)),
                secret,
            )
        return row

    async def of_recruiter(self, recruiter_id: uuid.UUID) -> list[Any]:
        return list(
            await self._pool.fetch(
                f"select {_WEBHOOK_COLUMNS} from openhire.webhooks where recruiter_id = $1"
                " order by created_at desc, id desc",
                recruiter_id,
            )
        )

    async def get(self, recruiter_id: uuid.UUID, webhook_id: uuid.UUID) -> Any:
        """The recruiter's endpoint; None if there is none of theirs with this id."""
        return await self._pool.fetchrow(
            f"select {_WEBHOOK_COLUMNS} from openhire.webhooks where id = $1 and recruiter_id = $2",
            webhook_id,
            recruiter_id,
        )

    async def update(
        self,
        recruiter_id: uuid.UUID,
        webhook_id: uuid.UUID,
        *,
        url: str | None,
        events: Sequence[str] | None,
        enabled: bool | None,
    ) -> Any:
        return await self._pool.fetchrow(
            "update openhire.webhooks set url = coalesce($3, url),"
            " events = coalesce($4, events), enabled = coalesce($5, enabled),"
            " disabled_reason = case when coalesce($5, enabled) then null else"
            " coalesce(disabled_reason, 'disabled by its owner') end, updated_at = now()"
            f" where id = $1 and recruiter_id = $2 returning {_WEBHOOK_COLUMNS}",
            webhook_id,
            recruiter_id,
            url,
            list(dict.fromkeys(events)) if events is not None else None,
            enabled,
        )

    async def delete(self, recruiter_id: uuid.UUID, webhook_id: uuid.UUID) -> bool:
        deleted = await self._pool.fetchval(
            "delete from openhire.webhooks where id = $1 and recruiter_id = $2 returning 1",
            webhook_id,
            recruiter_id,
        )
        return deleted is not None

    async def rotate_secret(self, recruiter_id: uuid.UUID, webhook_id: uuid.UUID) -> Any:
        """A new secret; the current one keeps signing beside it for ``SECRET_OVERLAP_S``."""
        return await self._pool.fetchrow(
            "update openhire.webhooks set previous_secret = secret, secret = $3,"
            " previous_secret_until = now() + make_interval(secs => $4), updated_at = now()"
            f" where id = $1 and recruiter_id = $2 returning {_WEBHOOK_COLUMNS}, secret",
            webhook_id,
            recruiter_id,
            signing.new_secret(),
            SECRET_OVERLAP_S,
        )

    async def enqueue_test(self, webhook_id: uuid.UUID, kind: str, data: dict[str, Any]) -> Any:
        """Queue a test message to one endpoint; returns the delivery."""
        body = message_body(kind, datetime.now(UTC), data)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "insert into openhire.webhook_deliveries (webhook_id, message_id, kind, body)"
                " values ($1, $2, $3, $4) returning id",
                webhook_id,
                f"msg_{uuid.uuid4().hex}",
                kind,
                body.decode(),
            )
            assert row is not None
            await conn.execute("select pg_notify($1, '')", WEBHOOK_CHANNEL)
        return await self.delivery(webhook_id, row["id"])

    # --- deliveries -------------------------------------------------------------------------

    async def deliveries(
        self,
        webhook_id: uuid.UUID,
        *,
        state: str | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Any]:
        """Newest first, each with its attempts."""
        rows = await self._pool.fetch(
            f"{_SELECT_DELIVERY} where d.webhook_id = $1 and ($2::text is null or d.state = $2)"
            " and ($3::timestamptz is null or (d.created_at, d.id) < ($3, $4::uuid))"
            " order by d.created_at desc, d.id desc limit $5",
            webhook_id,
            state,
            before[0] if before else None,
            before[1] if before else None,
            limit,
        )
        return list(rows)

    async def delivery(self, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
        return await self._pool.fetchrow(
            f"{_SELECT_DELIVERY} where d.webhook_id = $1 and d.id = $2", webhook_id, delivery_id
        )

    async def resend(self, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
        """Queue a finished delivery's message again, as a new delivery with the same message
        id and body; None if there is no such delivery, False if it is still pending."""
        async with self._pool.acquire() as conn, conn.transaction():
            old = await conn.fetchrow(
                "select state, message_id, kind, body from openhire.webhook_deliveries"
                " where id = $1 and webhook_id = $2",
                delivery_id,
                webhook_id,
            )
            if old is None:
                return None
            if old["state"] == "pending":  # its attempts go on
                return False
            new_id = await conn.fetchval(
                "insert into openhire.webhook_deliveries (webhook_id, message_id, kind, body)"
                " values ($1, $2, $3, $4) returning id",
                webhook_id,
                old["message_id"],
                old["kind"],
                old["body"],
            )
            await conn.execute("select pg_notify($1, '')", WEBHOOK_CHANNEL)
        return await self.delivery(webhook_id, new_id)

    # --- the queue --------------------------------------------------------------------------

    async def claim(self, limit: int, lease_s: float) -> list[Claimed]:
        """Take up to ``limit`` due deliveries of enabled endpoints, each for one attempt."""
        rows = await self._pool.fetch(
            "with due as (select d.id from openhire.webhook_deliveries d"
            " join openhire.webhooks w on w.id = d.webhook_id and w.enabled"
            " where d.state = 'pending' and d.next_attempt_at <= now()"
            " order by d.next_attempt_at limit $1 for update of d skip locked),"
            " claimed as (update openhire.webhook_deliveries d"
            " set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)"
            " from due where d.id = due.id"
            " returning d.id, d.attempts, d.webhook_id, d.message_id, d.body, d.created_at),"
            " started as (insert into openhire.webhook_attempts (delivery_id, number)"
            " select id, attempts from claimed)"
            " select c.*, w.url, w.secret,"
            " case when w.previous_secret_until > now() then w.previous_secret end"
            " as previous_secret"
            " from claimed c join openhire.webhooks w on w.id = c.webhook_id",
            limit,
            lease_s,
        )
        return [
            Claimed(
                delivery_id=row["id"],
                attempt=row["attempts"],
                webhook_id=row["webhook_id"],
                url=row["url"],
                message_id=row["message_id"],
                body=row["body"].encode(),
                secrets=tuple(s for s in (row["secret"], row["previous_secret"]) if s),
                queued_at=row["created_at"],
            )
            for row in rows
        ]

    async def seconds_to_next_due(self) -> float | None:
        """How long until the next pending delivery is due (0 if one is); None if none."""
        value = await self._pool.fetchval(
            "select extract(epoch from min(next_attempt_at) - now())::float8"
            " from openhire.webhook_deliveries where state = 'pending'"
        )
        return None if value is None else max(0.0, float(value))

    async def finish(
        self,
        conn: Connection,
        claimed: Claimed,
        answer: Answer,
        *,
        max_attempts: int,
        first_retry_s: float,
    ) -> Disabled | None:
        """Record an attempt's answer within ``conn``'s transaction and schedule what follows;
        returns the endpoint if this disabled it (the caller notifies its owner)."""
        await conn.execute(
            "update openhire.webhook_attempts set latency_ms = $3, status_code = $4,"
            " outcome = $5, error = $6 where delivery_id = $1 and number = $2",
            claimed.delivery_id,
            claimed.attempt,
            answer.latency_ms,
            answer.status_code,
            answer.outcome,
            None if answer.outcome == "delivered" else answer.detail,
        )
        fence = "where id = $1 and attempts = $2 and state = 'pending'"
        if answer.outcome == "delivered":
            done = await conn.fetchval(
                "update openhire.webhook_deliveries set state = 'delivered', finished_at = now(),"
                f" last_status = $3, last_error = null {fence} returning 1",
                claimed.delivery_id,
                claimed.attempt,
                answer.status_code,
            )
            if done:
                # At most once a second: every delivery of a busy endpoint would otherwise
                # queue on this one row's lock (the figure in docs/benchmarks.md). A second's
                # grain is plenty for "has it delivered anything since?".
                await conn.execute(
                    "update openhire.webhooks set last_success_at = now() where id = $1"
                    " and (last_success_at is null or last_success_at < now() - interval '1 s')",
                    claimed.webhook_id,
                )
            return None
        error = _error_text(answer)
        gone = answer.status_code == 410
        if claimed.attempt < max_attempts and not gone:
            delay = retry_delay(claimed.attempt, first_retry_s)
            if answer.retry_after_s is not None:
                delay = max(delay, min(answer.retry_after_s, MAX_RETRY_AFTER_S))
            await conn.execute(
                "update openhire.webhook_deliveries set next_attempt_at = now()"
                f" + make_interval(secs => $3), last_status = $4, last_error = $5 {fence}",
                claimed.delivery_id,
                claimed.attempt,
                delay,
                answer.status_code,
                error,
            )
            return None
        failed = await conn.fetchval(
            "update openhire.webhook_deliveries set state = 'failed', finished_at = now(),"
            f" last_status = $3, last_error = $4 {fence} returning 1",
            claimed.delivery_id,
            claimed.attempt,
            answer.status_code,
            error,
        )
        if not failed:
            return None
        if gone:
            reason = "the endpoint answered 410 Gone"
        else:
            reason = f"every attempt of a message failed for {max_attempts} attempts: {error}"
        row = await conn.fetchrow(
            "update openhire.webhooks set enabled = false, disabled_reason = $3,"
            " updated_at = now() where id = $1 and enabled"
            " and ($2 or last_success_at is null or last_success_at < $4)"
            " returning recruiter_id, url",
            claimed.webhook_id,
            gone,
            reason[:500],
            claimed.queued_at,
        )
        if row is None:
            return None
        await conn.execute(
            "update openhire.webhook_deliveries set state = 'failed', finished_at = now(),"
            " last_error = 'the endpoint was disabled' where webhook_id = $1"
            " and state = 'pending'",
            claimed.webhook_id,
        )
        return Disabled(claimed.webhook_id, row["recruiter_id"], row["url"], reason)


_SELECT_DELIVERY = (
    "select d.id, d.webhook_id, d.message_id, d.kind, d.state, d.attempts, d.next_attempt_at,"
    " d.last_status, d.last_error, d.created_at, d.finished_at,"
    " (select coalesce(jsonb_agg(jsonb_build_object('number', a.number, 'started_at',"
    " a.started_at, 'latency_ms', a.latency_ms, 'status_code', a.status_code, 'outcome',"
    " a.outcome, 'error', a.error) order by a.number), '[]'::jsonb)"
    " from openhire.webhook_attempts a where a.delivery_id = d.id) as attempt_list"
    " from openhire.webhook_deliveries d"
)


def _error_text(answer: Answer) -> str:
    if answer.status_code is not None:
        said = f": {answer.detail}" if answer.detail else ""
        return f"answered {answer.status_code}{said}"[:500]
    return (answer.detail or answer.outcome)[:500]
