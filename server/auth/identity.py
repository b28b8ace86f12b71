"""Who is calling: the bearer token checked, then the application user it names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from server.auth.provider import Role
from server.errors import Forbidden, Unauthorized
from server.services import get_services


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    email: str
    full_name: str
    role: Role

    def require(self, role: Role) -> None:
        if self.role != role:
            raise Forbidden(f"only a {role} may do this; you are signed in as a {self.role}")


def bearer_token(conn: HTTPConnection) -> str:
    header = conn.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "this endpoint needs an access token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def authenticate(conn: HTTPConnection) -> User:
    services = get_services(conn)
    claims = await services.identity.verify(bearer_token(conn))
    row = await services.pool.fetchrow(
        "select id, email, full_name, role from public.users where id = $1", claims.sub
    )
    if row is None:
        raise Unauthorized("the account of this token no longer exists", code="invalid_token")
    return User(id=row["id"], email=row["email"], full_name=row["full_name"], role=row["role"])
