"""The webhook dispatcher: one task per server that takes due deliveries from the queue in
PostgreSQL and makes their attempts, at most ``concurrency`` at once.

It sleeps until the next delivery is due, or until it is woken: by the NOTIFY that queuing a
delivery sends (any server's), or by one of its own attempts ending. It never waits longer than
``poll_s``, so retries another server scheduled are not left waiting. Every attempt is a task
it owns; at shutdown those still running get a bounded time to finish, then are cancelled
(their leases run out, and they are made again: delivery is at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from server.background import BackgroundTask
from server.notify import signing
from server.notify.notices import Notice
from server.notify.notifications import Notifications
from server.notify.targets import WebhookSender
from server.notify.webhooks import Claimed, Webhooks
from server.store.database import Pool

log = structlog.get_logger(__name__)


class WebhookDispatcher:
    def __init__(
        self,
        pool: Pool,
        webhooks: Webhooks,
        notifications: Notifications,
        sender: WebhookSender,
        *,
        concurrency: int,
        max_attempts: int,
        first_retry_s: float,
        poll_s: float = 5.0,
    ) -> None:
        self._pool = pool
        self._webhooks = webhooks
        self._notifications = notifications
        self._sender = sender
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.first_retry_s = first_retry_s
        self.poll_s = poll_s
        # An attempt's lease: longer than it can take (its deadline covers all of it).
        self.lease_s = sender.timeout_s + 10.0
        self._wake = asyncio.Event()
        self._attempts: set[asyncio.Task[None]] = set()
        self._task = BackgroundTask(self._run, name="webhook-dispatcher")

    def start(self) -> None:
        self._task.start()

    def wake(self) -> None:
        self._wake.set()

    async def close(self, within_s: float) -> None:
        await self._task.close()
        if self._attempts:
            _, running = await asyncio.wait(self._attempts, timeout=within_s)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._take_due()
                wait_s = await self._webhooks.seconds_to_next_due()
            except Exception as exc:  # the database went away: try again shortly
                log.warning("webhooks.dispatch_failed", error=f"{type(exc).__name__}: {exc}")
                wait_s = 1.0
            if len(self._attempts) >= self.concurrency or wait_s is None:
                wait_s = self.poll_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait_s, self.poll_s)):
                    await self._wake.wait()
            self._wake.clear()

    async def _take_due(self) -> None:
        while (free := self.concurrency - len(self._attempts)) > 0:
            claimed = await self._webhooks.claim(free, self.lease_s)
            for attempt in claimed:
                task = asyncio.create_task(self._attempt(attempt))
                self._attempts.add(task)
                task.add_done_callback(self._attempt_done)
            if len(claimed) < free:
                return

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._attempts.discard(task)
        self._wake.set()

    async def _attempt(self, claimed: Claimed) -> None:
        headers = signing.headers(
            claimed.secrets, claimed.message_id, int(time.time()), claimed.body
        )
        answer = await self._sender.send(claimed.url, headers, claimed.body)
        log.info(
            "webhooks.attempt",
            delivery_id=str(claimed.delivery_id),
            attempt=claimed.attempt,
            outcome=answer.outcome,
            status=answer.status_code,
            latency_ms=answer.latency_ms,
        )
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                disabled = await self._webhooks.finish(
                    conn,
                    claimed,
                    answer,
                    max_attempts=self.max_attempts,
                    first_retry_s=self.first_retry_s,
                )
                if disabled is not None:
                    await self._notifications.record(
                        conn,
                        [
                            Notice(
                                disabled.recruiter_id,
                                "webhook.disabled",
                                payload={
                                    "webhook_id": str(disabled.webhook_id),
                                    "url": disabled.url[:300],
                                    "reason": disabled.reason[:300],
                                },
                            )
                        ],
                    )
        except Exception as exc:
            # Not recorded: the lease runs out and the attempt is made again.
            log.warning(
                "webhooks.record_failed",
                delivery_id=str(claimed.delivery_id),
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        if disabled is not None:
            log.warning("webhooks.disabled", webhook_id=str(disabled.webhook_id))
