"""Sign-up and log-in (embedded identity provider), and the public key set of its tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import anyio
import asyncpg
from pydantic import StringConstraints
from starlette.requests import Request

from server.auth.passwords import hash_password, verify_password
from server.errors import Conflict, Unauthorized
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


class UserOut(Output):
    id: uuid.UUID
    email: str
    full_name: str
    role: Literal["recruiter", "candidate"]
    created_at: datetime


class Session(Output):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserOut


class PublicKey(Output):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    alg: str
    use: str


class KeySet(Output):
    keys: list[PublicKey]


_USER_COLUMNS = "id, email, full_name, role, created_at"


@api.post("/auth/signup", summary="Create an account", tags=("auth",), status=201, errors=(409,))
async def signup(request: Request, body: SignupRequest) -> Session:
    services = get_services(request)
    password_hash = await hash_password(body.password)
    try:
        async with services.pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "insert into auth.users (email, encrypted_password, raw_user_meta_data)"
                " values ($1, $2, $3) returning id",
                body.email,
                password_hash,
                {"full_name": body.full_name},
            )
            row = await conn.fetchrow(
                f"insert into public.users (id, email, full_name, role) values ($1, $2, $3, $4)"
                f" returning {_USER_COLUMNS}",
                user_id,
                body.email,
                body.full_name,
                body.role,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("an account with this email already exists", code="email_taken") from None
    assert row is not None
    user = UserOut.model_validate(dict(row))
    return _session(request, user)


@api.post(
    "/auth/login", summary="Log in with email and password", tags=("auth",), errors=(401, 429)
)
async def login(request: Request, body: LoginRequest) -> Session:
    services = get_services(request)
    address = request.client.host if request.client else "unknown"
    delay = services.login_throttle.check(body.email, address)
    if delay:
        await anyio.sleep(delay)
    row = await services.pool.fetchrow(
        f"select a.encrypted_password, {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}"
        " from auth.users a join public.users u on u.id = a.id where a.email = $1",
        body.email,
    )
    ok = await verify_password(row["encrypted_password"] if row else None, body.password)
    if row is None or not ok:
        services.login_throttle.record_failure(body.email, address)
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    services.login_throttle.record_success(body.email)
    user = UserOut.model_validate({k: row[k] for k in _USER_COLUMNS.split(", ")})
    return _session(request, user)


@api.get(
    "/auth/v1/.well-known/jwks.json",
    summary="Public keys that verify this server's access tokens",
    tags=("auth",),
)
async def jwks(request: Request) -> KeySet:
    return KeySet.model_validate(get_services(request).tokens.jwks())


def _session(request: Request, user: UserOut) -> Session:
    tokens = get_services(request).tokens
    return Session(
        access_token=tokens.issue(user.id, user.email),
        expires_in=tokens.ttl_s,
        user=user,
    )
