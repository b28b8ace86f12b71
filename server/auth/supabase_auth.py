"""Supabase Auth as the identity provider, through the ``supabase`` package's auth client.

Sign-up and log-in are Supabase Auth's (``/auth/v1/signup``, ``/auth/v1/token``); the
profile, and with it the role, is written to ``public.users`` in the project's database (which
is the server's database: see ``check_supabase_settings``). Tokens are verified locally
against the project's JWKS (``server.auth.jwks``), never with a call per request.

One ``AsyncGoTrueClient`` serves every request for the life of the server. It is built on its
own, not taken from ``supabase.acreate_client(...).auth``: that wrapper listens to sign-ins
and swaps the user's token into the headers of the project client. And it is given a session
store that keeps nothing (``_NoSessionStorage``): ``sign_up`` and ``sign_in_with_password``
otherwise leave the last user's session in the shared client (``_save_session``), where a later
call without an explicit token (``get_user()``, ``get_session()``) would find it. With the
storage empty and ``auto_refresh_token=False`` the client holds no user state at all, and
concurrent sign-ins only share its HTTP connection pool.

Errors are mapped once, in ``_translate``: wrong credentials 401 ``invalid_credentials``, an
email already registered 409 ``email_taken``, a weak password 422 ``weak_password``, Supabase's
rate limit 429, an unconfirmed email 403 ``email_not_confirmed``, anything Supabase-side
(unreachable, 5xx, an unexpected answer) 503 ``auth_unavailable``. Nothing is retried here: a
sign-up is not safely repeatable, and a client seeing 503 may try again.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import asyncpg
import httpx
import pydantic
import structlog
from supabase_auth import AsyncGoTrueClient, AsyncSupportedStorage
from supabase_auth.errors import (
    AuthApiError,
    AuthError,
    AuthRetryableError,
    AuthWeakPasswordError,
    CustomAuthError,
)

from server.auth.jwks import JwksVerifier
from server.auth.provider import (
    PROFILE_COLUMNS,
    ConfirmationRequired,
    IdentityProvider,
    IssuedSession,
    Profile,
    ResetMethod,
    Role,
    fetch_profile,
    profile_from_row,
)
from server.auth.recovery import InvalidResetToken, PasswordResets
from server.auth.refresh import invalid_refresh_token
from server.auth.tokens import Claims
from server.config import Settings, check_supabase_settings
from server.errors import (
    ApiError,
    ConfigurationError,
    Conflict,
    Forbidden,
    IdentityUnavailable,
    KeySetUnavailable,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)

if TYPE_CHECKING:
    from supabase_auth.types import Session

    from server.store.database import Pool

log = structlog.get_logger(__name__)

# Start-up checks end within this bound, whatever the network does.
STARTUP_TIMEOUT_S = 15.0
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
HTTP_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10)

# What the auth client raises: its own errors (it wraps httpx's), and pydantic's when an
# answer is not the shape it expects (a proxy's HTML page, say).
_CLIENT_FAILURES = (AuthError, pydantic.ValidationError, httpx.HTTPError)


class _NoSessionStorage(AsyncSupportedStorage):
    """A session store that keeps nothing: the shared client never holds a user's session."""

    async def get_item(self, key: str) -> str | None:
        return None

    async def set_item(self, key: str, value: str) -> None:
        return None

    async def remove_item(self, key: str) -> None:
        return None


def _is_jwt(key: str) -> bool:
    return key.startswith("eyJ") and key.count(".") == 2


