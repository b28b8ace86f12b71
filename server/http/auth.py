"""Sign-up and log-in, whichever identity provider is configured, and the public key set
that verifies its tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import pydantic
from pydantic import StringConstraints
from starlette.requests import Request
from starlette.responses import Response

from server.auth.provider import ConfirmationRequired, IssuedSession
from server.errors import Unauthorized
from server.http.routing import Api
from server.http.types import Email, Input, Name, Output, Password
from server.services import get_services

api = Api()


class SignupRequest(Input):
    email: Email
    password: Password
    full_name: Name
    role: Literal["recruiter", "candidate"]


class LoginRequest(Input):
    email: Email
    # No length rule here: a wrong password of any length is simply wrong (401). Never
    # trimmed, as at sign-up.
    password: Annotated[str, StringConstraints(strip_whitespace=False)]


class _WithoutNulls(Output):
    """Optional fields that have no value are left out of the JSON, not sent as null."""

    @pydantic.model_serializer(mode="wrap")
    def _drop_nulls(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        optional = {name for name, f in type(self).model_fields.items() if not f.is_required()}
        return {k: v for k, v in data.items() if not (k in optional and v is None)}


class UserOut(Output):
    id: uuid.UUID
    email: str
    full_name: str
    role: Literal["recruiter", "candidate"]
    created_at: datetime


class Session(_WithoutNulls):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    # With Supabase Auth only: exchange it with Supabase (supabase-js setSession or
    # /auth/v1/token?grant_type=refresh_token) for a new access token.
    refresh_token: str | None = None
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
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    # RSA keys
    n: str | None = None
    e: str | None = None


class KeySet(Output):
    keys: list[PublicKey]


@api.post(
    "/auth/signup",
    summary="Create an account",
    tags=("auth",),
    status=201,
    errors=(403, 409, 429, 503),
    response=Session,
)
async def signup(request: Request, body: SignupRequest) -> Session | Response:
    """201 with a session. With Supabase Auth and email confirmation switched on for the
    project, 202 with ``{"confirmation_required": true, "email", "message"}`` instead: the
    account can log in once its email address is confirmed."""
    identity = get_services(request).identity
    result = await identity.sign_up(body.email, body.password, body.full_name, body.role)
    if isinstance(result, ConfirmationRequired):
        pending = PendingSignup(
            email=result.email,
            message="check your inbox: the account works once its email address is confirmed",
        )
        return Response(pending.model_dump_json(), status_code=202, media_type="application/json")
    return _session(result)


@api.post(
    "/auth/login",
    summary="Log in with email and password",
    tags=("auth",),
    errors=(401, 403, 429, 503),
)
async def login(request: Request, body: LoginRequest) -> Session:
    services = get_services(request)
    address = request.client.host if request.client else "unknown"
    delay = services.login_throttle.check(body.email, address)
    if delay:
        await anyio.sleep(delay)
    try:
        issued = await services.identity.log_in(body.email, body.password)
    except Unauthorized as exc:
        if exc.code == "invalid_credentials":
            services.login_throttle.record_failure(body.email, address)
        raise
    services.login_throttle.record_success(body.email)
    return _session(issued)


@api.get(
    "/auth/v1/.well-known/jwks.json",
    summary="Public keys that verify the access tokens this server accepts",
    tags=("auth",),
)
async def jwks(request: Request) -> KeySet:
    """The server's own key in embedded mode; with Supabase Auth, the project's keys as last
    fetched from ``<SUPABASE_URL>/auth/v1/.well-known/jwks.json``."""
    return KeySet.model_validate(get_services(request).identity.key_set())


def _session(issued: IssuedSession) -> Session:
    return Session(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        user=UserOut.model_validate(issued.user),
    )
