"""`openhire serve | migrate | loadtest`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import structlog

from server.config import Settings
from server.errors import OpenHireError
from server.logs import configure_logging

log = structlog.get_logger(__name__)


# How `openhire serve` runs uvicorn (the load test's echo baseline uses the same): the
# sans-I/O WebSocket implementation, no per-message compression (JPEGs do not compress and
# deflate costs memory per socket), 1 MiB frames, pings, a bounded graceful shutdown.
UVICORN_OPTIONS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "ws_max_size": 1024 * 1024,
    "ws_ping_interval": 20,
    "ws_ping_timeout": 20,
    "timeout_graceful_shutdown": 10,
    "log_config": None,
    "access_log": False,
    "proxy_headers": False,
}


def serve(settings: Settings) -> int:
    import uvicorn

    from server.app import create_app

    if settings.database_url is not None:
        from server.store.database import wait_for_database

        # Checked here, before uvicorn, so that an unreachable or misconfigured database
        # ends the process with one line naming the host, not a traceback from the lifespan.
        asyncio.run(wait_for_database(settings.database_url, settings))
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, lifespan="on", **UVICORN_OPTIONS
    )
    server = uvicorn.Server(config)
    if settings.embedded_database:
        from server.store.embedded import DataDirectoryLock

        # Taken here so that a second server on the same directory fails with one line,
        # before uvicorn starts; the lifespan takes it again (re-entrant) and keeps it.
        with DataDirectoryLock(settings.data_dir):
            server.run()
    else:
        server.run()
    # uvicorn reports a failed start-up (for example, a locked data directory) by exiting
    # the serve loop without having started; that is a failure for the caller too.
    return 0 if server.started else 1


async def _migrate(settings: Settings) -> list[str]:
    from server.app import open_database
    from server.store import migrations
    from server.store.database import open_pool

    async with open_database(settings) as dsn:
        pool = await open_pool(dsn, settings.replace(database_pool_min=1, database_pool_max=1))
        try:
            async with pool.acquire() as conn:
                return await migrations.prepare_database(conn, settings)
        finally:
            await pool.close()


def migrate(settings: Settings) -> int:
    applied = asyncio.run(_migrate(settings))
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("the database is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openhire", description="OpenHire server")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the server (embedded PostgreSQL by default)")
    p_serve.add_argument("--host", help="address to listen on (OPENHIRE_HOST)")
    p_serve.add_argument("--port", type=int, help="port to listen on (OPENHIRE_PORT)")
    sub.add_parser("migrate", help="apply pending migrations to the database and exit")
    # Its options are the load generator's own: everything after the word goes to it.
    sub.add_parser("loadtest", add_help=False, help="play many interviews against a server")
    args, rest = parser.parse_known_args(argv)
    if args.command == "loadtest":
        from clients.loadtest import main as loadtest

        return loadtest(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    try:
        settings = Settings.from_env()
        if getattr(args, "host", None):
            settings = settings.replace(host=args.host)
        if getattr(args, "port", None):
            settings = settings.replace(port=args.port)
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "serve":
            return serve(settings)
        return migrate(settings)
    except OpenHireError as exc:
        print(f"openhire: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
