"""The connection pool: one per process, opened and closed by the application's lifespan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import orjson
import structlog

from server.config import Settings

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Pool = asyncpg.Pool
    Connection = asyncpg.Connection


async def _init_connection(conn: Connection) -> None:
    # jsonb in and out as Python objects, encoded with orjson.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            schema="pg_catalog",
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            format="text",
        )


async def _reset(conn: Connection) -> None:
    """What a connection goes through on its way back to the pool, besides asyncpg's own
    rollback of a transaction left open: nothing. The server keeps no session state on a
    connection (no SET outside a transaction, LISTEN, session advisory lock or cursor held
    across transactions), so asyncpg's default reset query would only cost every release a
    round trip to the database, the same again as the request's own query."""


def _pool_options(dsn: str) -> dict[str, Any]:
    # Searches (GET /jobs) have many shapes, one statement each: keep plenty prepared.
    options: dict[str, Any] = {"statement_cache_size": 1024}
    # Supabase's transaction pooler (port 6543) cannot keep prepared statements.
    if ":6543/" in dsn or "pgbouncer=true" in dsn:
        options["statement_cache_size"] = 0
    return options


async def open_pool(dsn: str, settings: Settings) -> Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        init=_init_connection,
        reset=_reset,
        command_timeout=30,
        server_settings={"application_name": "openhire"},
        **_pool_options(dsn),
    )
    assert pool is not None
    return pool
