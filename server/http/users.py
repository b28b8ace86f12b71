"""The signed-in user: their profile, and the parts of it they may change."""

from __future__ import annotations

from typing import Annotated

from starlette.requests import Request

from server.auth.identity import User
from server.auth.provider import PROFILE_COLUMNS
from server.errors import Unauthorized
from server.http.auth import UserOut
from server.http.routing import Api
from server.http.types import Input, Name, Trimmed
from server.services import get_services

api = Api()


class ProfileChange(Input):
    # Each left out (or null) stays as it is.
    full_name: Name | None = None
    # A recruiter's company, shown on their jobs; an empty one removes it.
    company_name: Annotated[str, Trimmed(max_length=200)] | None = None


@api.get("/users/me", summary="The signed-in user", tags=("users",))
async def get_me(request: Request, user: User) -> UserOut:
    row = await get_services(request).pool.fetchrow(
        f"select {PROFILE_COLUMNS} from public.users where id = $1", user.id
    )
    if row is None:
        raise Unauthorized("the account of this token no longer exists", code="invalid_token")
    return UserOut.model_validate(dict(row))


@api.patch("/users/me", summary="Change your name or company", tags=("users",))
async def update_me(request: Request, user: User, body: ProfileChange) -> UserOut:
    company = body.company_name
    row = await get_services(request).pool.fetchrow(
        "update public.users set full_name = coalesce($2, full_name),"
        " company_name = case when $3::text is null then company_name"
        " else nullif($3::text, '') end"
        f" where id = $1 returning {PROFILE_COLUMNS}",
        user.id,
        body.full_name,
        company,
    )
    if row is None:
        raise Unauthorized("the account of this token no longer exists", code="invalid_token")
    return UserOut.model_validate(dict(row))
