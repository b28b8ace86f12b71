"""The one place where errors become HTTP responses.

Every failure answers ``{"error": {"code", "message", "details"}}`` with the status
``server.errors.told`` gives its class. Anything unexpected is logged with its traceback and
answered with a bare 500: no internal detail ever reaches the client. A database that went
away (restarting, down, full) is not unexpected: it answers 503 ``database_unavailable``,
which a client may retry.
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

from server.errors import (
    ApiError,
    DatabaseUnavailable,
    FieldProblem,
    OpenHireError,
    ValidationFailed,
    told,
)

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
    """Each problem as ``{"loc", "msg", "type"}``: ``loc`` starts with ``location`` and goes down
    to the field, even for a rule across fields (``FieldProblem``), so a client can show each
    message at its field."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [location, *(str(part) for part in err["loc"])]
        msg = err["msg"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            loc += cause.field.split(".")
            msg = cause.message
        problems.append({"loc": loc, "msg": msg, "type": err["type"]})
    first = problems[0]
    where = ".".join(first["loc"])
    return ValidationFailed(f"{where}: {first['msg']}", details=problems)


async def handle_openhire_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OpenHireError)
    answer = told(exc)
    if answer is None:
        return await handle_unexpected(request, exc)
    if isinstance(exc, ApiError):
        return error_response(answer.status, answer.code, answer.message, exc.details, exc.headers)
    return error_response(answer.status, answer.code, answer.message)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Every status Starlette raises is in the table; should another come, it still gets a code
    # of the documented list (server.http.error_codes).
    code = _STATUS_CODES.get(
        exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error"
    )
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
    return await handle_openhire_error(
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
    OpenHireError: handle_openhire_error,
    HTTPException: handle_http_exception,
    **dict.fromkeys(_DATABASE_GONE, handle_database_gone),
    Exception: handle_unexpected,
}
