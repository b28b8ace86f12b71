"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

import anyio
from starlette.requests import Request

from server.errors import DatabaseUnavailable
from server.http.routing import Api
from server.http.types import Output
from server.services import get_services

api = Api()


class Health(Output):
    status: Literal["ok"]


@api.get("/healthz", summary="Liveness: the process answers", tags=("health",))
async def healthz() -> Health:
    return Health(status="ok")


@api.get("/readyz", summary="Readiness: the database answers", tags=("health",), errors=(503,))
async def readyz(request: Request) -> Health:
    pool = get_services(request).pool
    try:
        with anyio.fail_after(2):
            await pool.fetchval("select 1")
    except Exception:
        raise DatabaseUnavailable("the database is not reachable") from None
    return Health(status="ok")
