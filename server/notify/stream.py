"""Live notifications: one listener per server, a bounded queue per open stream.

``NotificationHub`` holds one PostgreSQL connection of its own that LISTENs: PostgreSQL hands
every server each committed notification (``notifications.record`` NOTIFYs it in the writing
transaction, so it arrives at commit, in commit order), and the wake-ups of the webhook and
email queues. The hub puts each notification on the queue of every stream of its recipient on
this server. A queue is bounded: a stream that cannot keep up (its client reads too slowly, or
a burst outruns it) is dropped, and its client resumes from the last event it got.

``events`` is one stream: subscribed first, then the recipient's notifications after the
resume point are read from the database and sent, then the live ones, skipping what the read
already sent. A recipient's numbers are dense and commit in order, so a live notification
numbered beyond the next expected one means some were missed (the listener's connection was
lost and made again): those are read from the database before it. No gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from enum import Enum
from typing import Any

import asyncpg
import orjson
import structlog

from server.background import BackgroundTask
from server.config import Settings
from server.notify.notices import EMAIL_CHANNEL, STREAM_CHANNEL, WEBHOOK_CHANNEL, Notification
from server.notify.notifications import Notifications
from server.store.database import connect_options, parse_database_url

log = structlog.get_logger(__name__)

# Read from the database a page at a time when a stream resumes or fills a gap.
REPLAY_PAGE = 200


class Signal(Enum):
    # Something may have been missed: read the database from the last number sent.
    RESYNC = "resync"
    # The queue overflowed: end the stream (its client resumes from its last event).
    DROPPED = "dropped"


class Subscription:
    """One stream's queue of live notifications."""

    def __init__(self, user_id: uuid.UUID, max_queued: int) -> None:
        self.user_id = user_id
        self._queue: asyncio.Queue[Notification | Signal] = asyncio.Queue(max_queued)
        self.dropped = False

    def offer(self, item: Notification | Signal) -> None:
        if self.dropped:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            # What is queued is no use to a stream that is ending: make room for the news.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(Signal.DROPPED)

    async def next(self) -> Notification | Signal:
        return await self._queue.get()


class NotificationHub:
    """The server's LISTEN connection and the open streams' subscriptions. Owned by the
    lifespan: ``start`` once, ``close`` at shutdown."""

    def __init__(
        self,
        dsn: str,
        settings: Settings,
        *,
        max_queued: int,
        on_webhooks: Callable[[], None] = lambda: None,
        on_email: Callable[[], None] = lambda: None,
        check_every_s: float = 30.0,
    ) -> None:
        self._target = parse_database_url(dsn)
        # Its own name in pg_stat_activity: one connection beside the pool, held for LISTEN.
        self._options = connect_options(self._target, settings) | {
            "server_settings": {"application_name": "openhire-listen"}
        }
        self.max_queued = max_queued
        self.on_webhooks = on_webhooks
        self.on_email = on_email
        self.check_every_s = check_every_s
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = {}
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._lost = asyncio.Event()
        self._task = BackgroundTask(self._keep_listening, name="notification-listener")

    @property
    def streams(self) -> int:
        return sum(len(subs) for subs in self._subscriptions.values())

    async def connect(self) -> None:
        """LISTEN from now on (notifications reach the streams; nothing else runs yet)."""
        if self._target.transaction_pooler:
            # A transaction pooler hands the connection to others between transactions: a
            # NOTIFY may never reach this LISTEN. Streams then only catch up when they reconnect.
            log.warning(
                "notifications.listen_through_transaction_pooler",
                advice="use the direct connection or the session pooler (port 5432) for"
                " DATABASE_URL: live notifications need a session",
            )
        await self._listen()

    def start(self) -> None:
        """Watch the connection, and make it again when it is lost."""
        self._task.start()

    async def close(self) -> None:
        await self._task.close()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 5)
            self._conn = None

    def subscribe(self, user_id: uuid.UUID) -> Subscription:
        subscription = Subscription(user_id, self.max_queued)
        self._subscriptions.setdefault(user_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subs = self._subscriptions.get(subscription.user_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscriptions[subscription.user_id]

    # --- the listener -----------------------------------------------------------------------

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._target.dsn, **self._options)
        self._lost.clear()
        conn.add_termination_listener(lambda _: self._lost.set())
        await conn.add_listener(STREAM_CHANNEL, self._on_notification)
        await conn.add_listener(WEBHOOK_CHANNEL, lambda *_: self.on_webhooks())
        await conn.add_listener(EMAIL_CHANNEL, lambda *_: self.on_email())
        self._conn = conn

    async def _keep_listening(self) -> None:
        """Watch the connection (a check every ``check_every_s`` finds one that died without
        a word); when it is lost, make it again, then have every stream read what it may have
        missed meanwhile and the queues' workers look again."""
        delay = 0.5
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.check_every_s):
                    await self._lost.wait()
            conn = self._conn
            if not self._lost.is_set() and conn is not None:
                try:
                    await asyncio.wait_for(conn.fetchval("select 1"), 10)
                    continue
                except Exception:
                    self._lost.set()
            log.warning("notifications.listener_lost")
            if conn is not None:
                conn.terminate()
                self._conn = None
            while True:
                try:
                    await self._listen()
                    break
                except Exception as exc:
                    log.warning("notifications.listen_failed", error=f"{type(exc).__name__}")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
            delay = 0.5
            log.info("notifications.listener_back")
            for subs in self._subscriptions.values():
                for subscription in subs:
                    subscription.offer(Signal.RESYNC)
            self.on_webhooks()
            self.on_email()

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            notification = Notification.from_json(orjson.loads(payload))
        except (ValueError, KeyError, TypeError):
            log.error("notifications.bad_payload")
            return
        for subscription in self._subscriptions.get(notification.user_id, ()):
            subscription.offer(notification)


async def events(
    hub: NotificationHub,
    notifications: Notifications,
    user_id: uuid.UUID,
    since: int | None,
) -> AsyncIterator[int | Notification]:
    """One stream: first the number it starts after (``since``, or with None the latest
    one's: from now on), so that a client dropped before any notification still knows where
    to resume; then the notifications, in order. Ends when the stream is dropped for falling
    behind."""
    subscription = hub.subscribe(user_id)
    try:
        if since is None:
            _, since = await notifications.counts(user_id)
        sent = since
        yield since

        async def missed() -> AsyncIterator[Notification]:
            nonlocal sent
            while True:
                page = await notifications.after(user_id, sent, REPLAY_PAGE)
                for notification in page:
                    sent = notification.seq
                    yield notification
                if len(page) < REPLAY_PAGE:
                    return

        async for notification in missed():
            yield notification
        while True:
            item = await subscription.next()
            if item is Signal.DROPPED:
                log.info("notifications.stream_dropped", user_id=str(user_id), last_seq=sent)
                return
            if item is Signal.RESYNC or (isinstance(item, Notification) and item.seq > sent + 1):
                async for notification in missed():
                    yield notification
            elif isinstance(item, Notification) and item.seq == sent + 1:
                sent = item.seq
                yield item
    finally:
        hub.unsubscribe(subscription)
