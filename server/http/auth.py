"""Sign-up and log-in, whichever identity provider is configured, and the public key set
that verifies its tokens.

Both go through the log-in throttle (``server.auth.throttle``) before the provider is asked,
so its limits hold for Supabase Auth too: a failed log-in (401 ``invalid_credentials``) and a
sign-up of a taken email (409 ``email_taken``, which tells the caller the account exists)
count as failures of the (email, client address) pair and of the address. The client address
is the TCP peer's, or, from a proxy listed in ``OPENHIRE_TRUSTED_PROXIES``, the one its
X-Forwarded-For names (uvicorn's proxy headers middleware sets it; see ``server.cli``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import anyio
import pydantic
from pydantic import Field, StringConstraints
from starlette.requests import Request
from starlette.responses import Response

from server.auth.provider import ConfirmationRequired, IssuedSession, ResetMethod
from server.auth.refresh import invalid_refresh_token
from server.auth.throttle import Outcome, address_key
from server.errors import ApiError
from server.http.errors import handle_openhire_error
from server.http.routing import Api
from server.http.types import Email, Input, Name, Output, Password
from server.services import get_services

api = Api()

T = TypeVar("T")

# The browser app keeps its refresh token in this cookie: HttpOnly (scripts cannot read it),
# SameSite=Strict, sent only to /auth/... (docs/security.md, "Staying signed in").
COOKIE = "openhire_refresh"
COOKIE_PATH = "/auth"
# A request asks for the cookie with this header. A page on another site cannot send it
# without a CORS preflight this server refuses, which with SameSite=Strict keeps cross-site
# requests from renewing or ending a sign-in.
SESSION_MODE_HEADER = "X-OpenHire-Session"


class SignupRequest(Input):
    email: Email
    password: Password
    full_name: Name
    role: Literal["recruiter", "candidate"]


class RenewRequest(Input):
    # Left out by the browser app, whose refresh token is in the cookie.
    refresh_token: Annotated[str, StringConstraints(max_length=500)] | None = None


class RecoverRequest(Input):
    email: Email


class ResetRequest(Input):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    password: Password


class RecoverAccepted(Output):
    message: str
    method: ResetMethod


class AppConfig(Output):
    """Public facts about this server, for the browser app's first page."""

    identity: Literal["embedded", "supabase"]
    # The demo accounts are seeded (OPENHIRE_DEMO): the app may show their credentials.
    demo: bool
    password_reset: ResetMethod


class LoginRequest(Input):
    email: Email
    # No length rule here: a wrong password of any length is simply wrong (401). Never
    # trimmed, as at sign-up.
    password: Annotated[str, StringConstraints(strip_whitespace=False)]


def _is_none(value: Any) -> bool:
    return value is None


def _present_or_absent(schema: dict[str, Any]) -> None:
    """In the JSON Schema, an Omitted field is its type, not "or null": it is left out of the
    JSON when it has no value, never sent as null; every other field is always sent."""
    for name, prop in schema.get("properties", {}).items():
        variants = prop.get("anyOf", [])
        if {"type": "null"} in variants and prop.get("default", ...) is None:
            kept = [v for v in variants if v != {"type": "null"}]
            del prop["anyOf"], prop["default"]
            prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            if name in schema.get("required", []):
                schema["required"].remove(name)


# An optional output field, left out of the JSON (not null) when it has no value. (Per field,
# not by a model serializer: that would hide the model's fields from its JSON Schema.)
Omitted = Annotated[T | None, Field(exclude_if=_is_none)]


class _WithoutNulls(Output):
    model_config = pydantic.ConfigDict(
        json_schema_extra=_present_or_absent, json_schema_serialization_defaults_required=True
    )


class UserOut(Output):
    id: uuid.UUID
    email: str
    full_name: str
    role: Literal["recruiter", "candidate"]
    created_at: datetime
    company_name: str | None = Field(description="A recruiter's company, shown on their jobs")


class Session(_WithoutNulls):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    # Exchange it at POST /auth/token for the next session (each use rotates it). Left out
    # when the request asked for the cookie (X-OpenHire-Session: cookie), and on a renewal
    # another tab made a moment before.
    refresh_token: Omitted[str] = None
    user: UserOut


class PendingSignup(Output):
    """Sign-up accepted; the account works once the email address is confirmed."""

    confirmation_required: Literal[True] = True
    email: str
    message: str


