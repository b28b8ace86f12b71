"""The one place where errors become HTTP responses.

Every failure answers ``{"error": {"code", "message", "details"}}`` with the status of its
class. Anything unexpected is logged with its traceback and answered with a bare 500: no
internal detail ever reaches the client. A database that went away (restarting, down, full)
is not unexpected: it answers 503 ``database_unavailable``, which a client may retry.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pydantic
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.errors import ApiError, DatabaseUnavailable, ValidationFailed

log = structlog.get_logger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def validation_error(exc: pydantic.ValidationError, *, location: str) -> ValidationFailed:
    problems = [
        {
            "loc": [location, *(str(part) for part in err["loc"])],
            "msg": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    first = problems[0]
    where = ".".join(first["loc"])
    return ValidationFailed(f"{where}: {first['msg']}", details=problems)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404:
        message = f"no route for {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, headers=headers)


# Failures of the connection, not of the statement: the server went away mid-query (connection
# lost, "terminating connection due to administrator command", crash recovery), or will not
# take connections now. A new connection from the pool will do once the database is back.
_DATABASE_GONE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


async def handle_database_gone(request: Request, exc: Exception) -> Response:
    log.warning("request.database_unavailable", error=type(exc).__name__)
    return await handle_api_error(
        request,
        DatabaseUnavailable(
            "the database is not reachable at the moment; try again shortly",
            headers={"Retry-After": "2"},
        ),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("request.failed", exc_info=exc)
    return error_response(500, "internal_error", "the server failed to handle this request")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    **dict.fromkeys(_DATABASE_GONE, handle_database_gone),
    Exception: handle_unexpected,
}