def api_headers(key: str) -> dict[str, str]:
    """The headers that carry the service key. A legacy service_role key is a JWT and goes in
    Authorization too, as supabase-py sends it; a new secret key (``sb_secret_...``) is not a
    JWT and goes in ``apikey`` alone, from which Supabase's gateway derives the role."""
    headers = {"apikey": key}
    if _is_jwt(key):
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status behind an auth client error, when there was an answer."""
    if isinstance(exc, AuthApiError | CustomAuthError) and exc.status:
        return int(exc.status)
    cause = exc.__cause__
    if isinstance(cause, httpx.HTTPStatusError):
        return cause.response.status_code
    return None


def _message_of(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message if message else exc) or type(exc).__name__


class SupabaseIdentity(IdentityProvider):
    name = "supabase"

    def __init__(self, settings: Settings, pool: Pool) -> None:
        check_supabase_settings(settings)
        assert settings.supabase_url is not None
        assert settings.supabase_service_role_key is not None
        self.url = settings.supabase_url.rstrip("/")
        self.auth_url = f"{self.url}/auth/v1"
        self._pool = pool
        key = settings.supabase_service_role_key
        self._key = key
        self.resets = PasswordResets(pool, settings.password_reset_ttl_s, mail=False)
        # One HTTP client for the server's life, shared by the auth client and the JWKS fetches.
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS)
        self._auth = AsyncGoTrueClient(
            url=self.auth_url,
            headers=api_headers(key),
            http_client=self._http,
            # persist_session=True only so that sessions go to the storage, which drops them;
            # with False the client would keep the last one in memory.
            persist_session=True,
            storage=_NoSessionStorage(),
            auto_refresh_token=False,
        )
        self.verifier = JwksVerifier(
            jwks_url=f"{self.auth_url}/.well-known/jwks.json",
            issuer=self.auth_url,
            http=self._http,
            headers={"apikey": key},
            legacy_secret=settings.supabase_jwt_secret,
        )

    # --- life ----------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            with anyio.fail_after(STARTUP_TIMEOUT_S):
                await self._check()
        except TimeoutError:
            raise ConfigurationError(
                f"cannot reach Supabase Auth at {self.url}: no answer within"
                f" {STARTUP_TIMEOUT_S:.0f} s"
            ) from None
        log.info(
            "supabase_auth.ready",
            url=self.url,
            kids=sorted(self.verifier.keys),
            legacy_hs256=self.verifier.accepts_legacy_tokens,
        )

    async def _check(self) -> None:
        try:
            keys = await self.verifier.refresh()
        except KeySetUnavailable as exc:
            raise ConfigurationError(
                f"cannot reach Supabase Auth at {self.url}: {exc}. SUPABASE_URL must be the"
                " project URL, https://<project-ref>.supabase.co"
            ) from None
        if not keys and not self.verifier.accepts_legacy_tokens:
            raise ConfigurationError(
                f"the Supabase project at {self.url} publishes no ES256 or RS256 signing key"
                " (its JWKS is empty), so it still signs tokens with the legacy JWT secret:"
                " set SUPABASE_JWT_SECRET to that secret, or move the project to JWT signing"
                " keys (Project Settings > JWT Keys)"
            )
        try:
            users = await self._auth.admin.list_users(page=1, per_page=1)
        except _CLIENT_FAILURES as exc:
            status = _status_of(exc)
            if status in (401, 403):
                raise ConfigurationError(
                    f"Supabase rejected SUPABASE_SERVICE_ROLE_KEY ({status}:"
                    f" {_message_of(exc)}): it must be the project's secret key (sb_secret_...)"
                    " or legacy service_role key, not the publishable or anon key"
                ) from None
            answer = f"answered {status}" if status else "failed"
            raise ConfigurationError(
                f"cannot reach Supabase Auth at {self.url}: its admin API {answer}"
                f" ({_message_of(exc)})"
            ) from None
        # Sign-ups write public.users rows that reference auth.users: both must be the same
        # project's. Provable whenever the project has a user.
        if users:
            known = await self._pool.fetchval(
                "select exists (select 1 from auth.users where id = $1)", uuid.UUID(users[0].id)
            )
            if not known:
                raise ConfigurationError(
                    f"DATABASE_URL is not the database of the Supabase project at {self.url}:"
                    " a user of that project is missing from its auth.users"
                )

    async def aclose(self) -> None:
        await self.verifier.aclose()
        await self._http.aclose()

    # --- tokens --------------------------------------------------------------------------

    async def verify(self, token: str) -> Claims:
        return await self.verifier.verify(token)

    def key_set(self) -> dict[str, Any]:
        return self.verifier.key_set()

    # --- accounts ------------------------------------------------------------------------

    async def sign_up(
        self, email: str, password: str, full_name: str, role: Role
    ) -> IssuedSession | ConfirmationRequired:
        try:
            response = await self._auth.sign_up(
                {
                    "email": email,
                    "password": password,
                    # For the dashboard's eyes only; the role is never put there.
                    "options": {"data": {"full_name": full_name}},
                }
            )
        except _CLIENT_FAILURES as exc:
            raise self._translate(exc, "sign-up") from None
        if response.session is None:
            # The project wants the email confirmed first. The answer is the same whether
            # the email was new or taken (Supabase then returns a made-up user), so nothing
            # here tells them apart either.
            if response.user is not None:
                await self._store_pending_profile(response.user.id, email, full_name, role)
            return ConfirmationRequired(email=email)
        session = response.session
        profile = await self._store_profile(session.user.id, email, full_name, role)
        return _issued(session, profile)

    async def log_in(self, email: str, password: str) -> IssuedSession:
        try:
            response = await self._auth.sign_in_with_password(
                {"email": email, "password": password}
            )
        except _CLIENT_FAILURES as exc:
            raise self._translate(exc, "log-in") from None
        session = response.session
        if session is None:
            log.error("supabase_auth.no_session", action="log-in")
            raise IdentityUnavailable("Supabase Auth did not start a session; try again")
        profile = await fetch_profile(self._pool, uuid.UUID(session.user.id))
        if profile is None:
            # An account made outside OpenHire (the dashboard, another app): it has no role.
            raise Forbidden(
                "this account has no OpenHire profile; sign up through OpenHire first",
                code="profile_missing",
            )
        return _issued(session, profile)

    async def refresh(self, refresh_token: str) -> IssuedSession:
        # Supabase Auth rotates the token and detects its reuse (with its own grace interval
        # for tabs renewing together).
        try:
            response = await self._auth.refresh_session(refresh_token)
        except _CLIENT_FAILURES as exc:
            status = _status_of(exc)
            if status in (400, 401, 403, 404):
                raise invalid_refresh_token() from None
            raise self._translate(exc, "renewal") from None
        session = response.session
        if session is None:
            raise invalid_refresh_token()
        profile = await fetch_profile(self._pool, uuid.UUID(session.user.id))
        if profile is None:
            raise invalid_refresh_token()
        return _issued(session, profile)

    async def sign_out(self, refresh_token: str | None, access_token: str | None) -> None:
        # Supabase ends a session by its access token (POST /logout?scope=local), which
        # revokes the session's refresh tokens.
        if not access_token:
            return
        try:
            await self._auth.admin.sign_out(access_token, "local")
        except _CLIENT_FAILURES as exc:
            log.info("supabase_auth.sign_out_failed", status=_status_of(exc))

    @property
    def reset_method(self) -> ResetMethod:
        return "supabase"

    async def request_password_reset(self, email: str, address: str, redirect_to: str) -> None:
        await self.resets.note_request(email, address)
        try:
            # Supabase emails a link to its /verify, which redirects to redirect_to with the
            # recovery session in the fragment (#access_token=...&type=recovery).
            await self._auth.reset_password_for_email(email, {"redirect_to": redirect_to})
        except _CLIENT_FAILURES as exc:
            error = self._translate(exc, "password reset")
            if isinstance(error, RateLimited | IdentityUnavailable):
                raise error from None
            # Anything about the address itself is not the client's business.
            log.info("supabase_auth.recover_refused", status=_status_of(exc), code=error.code)

    async def reset_password(self, token: str, password: str) -> None:
        # The recovery session's own token sets the password (PUT /auth/v1/user), so Supabase
        # applies its password rules and records the change as the user's.
        await self.verify(token)
        try:
            response = await self._http.put(
                f"{self.auth_url}/user",
                json={"password": password},
                headers={"apikey": self._key, "Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise self._translate(exc, "password reset") from None
        if response.status_code == 200:
            return
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("error_code") or body.get("code")
        message = str(body.get("msg") or body.get("message") or response.reason_phrase)
        if response.status_code in (401, 403) or code in ("session_not_found", "bad_jwt"):
            raise InvalidResetToken(
                "this password reset link is not valid any more; ask for a new one"
            )
        if code in ("weak_password", "same_password") or response.status_code == 422:
            raise ValidationFailed(
                f"body.password: {message}",
                code="weak_password" if code == "weak_password" else "validation_failed",
                details=[{"loc": ["body", "password"], "msg": message, "type": code}],
            )
        if response.status_code == 429:
            raise RateLimited("too many attempts for now; try again later")
        log.error("supabase_auth.failed", action="password reset", status=response.status_code)
        raise IdentityUnavailable(
            "the password could not be changed: the identity service is unavailable",
            headers={"Retry-After": "5"},
        )

    # --- profiles ------------------------------------------------------------------------

    async def _store_profile(self, user_id: str, email: str, full_name: str, role: Role) -> Profile:
        uid = uuid.UUID(user_id)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "insert into public.users (id, email, full_name, role)"
                    " values ($1, $2, $3, $4) on conflict (id) do nothing"
                    f" returning {PROFILE_COLUMNS}",
                    uid,
                    email,
                    full_name,
                    role,
                )
                if row is None:
                    # Supabase confirmed an account that had signed up (and got its profile)
                    # while confirmation was still required: its profile stands as it was.
                    row = await conn.fetchrow(
                        f"select {PROFILE_COLUMNS} from public.users where id = $1", uid
                    )
        except asyncpg.ForeignKeyViolationError:
            log.error(
                "supabase_auth.user_not_in_database",
                hint="DATABASE_URL and SUPABASE_URL name different projects",
            )
            await self._forget(uid)
            raise IdentityUnavailable(
                "the account could not be created: the server is misconfigured"
            ) from None
        except asyncpg.UniqueViolationError:
            # A profile with this email under another id: Supabase's user is the newcomer.
            await self._forget(uid)
            raise Conflict(
                "an account with this email already exists", code="email_taken"
            ) from None
        except BaseException:
            # Without its profile the account would be a dead end: the email taken, no role.
            with anyio.CancelScope(shield=True):
                await self._forget(uid)
            raise
        assert row is not None
        return profile_from_row(row)

    async def _store_pending_profile(
        self, user_id: str, email: str, full_name: str, role: Role
    ) -> None:
        # Only for a user Supabase really created (a made-up one is in no table), and never
        # over an existing profile.
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await self._pool.execute(
                "insert into public.users (id, email, full_name, role)"
                " select $1, $2, $3, $4 where exists (select 1 from auth.users where id = $1)"
                " on conflict (id) do nothing",
                uuid.UUID(user_id),
                email,
                full_name,
                role,
            )

    async def _forget(self, user_id: uuid.UUID) -> None:
        try:
            await self._auth.admin.delete_user(str(user_id))
        except _CLIENT_FAILURES as exc:
            log.error(
                "supabase_auth.orphan_user",
                user_id=str(user_id),
                status=_status_of(exc),
                reason=_message_of(exc),
            )

    # --- errors --------------------------------------------------------------------------

    def _translate(self, exc: BaseException, action: str) -> ApiError:
        """The one mapping from what Supabase Auth answered to what the client gets."""
        status = _status_of(exc)
        code = getattr(exc, "code", None) if isinstance(exc, AuthError) else None
        message = _message_of(exc)
        if isinstance(exc, AuthWeakPasswordError) or code == "weak_password":
            reasons = list(getattr(exc, "reasons", None) or [])
            return ValidationFailed(
                f"body.password: {message}",
                code="weak_password",
                details=[
                    {
                        "loc": ["body", "password"],
                        "msg": message,
                        "type": "weak_password",
                        "reasons": reasons,
                    }
                ],
            )
        if code == "invalid_credentials":
            return Unauthorized("wrong email or password", code="invalid_credentials")
        if code in ("user_already_exists", "email_exists"):
            return Conflict("an account with this email already exists", code="email_taken")
        if code == "email_not_confirmed":
            return Forbidden(
                "confirm your email address (follow the link in the message sent at sign-up)"
                " before logging in",
                code="email_not_confirmed",
            )
        if code in ("over_request_rate_limit", "over_email_send_rate_limit") or status == 429:
            return RateLimited(
                "too many attempts for now; try again later",
                details={"retry_after_s": 60},
                headers={"Retry-After": "60"},
            )
        if code in ("email_address_invalid", "email_address_not_authorized", "validation_failed"):
            return ValidationFailed(
                f"body.email: {message}",
                details=[{"loc": ["body", "email"], "msg": message, "type": code}],
            )
        if code in ("signup_disabled", "email_provider_disabled"):
            return Forbidden("sign-up is closed on this server", code="signup_disabled")
        if code == "user_banned":
            return Forbidden("this account is suspended", code="user_banned")
        level = "warning" if isinstance(exc, AuthRetryableError) else "error"
        getattr(log, level)(
            "supabase_auth.failed",
            action=action,
            status=status,
            code=code,
            reason=message,
            error=type(exc).__name__,
        )
        return IdentityUnavailable(
            f"the {action} could not be completed: the identity service is unavailable;"
            " try again shortly",
            headers={"Retry-After": "5"},
        )


def _issued(session: Session, profile: Profile) -> IssuedSession:
    return IssuedSession(
        access_token=session.access_token,
        expires_in=int(session.expires_in),
        user=profile,
        refresh_token=session.refresh_token or None,
    )
