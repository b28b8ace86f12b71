"""The notification machinery of one running server, opened and closed by the lifespan: the
listener (live streams, wake-ups), the webhook dispatcher and its HTTP client, the mailer
(with SMTP configured) and the expiry scheduler."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from server.config import Settings
from server.errors import ConfigurationError
from server.notify.dispatcher import WebhookDispatcher
from server.notify.email import Mailer, parse_smtp_url
from server.notify.expiry import ExpiryScheduler
from server.notify.notifications import Notifications
from server.notify.stream import NotificationHub
from server.notify.targets import WebhookSender
from server.notify.webhooks import Webhooks
from server.store.database import Pool
from server.store.interview_log import InterviewLog


@dataclass(slots=True)
class Notify:
    notifications: Notifications
    webhooks: Webhooks
    hub: NotificationHub
    dispatcher: WebhookDispatcher
    sender: WebhookSender
    expiry: ExpiryScheduler
    mailer: Mailer | None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        dsn: str,
        pool: Pool,
        notifications: Notifications,
        interview_log: InterviewLog,
        app_url: str,
    ) -> Notify:
        """Everything made and the listener connected; nothing runs until ``start``."""
        mailer = None
        if settings.smtp_url is not None:
            try:
                smtp = parse_smtp_url(settings.smtp_url)
            except ConfigurationError as exc:
                print(f"openhire: {exc}", file=sys.stderr, flush=True)
                raise
            mailer = Mailer(pool, notifications, smtp, settings.public_url or app_url)
        webhooks = Webhooks(pool)
        sender = WebhookSender(
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.webhooks_allow_private,
            connections=settings.webhook_concurrency,
        )
        dispatcher = WebhookDispatcher(
            pool,
            webhooks,
            notifications,
            sender,
            concurrency=settings.webhook_concurrency,
            max_attempts=settings.webhook_max_attempts,
            first_retry_s=settings.webhook_first_retry_s,
        )
        hub = NotificationHub(
            dsn,
            settings,
            max_queued=settings.notifications_stream_queue,
            on_webhooks=dispatcher.wake,
            on_email=mailer.wake if mailer is not None else lambda: None,
        )
        try:
            await hub.connect()
        except BaseException:
            await sender.aclose()
            raise
        expiry = ExpiryScheduler(
            pool,
            interview_log,
            notifications,
            every_s=settings.expiry_check_every_s,
            remind_before_s=settings.expiry_reminder_before_s,
        )
        return cls(notifications, webhooks, hub, dispatcher, sender, expiry, mailer)

    def start(self) -> None:
        self.hub.start()
        self.dispatcher.start()
        self.expiry.start()
        if self.mailer is not None:
            self.mailer.start()

    async def close(self, within_s: float) -> None:
        await self.expiry.close()
        if self.mailer is not None:
            await self.mailer.close()
        await self.dispatcher.close(within_s)
        await self.sender.aclose()
        await self.hub.close()