class PublicKey(_WithoutNulls):
    kty: Literal["EC", "RSA"]
    kid: str
    alg: Literal["ES256", "RS256"]
    use: Literal["sig"]
    # EC keys
    crv: Omitted[str] = None
    x: Omitted[str] = None
    y: Omitted[str] = None
    # RSA keys
    n: Omitted[str] = None
    e: Omitted[str] = None


class KeySet(Output):
    keys: list[PublicKey]


@api.post(
    "/auth/signup",
    summary="Create an account",
    tags=("auth",),
    status=201,
    errors=(
        "signup_disabled",
        "email_taken",
        "weak_password",
        "rate_limited",
        "auth_unavailable",
        "server_busy",
        "cluster_unavailable",
        503,
    ),
    response=Session,
)
async def signup(request: Request, body: SignupRequest) -> Response:
    """201 with a session. With Supabase Auth and email confirmation switched on for the
    project, 202 with ``{"confirmation_required": true, "email", "message"}`` instead: the
    account can log in once its email address is confirmed."""
    identity = get_services(request).identity
    result = await _throttled(
        request,
        body.email,
        lambda: identity.sign_up(body.email, body.password, body.full_name, body.role),
        failure_code="email_taken",
    )
    if isinstance(result, ConfirmationRequired):
        pending = PendingSignup(
            email=result.email,
            message="check your inbox: the account works once its email address is confirmed",
        )
        return Response(pending.model_dump_json(), status_code=202, media_type="application/json")
    return _session_response(request, result, status=201)


@api.post(
    "/auth/login",
    summary="Log in with email and password",
    tags=("auth",),
    errors=(
        "invalid_credentials",
        "email_not_confirmed",
        "profile_missing",
        "user_banned",
        "rate_limited",
        "auth_unavailable",
        "server_busy",
        "cluster_unavailable",
        503,
    ),
    response=Session,
)
async def login(request: Request, body: LoginRequest) -> Response:
    identity = get_services(request).identity
    issued = await _throttled(
        request,
        body.email,
        lambda: identity.log_in(body.email, body.password),
        failure_code="invalid_credentials",
    )
    return _session_response(request, issued)


@api.post(
    "/auth/token",
    summary="Renew a sign-in: a new access token for a refresh token",
    tags=("auth",),
    errors=("invalid_refresh_token", "profile_missing", "auth_unavailable", 503),
    response=Session,
)
async def renew(request: Request, body: RenewRequest) -> Response:
    """The refresh token comes from the body, or, with ``X-OpenHire-Session: cookie``, from
    the HttpOnly cookie that log-in set. It is rotated: the answer carries its successor (in
    the body, or in the cookie). A refresh token used a second time revokes its whole sign-in,
    unless within 10 seconds of the first use (two tabs renewing at once): that gets an access
    token and no new refresh token. 401 ``invalid_refresh_token`` clears the cookie. In cookie
    mode without a cookie (not signed in): 204, nothing to renew."""
    token = request.cookies.get(COOKIE) if _wants_cookie(request) else body.refresh_token
    if _wants_cookie(request) and not token:
        # A browser that is not signed in (the app asks on every first page): nothing to
        # renew, which is not an error.
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    identity = get_services(request).identity
    try:
        if not token:
            raise invalid_refresh_token()
        issued = await identity.refresh(token)
    except ApiError as exc:
        if exc.code == "invalid_refresh_token" and _wants_cookie(request):
            response = await handle_openhire_error(request, exc)
            _clear_cookie(response)
            return response
        raise
    return _session_response(request, issued)


@api.post(
    "/auth/logout",
    summary="End a sign-in: its refresh token stops working",
    tags=("auth",),
    status=204,
    errors=("auth_unavailable",),
)
async def logout(request: Request, body: RenewRequest) -> Response:
    """The refresh token from the body or the cookie (as for ``/auth/token``) and, if sent,
    the access token in Authorization (Supabase ends a session by it). Always 204; the cookie
    is cleared. An access token already issued stays valid until it expires."""
    token = request.cookies.get(COOKIE) if _wants_cookie(request) else body.refresh_token
    header = request.headers.get("authorization", "")
    access = header[7:].strip() if header.lower().startswith("bearer ") else None
    await get_services(request).identity.sign_out(token, access or None)
    response = Response(status_code=204)
    _clear_cookie(response)
    return response


