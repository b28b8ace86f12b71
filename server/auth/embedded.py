"""The embedded identity provider: the server signs people up and logs them in itself.

Passwords are argon2id hashes in ``auth.users.encrypted_password`` (the column Supabase uses);
tokens are ES256 JWTs with Supabase's claims, signed with the key in
``<data_dir>/jwt_signing_key.pem``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
import asyncpg

from server.auth.passwords import PasswordHashing
from server.auth.provider import (
    PROFILE_COLUMNS,
    IdentityProvider,
    IssuedSession,
    Profile,
    ResetMethod,
    Role,
    fetch_profile,
    profile_from_row,
)
from server.auth.recovery import PasswordResets
from server.auth.refresh import RefreshTokens, invalid_refresh_token
from server.auth.tokens import Claims, TokenIssuer, load_or_create_signing_key
from server.config import Settings
from server.errors import Conflict, Unauthorized

if TYPE_CHECKING:
    from server.store.database import Pool


class EmbeddedIdentity(IdentityProvider):
    name = "embedded"

    def __init__(
        self,
        pool: Pool,
        tokens: TokenIssuer,
        passwords: PasswordHashing,
        refresh_tokens: RefreshTokens,
        resets: PasswordResets,
    ) -> None:
        self._pool = pool
        self.tokens = tokens
        self.passwords = passwords
        self.refresh_tokens = refresh_tokens
        self.resets = resets

    @classmethod
    async def create(cls, settings: Settings, pool: Pool) -> EmbeddedIdentity:
        key = await anyio.to_thread.run_sync(
            load_or_create_signing_key,
            settings.jwt_signing_key_file or settings.data_dir / "jwt_signing_key.pem",
        )
        tokens = TokenIssuer(key, issuer=settings.jwt_issuer, ttl_s=settings.access_token_ttl_s)
        passwords = PasswordHashing(
            settings.password_hash_concurrency, settings.password_hash_queue
        )
        refresh_tokens = RefreshTokens(pool, settings.refresh_token_ttl_s)
        resets = PasswordResets(
            pool, settings.password_reset_ttl_s, mail=settings.smtp_url is not None
        )
        return cls(pool, tokens, passwords, refresh_tokens, resets)

    async def open(self) -> None:
        return None

    async def aclose(self) -> None:
        self.passwords.close()

    async def sign_up(self, email: str, password: str, full_name: str, role: Role) -> IssuedSession:
        password_hash = await self.passwords.hash(password)
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
        return await self._session(profile_from_row(row))

    async def log_in(self, email: str, password: str) -> IssuedSession:
        columns = ", ".join("u." + c for c in PROFILE_COLUMNS.split(", "))
        row = await self._pool.fetchrow(
            f"select a.encrypted_password, {columns}"
            " from auth.users a join public.users u on u.id = a.id where a.email = $1",
            email,
        )
        # Verified even when there is no such account (against a dummy hash), so that a
        # wrong email and a wrong password take the same time.
        ok = await self.passwords.verify(row["encrypted_password"] if row else None, password)
        if row is None or not ok:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        return await self._session(profile_from_row(row))

    async def verify(self, token: str) -> Claims:
        return self.tokens.verify(token)

    def key_set(self) -> dict[str, Any]:
        return self.tokens.jwks()

    async def refresh(self, refresh_token: str) -> IssuedSession:
        renewal = await self.refresh_tokens.rotate(refresh_token)
        user = await fetch_profile(self._pool, renewal.user_id)
        if user is None:
            raise invalid_refresh_token()
        return IssuedSession(
            access_token=self.tokens.issue(user.id, user.email),
            expires_in=self.tokens.ttl_s,
            user=user,
            refresh_token=renewal.refresh_token,
        )

    async def sign_out(self, refresh_token: str | None, access_token: str | None) -> None:
        if refresh_token:
            await self.refresh_tokens.revoke(refresh_token)

    @property
    def reset_method(self) -> ResetMethod:
        return "email" if self.resets.mail else "operator"

    async def request_password_reset(self, email: str, address: str, redirect_to: str) -> None:
        await self.resets.request(email, address)

    async def reset_password(self, token: str, password: str) -> None:
        password_hash = await self.passwords.hash(password)
        await self.resets.redeem(token, password_hash, self.refresh_tokens)

    async def _session(self, user: Profile) -> IssuedSession:
        return IssuedSession(
            access_token=self.tokens.issue(user.id, user.email),
            expires_in=self.tokens.ttl_s,
            user=user,
            refresh_token=await self.refresh_tokens.issue(user.id),
        )
