"""Who signs people up, logs them in and vouches for their tokens: the identity provider.

Two implementations, chosen by configuration (``open_identity_provider``):

- ``EmbeddedIdentity`` (``server.auth.embedded``): the server is its own provider (argon2id
  hashes in ``auth.users``, ES256 tokens signed with a key in the data directory).
- ``SupabaseIdentity`` (``server.auth.supabase_auth``): Supabase Auth creates the accounts and
  issues the tokens; they are verified here against the project's JWKS.

Either way the application profile, and with it the role (recruiter or candidate), is a row
of ``public.users`` in the server's database, written at sign-up and read on every request:
never taken from a token's or Supabase's ``user_metadata``, which users can edit.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from server.auth.tokens import Claims
from server.config import Settings

if TYPE_CHECKING:
    from server.store.database import Connection, Pool

Role = Literal["recruiter", "candidate"]
# How a forgotten password is reset: a link by email (embedded, SMTP configured), a link an
# operator makes (embedded, ``openhire users reset-password``), or Supabase Auth's recovery.
ResetMethod = Literal["email", "operator", "supabase"]

PROFILE_COLUMNS = "id, email, full_name, role, created_at, company_name"


@dataclass(frozen=True, slots=True)
class Profile:
    """A row of public.users."""

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    created_at: datetime
    # A recruiter's company, shown on their jobs.
    company_name: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A successful sign-up or log-in: a token and the profile it belongs to."""

    access_token: str
    expires_in: int
    user: Profile
    # Exchanged at POST /auth/token for the next session (kept in an HttpOnly cookie by the
    # browser app). None on a renewal that another tab made a moment ago: keep the newer one.
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmationRequired:
    """A sign-up accepted, but the project wants the email confirmed before any log-in."""

    email: str


class IdentityProvider(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    async def open(self) -> None:
        """Check what start-up can check (reachability, keys); raise ConfigurationError."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release what ``open`` acquired."""

    @abc.abstractmethod
    async def sign_up(
        self, email: str, password: str, full_name: str, role: Role
    ) -> IssuedSession | ConfirmationRequired:
        """Create the account and its profile. Raises Conflict (email_taken) and, for a
        remote provider, the errors of ``server.auth.supabase_auth``."""

    @abc.abstractmethod
    async def log_in(self, email: str, password: str) -> IssuedSession:
        """Raises Unauthorized with code ``invalid_credentials`` for a wrong email or
        password, the one failure the log-in throttle counts."""

    @abc.abstractmethod
    async def verify(self, token: str) -> Claims:
        """The claims of a valid access token; raises Unauthorized (``invalid_token``,
        ``token_expired``) otherwise."""

    @abc.abstractmethod
    async def refresh(self, refresh_token: str) -> IssuedSession:
        """The next session of a sign-in; Unauthorized (``invalid_refresh_token``) when the
        token is unknown, expired, revoked or replayed."""

    @abc.abstractmethod
    async def sign_out(self, refresh_token: str | None, access_token: str | None) -> None:
        """End the sign-in these tokens belong to (as far as the provider can); never fails
        for a token that is already invalid."""

    @property
    @abc.abstractmethod
    def reset_method(self) -> ResetMethod:
        """How a forgotten password is reset with this provider."""

    @abc.abstractmethod
    async def request_password_reset(self, email: str, address: str, redirect_to: str) -> None:
        """Send a reset link if the account exists, saying nothing either way; RateLimited
        past the limits. ``redirect_to`` is the app's address (Supabase links back to it)."""

    @abc.abstractmethod
    async def reset_password(self, token: str, password: str) -> None:
        """Set the password with the token a reset link carried (embedded: the link's token;
        Supabase: the recovery session's access token)."""

    @abc.abstractmethod
    def key_set(self) -> dict[str, Any]:
        """The public keys that verify this provider's tokens, as a JWKS document."""


def profile_from_row(row: Any) -> Profile:
    return Profile(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        created_at=row["created_at"],
        company_name=row["company_name"],
    )


async def fetch_profile(db: Pool | Connection, user_id: uuid.UUID) -> Profile | None:
    row = await db.fetchrow(f"select {PROFILE_COLUMNS} from public.users where id = $1", user_id)
    return profile_from_row(row) if row is not None else None


async def open_identity_provider(settings: Settings, pool: Pool) -> IdentityProvider:
    """The provider the settings ask for, opened: Supabase Auth when ``SUPABASE_URL`` is set,
    otherwise the embedded one. Raises ConfigurationError when it cannot work."""
    if settings.supabase_url is not None:
        from server.auth.supabase_auth import SupabaseIdentity

        supabase = SupabaseIdentity(settings, pool)
        try:
            await supabase.open()
        except BaseException:
            await supabase.aclose()
            raise
        return supabase
    from server.auth.embedded import EmbeddedIdentity

    embedded = await EmbeddedIdentity.create(settings, pool)
    await embedded.open()
    return embedded
