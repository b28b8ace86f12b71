"""Password reset for the embedded identity: a single-use link that expires.

``POST /auth/recover`` always answers the same (202), whether the email has an account or not,
and does about the same work (no email is sent while the client waits): every request is a row
of ``openhire.password_resets``; only one for an existing account gets a token (its SHA-256
stored, the token itself kept in ``mail_token`` until the mailer has sent it, then cleared).
Without SMTP (``OPENHIRE_SMTP_URL`` unset) no email can go out: an operator runs
``openhire users reset-password EMAIL``, which prints a link made the same way. The link opens
the app at ``#/reset?token=...``; ``POST /auth/reset`` spends the token once, sets the
password, and ends every sign-in of the account (its refresh tokens; an access token already
issued lives out its hour).

Limits: ``ADDRESS_LIMIT`` requests per client address per ``WINDOW_S`` (then 429, which says
nothing about any account), and ``EMAIL_LIMIT`` emails per account per window (past it the
request is accepted and nothing is sent, so a mailbox cannot be flooded).
"""

from __future__ import annotations

import secrets
import uuid
from email.message import EmailMessage
from email.utils import formataddr
from typing import TYPE_CHECKING

import aiosmtplib
import structlog

from server.auth.refresh import RefreshTokens, token_hash
from server.errors import ApiError, RateLimited
from server.notify.notices import EMAIL_CHANNEL

if TYPE_CHECKING:
    from server.notify.email import SmtpServer
    from server.store.database import Connection, Pool

log = structlog.get_logger(__name__)

WINDOW_S = 3600
ADDRESS_LIMIT = 20
EMAIL_LIMIT = 3
MAIL_ATTEMPTS = 5
SEND_TIMEOUT_S = 30.0


class InvalidResetToken(ApiError):
    # 403, as Supabase Auth answers a link that is invalid or has expired.
    status = 403
    code = "invalid_reset_token"


async def _check_address(conn: Connection, address: str) -> None:
    # Serialised per address, so that concurrent requests cannot all pass the count.
    await conn.execute("select pg_advisory_xact_lock(hashtext('password_reset:' || $1))", address)
    recent = await conn.fetchval(
        "select count(*) from openhire.password_resets where address = $1"
        " and requested_at > now() - make_interval(secs => $2)",
        address,
        float(WINDOW_S),
    )
    if recent >= ADDRESS_LIMIT:
        raise RateLimited(
            "too many password reset requests from this address; try again later",
            headers={"Retry-After": str(WINDOW_S)},
        )


def reset_link(app_url: str, token: str) -> str:
    return f"{app_url.rstrip('/')}/#/reset?token={token}"


async def create_reset_token(
    conn: Connection, user_id: uuid.UUID, email: str, ttl_s: int, *, address: str, mail: bool
) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "insert into openhire.password_resets (email, address, user_id, token_hash, expires_at,"
        " mail_token) values ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)",
        email,
        address,
        user_id,
        token_hash(token),
        float(ttl_s),
        token if mail else None,
    )
    return token


