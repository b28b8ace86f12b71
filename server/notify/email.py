"""Email, where ``OPENHIRE_SMTP_URL`` is set: a candidate is emailed when an interview is
scheduled for them (with the link to take it) and when it is about to expire.

The email is queued in ``openhire.email_outbox`` in the notification's own transaction (only
when SMTP is configured: unset, nothing is queued, sent, or failing), and sent by ``Mailer``,
one task per server: it claims one due email at a time with ``for update skip locked`` and
holds the row while it talks to the SMTP server, so several servers never send the same email
at once, and one that dies mid-send leaves the row to be sent again (at least once). A failed
send is retried after 1, 2, 4 ... minutes, eight times, then given up and logged.

``OPENHIRE_SMTP_URL``: ``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers
it, port 587 by default) or ``smtps://...`` (TLS from the start, port 465), with an optional
``?from=`` address (default ``OpenHire <no-reply@host>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

from server.auth.recovery import send_next_reset_email
from server.background import BackgroundTask
from server.errors import ConfigurationError
from server.notify.notices import EMAIL_CHANNEL
from server.store.database import Connection, Pool

if TYPE_CHECKING:
    from server.notify.notifications import Notifications

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_S = 60.0
SEND_TIMEOUT_S = 30.0


async def enqueue(conn: Connection, notification_ids: Sequence[uuid.UUID]) -> None:
    """Queue the emails of these notifications within ``conn``'s transaction."""
    if not notification_ids:
        return
    await conn.execute(
        "insert into openhire.email_outbox (notification_id) select unnest($1::uuid[])",
        list(notification_ids),
    )
    await conn.execute("select pg_notify($1, '')", EMAIL_CHANNEL)


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpServer:
    """``OPENHIRE_SMTP_URL`` taken apart; ConfigurationError (never echoing a password)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError("OPENHIRE_SMTP_URL is not a valid URL") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(
            "OPENHIRE_SMTP_URL must look like smtp://user:password@host:587 or"
            " smtps://user:password@host:465 (add ?from=you@example.com to set the sender)"
        )
    query = parse_qs(parts.query)
    sender = query.get("from", [f"OpenHire <no-reply@{parts.hostname}>"])[0]
    if "@" not in parseaddr(sender)[1]:
        raise ConfigurationError(
            f"OPENHIRE_SMTP_URL's from= must be an email address, got {sender!r}"
        )
    use_tls = parts.scheme == "smtps"
    return SmtpServer(
        hostname=parts.hostname,
        port=port or (465 if use_tls else 587),
        use_tls=use_tls,
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%A %d %B %Y, %H:%M UTC")


def compose(row: Any, app_url: str, sender: str) -> EmailMessage:
    """The email of one notification (with its recipient's address and name)."""
    payload = row["payload"]
    title = payload.get("job_title", "your application")
    link = f"{app_url}/#/interviews/{row['interview_id']}/room"
    expires = payload.get("expires_at")
    until = ""
    if expires:
        until = datetime.fromisoformat(expires).strftime("%A %d %B %Y, %H:%M UTC")
    if row["kind"] == "interview.scheduled":
        subject = f"Your interview for {title} is ready"
        lines = [
            f"Your interview for {title} has been scheduled. You can take it whenever you are"
            " ready, in your browser:",
            "",
            link,
        ]
        opens, closes = payload.get("opens_at"), payload.get("closes_at")
        if opens or closes:
            # The scheduling window (UTC here: the app shows it in the candidate's own zone).
            start = _when(opens) if opens else "now"
            end = f" until {_when(closes)}" if closes else ""
            lines += ["", f"You can start it from {start}{end}."]
        elif until:
            lines += ["", f"It is open until {until}."]
    else:
        subject = f"Your interview for {title} expires soon"
        lines = [
            f"You have not taken your interview for {title} yet. It expires on {until}; after"
            " that it can no longer be started.",
            "",
            link,
        ]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((row["full_name"], row["email"]))
    message["Subject"] = subject
    message.set_content("\n".join([f"Hello {row['full_name']},", "", *lines, "", "OpenHire"]))
    return message


class Mailer:
    """Sends the queued emails, one at a time. Owned by the lifespan: ``start``, ``close``."""

    def __init__(
        self,
        pool: Pool,
        notifications: Notifications,
        server: SmtpServer,
        app_url: str,
        *,
        poll_s: float = 30.0,
    ) -> None:
        self._pool = pool
        self._notifications = notifications
        self.server = server
        self.app_url = app_url.rstrip("/")
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._task = BackgroundTask(self._run, name="mailer")

    def start(self) -> None:
        self._task.start()

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.send_one():
                    pass
                # Password reset links (server/auth/recovery.py) go out by the same server.
                while await send_next_reset_email(self._pool, self.server, self.app_url):
                    pass
            except Exception as exc:  # the database went away: the next round tries again
                log.warning("email.queue_failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()

    async def send_one(self) -> bool:
        """Send the next due email; False when none is due."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await conn.fetchrow(
                "select notification_id, attempts from openhire.email_outbox"
                " where sent_at is null and next_attempt_at <= now()"
                " order by next_attempt_at limit 1 for update skip locked"
            )
            if claimed is None:
                return False
            notification_id = claimed["notification_id"]
            row = await self._notifications.with_recipient(conn, notification_id)
            try:
                await aiosmtplib.send(
                    compose(row, self.app_url, self.server.sender),
                    hostname=self.server.hostname,
                    port=self.server.port,
                    username=self.server.username,
                    password=self.server.password,
                    use_tls=self.server.use_tls,
                    timeout=SEND_TIMEOUT_S,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                attempts = claimed["attempts"] + 1
                given_up = attempts >= MAX_ATTEMPTS
                await conn.execute(
                    "update openhire.email_outbox set attempts = $2, last_error = $3,"
                    " next_attempt_at = case when $4 then 'infinity'::timestamptz"
                    " else now() + make_interval(secs => $5) end where notification_id = $1",
                    notification_id,
                    attempts,
                    f"{type(exc).__name__}: {exc}"[:500],
                    given_up,
                    FIRST_RETRY_S * 2 ** (attempts - 1),
                )
                log.warning(
                    "email.send_failed",
                    notification_id=str(notification_id),
                    attempts=attempts,
                    given_up=given_up,
                    error=type(exc).__name__,
                )
                return True
            await conn.execute(
                "update openhire.email_outbox set sent_at = now(), attempts = attempts + 1"
                " where notification_id = $1",
                notification_id,
            )
            log.info("email.sent", notification_id=str(notification_id), kind=row["kind"])
            return True
