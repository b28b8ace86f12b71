"""`openhire serve | migrate | users reset-password | loadtest | assess`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import structlog

from server.config import Settings
from server.errors import OpenHireError
from server.logs import configure_logging
from server.serving import UVICORN_OPTIONS

log = structlog.get_logger(__name__)


# File descriptors kept out of the connection limit's default: the database pool, the log,
# blob files being written, the embedded PostgreSQL's socket.
_RESERVED_FILES = 64


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """UVICORN_OPTIONS and the ones the settings decide: connection limits, time limits on
    idle and slow clients, and which proxies' X-Forwarded-For to believe."""
    from server.http.header_deadline import header_deadline_protocol

    options = dict(UVICORN_OPTIONS)
    options.update(
        # h11 with a deadline on the request line and headers (uvicorn has none).
        http=header_deadline_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_timeout_s,
        limit_concurrency=settings.max_connections or default_max_connections(settings),
    )
    if settings.trusted_proxies:
        # Only then: from any other peer X-Forwarded-For is ignored, so that a client cannot
        # pick the address the log-in throttle counts it under.
        options.update(proxy_headers=True, forwarded_allow_ips=list(settings.trusted_proxies))
    return options


def default_max_connections(settings: Settings) -> int:
    """The open-file limit less a reserve, so that a full server answers 503 rather than
    failing to accept (and each live socket is a file descriptor)."""
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65_536
    return max(16, soft - _RESERVED_FILES - settings.database_pool_max)


def serve(settings: Settings) -> int:
    import uvicorn

    from server.app import create_app

    if settings.database_url is not None:
        from server.store.database import wait_for_database

        # Checked here, before uvicorn, so that an unreachable or misconfigured database
        # ends the process with one line naming the host, not a traceback from the lifespan.
        asyncio.run(wait_for_database(settings.database_url, settings))
    if settings.redis_url is not None:
        from server.cluster.connection import check_redis

        # Likewise: one line naming Redis's host, and exit, when it does not answer.
        asyncio.run(check_redis(settings.redis_url))
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, lifespan="on", **uvicorn_options(settings)
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


async def _reset_link(settings: Settings, email: str) -> str | None:
    """A single-use password reset link for the account, or None when there is none. Works
    with the server running (on the embedded database: through its PostgreSQL's socket)."""
    import contextlib

    import asyncpg

    from server.app import open_database
    from server.auth.recovery import create_reset_token, reset_link
    from server.errors import DataDirectoryInUse
    from server.store.embedded import EmbeddedPostgres

    async with contextlib.AsyncExitStack() as stack:
        if settings.database_url is not None:
            dsn = settings.database_url
        else:
            try:
                dsn = await stack.enter_async_context(open_database(settings))
            except DataDirectoryInUse:
                # The server is running: its PostgreSQL answers on its socket.
                dsn = EmbeddedPostgres(settings.data_dir).dsn
        conn = await asyncpg.connect(dsn, statement_cache_size=0)
        try:
            async with conn.transaction():
                user_id = await conn.fetchval(
                    "select id from auth.users where lower(email) = lower($1)", email
                )
                if user_id is None:
                    return None
                token = await create_reset_token(
                    conn,
                    user_id,
                    email,
                    settings.password_reset_ttl_s,
                    address="operator",
                    mail=False,
                )
        finally:
            await conn.close()
    app_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    return reset_link(app_url, token)


def reset_password(settings: Settings, email: str) -> int:
    if settings.supabase_url is not None:
        print(
            "openhire: with SUPABASE_URL set, passwords are Supabase Auth's: the user asks for"
            " a reset link in the app (or send one from the Supabase dashboard)",
            file=sys.stderr,
        )
        return 2
    link = asyncio.run(_reset_link(settings, email))
    if link is None:
        print(f"openhire: no account has the email {email}", file=sys.stderr)
        return 1
    minutes = settings.password_reset_ttl_s // 60
    print(f"Send this link to {email}; it works once, for {minutes} minutes:")
    print(link)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openhire", description="OpenHire server")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the server (embedded PostgreSQL by default)")
    p_serve.add_argument("--host", help="address to listen on (OPENHIRE_HOST)")
    p_serve.add_argument("--port", type=int, help="port to listen on (OPENHIRE_PORT)")
    sub.add_parser("migrate", help="apply pending migrations to the database and exit")
    p_users = sub.add_parser("users", help="manage accounts (embedded identity)")
    users_sub = p_users.add_subparsers(dest="users_command", required=True)
    p_reset = users_sub.add_parser(
        "reset-password", help="print a single-use link that sets a new password"
    )
    p_reset.add_argument("email", help="the account's email address")
    # Its options are the load generator's own: everything after the word goes to it.
    sub.add_parser("loadtest", add_help=False, help="play many interviews against a server")
    sub.add_parser(
        "assess", add_help=False, help="score the simulated candidates and print the table"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "loadtest":
        # The load generator is a client of the server, not part of it: imported only here,
        # through its one entry point, and it never imports this module.
        from clients.loadtest import main as loadtest

        return loadtest(rest)
    if args.command == "assess":
        from clients.assess.cli import main as assess

        return assess(rest)
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
        if args.command == "users":
            return reset_password(settings, args.email.strip())
        return migrate(settings)
    except OpenHireError as exc:
        print(f"openhire: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