class PasswordResets:
    def __init__(self, pool: Pool, ttl_s: int, *, mail: bool) -> None:
        self._pool = pool
        self.ttl_s = ttl_s
        self.mail = mail

    async def note_request(self, email: str, address: str) -> None:
        """Count a request that another service answers (Supabase Auth's recovery) against
        the address's limit; RateLimited past it."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _check_address(conn, address)
            await conn.execute(
                "insert into openhire.password_resets (email, address) values ($1, $2)",
                email,
                address,
            )

    async def request(self, email: str, address: str) -> bool:
        """Record the request and, for an account within its limit, queue the email. True
        when an email was queued (for the log and tests; never for the client)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _check_address(conn, address)
            user_id = await conn.fetchval(
                "select id from auth.users where lower(email) = lower($1)", email
            )
            sent = 0
            if user_id is not None:
                sent = await conn.fetchval(
                    "select count(*) from openhire.password_resets where user_id = $1"
                    " and token_hash is not null"
                    " and requested_at > now() - make_interval(secs => $2)",
                    user_id,
                    float(WINDOW_S),
                )
            if user_id is None or not self.mail or sent >= EMAIL_LIMIT:
                await conn.execute(
                    "insert into openhire.password_resets (email, address) values ($1, $2)",
                    email,
                    address,
                )
                return False
            await create_reset_token(conn, user_id, email, self.ttl_s, address=address, mail=True)
            await conn.execute("select pg_notify($1, '')", EMAIL_CHANNEL)
            return True

    async def redeem(
        self, token: str, password_hash: str, refresh_tokens: RefreshTokens
    ) -> uuid.UUID:
        """Spend the token and set the password; InvalidResetToken when it is unknown, used
        or expired."""
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "update openhire.password_resets set used_at = now(), mail_token = null"
                " where token_hash = $1 and used_at is null and expires_at > now()"
                " returning user_id",
                token_hash(token),
            )
            if user_id is None:
                raise InvalidResetToken(
                    "this password reset link is not valid: it was used already, has expired,"
                    " or was copied wrongly; ask for a new one"
                )
            await conn.execute(
                "update auth.users set encrypted_password = $2, updated_at = now() where id = $1",
                user_id,
                password_hash,
            )
            # Every other link of the account stops working too.
            await conn.execute(
                "update openhire.password_resets set used_at = now(), mail_token = null"
                " where user_id = $1 and used_at is null",
                user_id,
            )
            await refresh_tokens.revoke_user(conn, user_id)
        log.info("auth.password_reset", user_id=str(user_id))
        return uuid.UUID(str(user_id))


def compose_reset_email(
    full_name: str, email: str, link: str, ttl_s: int, sender: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((full_name, email))
    message["Subject"] = "Reset your OpenHire password"
    minutes = max(1, ttl_s // 60)
    message.set_content(
        "\n".join(
            [
                f"Hello {full_name},",
                "",
                "Someone (we hope you) asked to reset the password of your OpenHire account."
                " To choose a new one, open this link:",
                "",
                link,
                "",
                f"The link works once, for {minutes} minutes. If you did not ask, ignore this"
                " email: your password stays as it is.",
                "",
                "OpenHire",
            ]
        )
    )
    return message


async def send_next_reset_email(pool: Pool, server: SmtpServer, app_url: str) -> bool:
    """Send one queued reset email (claimed with skip locked, as the notification emails);
    False when none is due."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "select r.id, r.mail_token, r.mail_attempts, r.email,"
            " extract(epoch from r.expires_at - r.requested_at)::int as ttl_s,"
            " coalesce(u.full_name, r.email) as full_name"
            " from openhire.password_resets r left join public.users u on u.id = r.user_id"
            " where r.mail_token is not null and r.next_attempt_at <= now()"
            " and r.used_at is null and r.expires_at > now()"
            " order by r.next_attempt_at limit 1 for update of r skip locked"
        )
        if row is None:
            return False
        message = compose_reset_email(
            row["full_name"],
            row["email"],
            reset_link(app_url, row["mail_token"]),
            row["ttl_s"],
            server.sender,
        )
        try:
            await aiosmtplib.send(
                message,
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                timeout=SEND_TIMEOUT_S,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            attempts = row["mail_attempts"] + 1
            given_up = attempts >= MAIL_ATTEMPTS
            await conn.execute(
                "update openhire.password_resets set mail_attempts = $2,"
                " mail_token = case when $3 then null else mail_token end,"
                " next_attempt_at = now() + make_interval(secs => $4) where id = $1",
                row["id"],
                attempts,
                given_up,
                30.0 * 2 ** (attempts - 1),
            )
            log.warning(
                "auth.reset_email_failed", attempts=attempts, given_up=given_up, error=str(exc)
            )
            return True
        await conn.execute(
            "update openhire.password_resets set mail_token = null, sent_at = now(),"
            " mail_attempts = mail_attempts + 1 where id = $1",
            row["id"],
        )
        log.info("auth.reset_email_sent")
        return True
