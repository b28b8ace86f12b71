"""The embedded identity provider: the server signs people up and logs them in itself.

Passwords are argon2id hashes in ``auth.users.encrypted_password`` (the column Supabase uses);
tokens are ES256 JWTs with Supabase's claims, signed with the key in
``<data_dir>/jwt_signing_key.pem``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
import asyncpg

from server.auth.passwords import hash_password, verify_password
from server.auth.provider import (
    PROFILE_COLUMNS,
    IdentityProvider,
    IssuedSession,
    Profile,
    Role,
    profile_from_row,
)
from server.auth.tokens import Claims, TokenIssuer, load_or_create_signing_key
from server.config import Settings
from server.errors import Conflict, Unauthorized

if TYPE_CHECKING:
    from server.store.database import Pool


class EmbeddedIdentity(IdentityProvider):
    name = "embedded"

    def __init__(self, pool: Pool, tokens: TokenIssuer) -> None:
        self._pool = pool
        self.tokens = tokens

    @classmethod
    async def create(cls, settings: Settings, pool: Pool) -> EmbeddedIdentity:
        key = await anyio.to_thread.run_sync(
            load_or_create_signing_key, settings.data_dir / "jwt_signing_key.pem"
        )
        tokens = TokenIssuer(key, issuer=settings.jwt_issuer, ttl_s=settings.access_token_ttl_s)
        return cls(pool, tokens)

    async def open(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def sign_up(self, email: str, password: str, full_name: str, role: Role) -> IssuedSession:
        password_hash = await hash_password(password)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                user_id = await conn.fetchval(
                    "insert into auth.users (email, encrypted_password, raw_user_meta_data)"
                    " values ($1, $2, $3) returning id",
                    email,
                    password_hash,
                    {"full_name": full_name},
                )
                row = await conn.fetchrow(
                    "insert into public.users (id, email, full_name, role)"
                    f" values ($1, $2, $3, $4) returning {PROFILE_COLUMNS}",
                    user_id,
                    email,
                    full_name,
                    role,
                )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "an account with this email already exists", code="email_taken"
            ) from None
        assert row is not None
        return self._session(profile_from_row(row))

    async def log_in(self, email: str, password: str) -> IssuedSession:
        columns = ", ".join("u." + c for c in PROFILE_COLUMNS.split(", "))
        row = await self._pool.fetchrow(
            f"select a.encrypted_password, {columns}"
            " from auth.users a join public.users u on u.id = a.id where a.email = $1",
            email,
        )
        # Verified even when there is no such account (against a dummy hash), so that a
        # wrong email and a wrong password take the same time.
        ok = await verify_password(row["encrypted_password"] if row else None, password)
        if row is None or not ok:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        return self._session(profile_from_row(row))

    async def verify(self, token: str) -> Claims:
        return self.tokens.verify(token)

    def key_set(self) -> dict[str, Any]:
        return self.tokens.jwks()

    def _session(self, user: Profile) -> IssuedSession:
        return IssuedSession(
            access_token=self.tokens.issue(user.id, user.email),
            expires_in=self.tokens.ttl_s,
            user=user,
        )
