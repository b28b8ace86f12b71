"""The embedded identity's refresh tokens: how a browser stays signed in across tabs and
restarts without keeping a long-lived secret where scripts can read it.

A refresh token is 32 random bytes; only its SHA-256 is stored (``openhire.refresh_tokens``).
Every use rotates it: the token presented is marked ``rotated_at`` and a successor of the same
*family* is issued. A token presented again after its rotation is either a second tab renewing
at the same moment (within ``REUSE_GRACE_S``: it gets an access token but no new refresh token,
the browser's cookie already holds the successor) or a stolen copy being replayed: then the
whole family is revoked and every holder must log in again. Logging out and resetting the
password revoke too. docs/security.md ("Staying signed in") says why a cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from server.errors import Unauthorized

if TYPE_CHECKING:
    from server.store.database import Connection, Pool

log = structlog.get_logger(__name__)

# Two tabs waking together both present the same cookie: the second is not an attack.
REUSE_GRACE_S = 10.0


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def invalid_refresh_token() -> Unauthorized:
    return Unauthorized(
        "the sign-in has ended or is not valid; log in again", code="invalid_refresh_token"
    )


@dataclass(frozen=True, slots=True)
class Renewal:
    user_id: uuid.UUID
    # None when the token was renewed a moment ago by another tab: keep the newer one.
    refresh_token: str | None


class RefreshTokens:
    def __init__(self, pool: Pool, ttl_s: int) -> None:
        self._pool = pool
        self.ttl_s = ttl_s

    async def issue(
        self, user_id: uuid.UUID, *, family: uuid.UUID | None = None, conn: Connection | None = None
    ) -> str:
        token = secrets.token_urlsafe(32)
        await (conn or self._pool).execute(
            "insert into openhire.refresh_tokens (token_hash, user_id, family, expires_at)"
            " values ($1, $2, $3, now() + make_interval(secs => $4))",
            token_hash(token),
            user_id,
            family or uuid.uuid4(),
            float(self.ttl_s),
        )
        return token

    async def rotate(self, token: str) -> Renewal:
        """The user the token signs in, and its successor; Unauthorized
        (``invalid_refresh_token``) for an unknown, expired, revoked or replayed token."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "select user_id, family, expires_at <= now() as expired, revoked_at,"
                " extract(epoch from now() - rotated_at)::float8 as rotated_ago"
                " from openhire.refresh_tokens where token_hash = $1 for update",
                token_hash(token),
            )
            if row is None or row["expired"] or row["revoked_at"] is not None:
                raise invalid_refresh_token()
            if row["rotated_ago"] is None:
                await conn.execute(
                    "update openhire.refresh_tokens set rotated_at = now() where token_hash = $1",
                    token_hash(token),
                )
                successor = await self.issue(row["user_id"], family=row["family"], conn=conn)
                return Renewal(row["user_id"], successor)
            if row["rotated_ago"] <= REUSE_GRACE_S:
                return Renewal(row["user_id"], None)
            # Committed as the block ends, though the request fails: the family stays revoked.
            await conn.execute(
                "update openhire.refresh_tokens set revoked_at = now()"
                " where family = $1 and revoked_at is null",
                row["family"],
            )
        log.warning("auth.refresh_token_reused", user_id=str(row["user_id"]))
        raise invalid_refresh_token()

    async def revoke(self, token: str) -> None:
        """Log out: the token's whole family, so no tab's copy works any longer."""
        await self._pool.execute(
            "update openhire.refresh_tokens set revoked_at = now() where revoked_at is null"
            " and family = (select family from openhire.refresh_tokens where token_hash = $1)",
            token_hash(token),
        )

    async def revoke_user(self, conn: Connection, user_id: uuid.UUID) -> None:
        """Every sign-in of the user (after a password reset)."""
        await conn.execute(
            "update openhire.refresh_tokens set revoked_at = now()"
            " where user_id = $1 and revoked_at is null",
            user_id,
        )
        # Expired and revoked rows are kept a day for the reuse check, then dropped.
        await conn.execute(
            "delete from openhire.refresh_tokens where user_id = $1"
            " and coalesce(revoked_at, expires_at) < now() - interval '1 day'",
            user_id,
        )
