"""The signed-in user."""

from __future__ import annotations

from starlette.requests import Request

from server.auth.identity import User
from server.errors import Unauthorized
from server.http.auth import UserOut
from server.http.routing import Api
from server.services import get_services

api = Api()


@api.get("/users/me", summary="The signed-in user", tags=("users",))
async def get_me(request: Request, user: User) -> UserOut:
    row = await get_services(request).pool.fetchrow(
        "select id, email, full_name, role, created_at from public.users where id = $1", user.id
    )
    if row is None:
        raise Unauthorized("the account of this token no longer exists", code="invalid_token")
    return UserOut.model_validate(dict(row))