@api.post(
    "/auth/recover",
    summary="Ask for a password reset link by email",
    tags=("auth",),
    status=202,
    errors=("rate_limited", "auth_unavailable", 503),
)
async def recover(request: Request, body: RecoverRequest) -> RecoverAccepted:
    """Always 202 with the same answer, whether an account has this email or not. Embedded
    with SMTP configured: an email with a single-use link (``<app>/#/reset?token=...``) that
    expires after ``OPENHIRE_PASSWORD_RESET_TTL`` (1 hour); embedded without SMTP: nothing is
    sent, an operator makes a link with ``openhire users reset-password EMAIL``; with Supabase
    Auth: Supabase's recovery email, whose link comes back to the app with a recovery session.
    429 past 20 requests an hour from one address; at most 3 emails an hour per account."""
    services = get_services(request)
    address = address_key(request.client.host) if request.client else "unknown"
    await services.identity.request_password_reset(body.email, address, _app_url(request))
    return RecoverAccepted(
        message="if an account has this email, a link to reset its password is on its way"
        if services.identity.reset_method != "operator"
        else "this server sends no email: ask its operator for a password reset link",
        method=services.identity.reset_method,
    )


@api.post(
    "/auth/reset",
    summary="Set a new password with a reset link's token",
    tags=("auth",),
    status=204,
    errors=("invalid_reset_token", "weak_password", "rate_limited", "auth_unavailable", 503),
)
async def reset_password(request: Request, body: ResetRequest) -> None:
    """``token`` is the link's (embedded) or the recovery session's access token (Supabase).
    The token works once; every sign-in of the account ends (log in with the new password)."""
    await get_services(request).identity.reset_password(body.token, body.password)


@api.get("/config", summary="What the browser app needs to know about this server", tags=("auth",))
async def app_config(request: Request) -> AppConfig:
    services = get_services(request)
    return AppConfig(
        identity=services.identity.name,
        demo=services.settings.demo,
        password_reset=services.identity.reset_method,
    )


@api.get(
    "/auth/v1/.well-known/jwks.json",
    summary="Public keys that verify the access tokens this server accepts",
    tags=("auth",),
)
async def jwks(request: Request) -> KeySet:
    """The server's own key in embedded mode; with Supabase Auth, the project's keys as last
    fetched from ``<SUPABASE_URL>/auth/v1/.well-known/jwks.json``."""
    return KeySet.model_validate(get_services(request).identity.key_set())


async def _throttled(
    request: Request, email: str, attempt: Callable[[], Awaitable[T]], *, failure_code: str
) -> T:
    """Run ``attempt`` under a reservation of the log-in throttle: refused (429) before the
    provider is asked, delayed as the throttle says, and counted as a failure when the provider
    answers ``failure_code``."""
    throttle = get_services(request).login_throttle
    address = address_key(request.client.host) if request.client else "unknown"
    reservation = await throttle.reserve(email, address)
    outcome: Outcome = "void"
    try:
        if reservation.delay_s:
            await anyio.sleep(reservation.delay_s)
        result = await attempt()
        outcome = "success"
        return result
    except ApiError as exc:
        if exc.code == failure_code:
            outcome = "failure"
        raise
    finally:
        # Settled even when the request is cancelled: an unsettled reservation would count
        # against the pair and the address until the process ends.
        with anyio.CancelScope(shield=True):
            await throttle.settle(reservation, outcome)


def _wants_cookie(request: Request) -> bool:
    return request.headers.get(SESSION_MODE_HEADER, "").strip().lower() == "cookie"


def _app_url(request: Request) -> str:
    public = get_services(request).settings.public_url
    return (public or str(request.base_url)).rstrip("/") + "/"


def _clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def _session_response(request: Request, issued: IssuedSession, *, status: int = 200) -> Response:
    """The session as JSON; in cookie mode its refresh token goes to the HttpOnly cookie
    instead of the body (scripts never see it)."""
    cookie = _wants_cookie(request)
    session = Session(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=None if cookie else issued.refresh_token,
        user=UserOut.model_validate(issued.user),
    )
    response = Response(
        session.model_dump_json(), status_code=status, media_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    if cookie and issued.refresh_token:
        response.set_cookie(
            COOKIE,
            issued.refresh_token,
            max_age=get_services(request).settings.refresh_token_ttl_s,
            path=COOKIE_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
    return response
