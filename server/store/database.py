"""The connection pool: one per process, opened and closed by the application's lifespan.

Any PostgreSQL will do: the embedded one, Supabase (direct connection, session pooler on 5432,
transaction pooler on 6543) or another. The URL is honoured as libpq would: TLS through
``sslmode`` (``require``, ``verify-ca``, ``verify-full``, with ``sslrootcert``), which asyncpg
reads itself. Two libpq-style parameters asyncpg does not know, and would send to the server as
settings (which the server refuses), are handled here: ``pgbouncer=true`` (a hint some providers
put in their URLs) marks a transaction pooler, and ``connect_timeout`` sets the connect timeout.

At start-up ``wait_for_database`` gives the database a bounded time to answer and otherwise fails
with one line that names the host (never the password) and says what is wrong. At run time a
lost database becomes ``DatabaseUnavailable``: a 503 for a request, a retry for the persistence
queue; the pool reconnects by itself once the database is back.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson
import structlog

from server.config import Settings
from server.errors import ConfigurationError, DatabaseUnavailable, DatabaseUnreachable

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Pool = asyncpg.Pool
    Connection = asyncpg.Connection

# Supabase's transaction pooler (Supavisor) listens here; PgBouncer users often use it too.
TRANSACTION_POOLER_PORT = 6543
# Searches (GET /jobs) have many shapes, one statement each: keep plenty prepared.
DEFAULT_STATEMENT_CACHE = 1024
# A query slower than this is abandoned (and its request fails) rather than holding a connection.
COMMAND_TIMEOUT_S = 30.0
# What a lost connection looks like when the pool opens a new one: the server is down or
# restarting (refused, reset, no socket, timed out), or full.
_CONNECT_FAILURES = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A database URL taken apart: what asyncpg is given, and what may be shown to people."""

    dsn: str = field(repr=False)  # may carry a password
    # host:port/database, for messages and logs: no user name, no password.
    where: str
    transaction_pooler: bool
    sslmode: str
    connect_timeout_s: float | None = None


def parse_database_url(url: str) -> DatabaseTarget:
    """Read a ``postgresql://`` URL; raise ConfigurationError (without echoing it) if it is
    not one."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        netloc_hosts = parts.netloc.rpartition("@")[2]
    except ValueError as exc:
        raise ConfigurationError(f"DATABASE_URL is not a valid URL ({exc})") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(
            f"DATABASE_URL must start with postgresql:// (its scheme is {parts.scheme!r})"
        )
    params = dict(query)
    kept = [(k, v) for k, v in query if k not in ("pgbouncer", "connect_timeout")]
    connect_timeout: float | None = None
    if "connect_timeout" in params:
        try:
            connect_timeout = float(params["connect_timeout"])
        except ValueError:
            raise ConfigurationError(
                f"connect_timeout in DATABASE_URL must be a number of seconds,"
                f" got {params['connect_timeout']!r}"
            ) from None
        if connect_timeout <= 0:  # libpq: 0 means wait forever; here the default applies
            connect_timeout = None
    dsn = url if len(kept) == len(query) else urlunsplit(parts._replace(query=urlencode(kept)))

    hosts = [h for h in netloc_hosts.split(",") if h] or [params.get("host", "")]
    ports = {_port_of(h) or params.get("port", "5432") for h in hosts}
    database = parts.path.lstrip("/") or params.get("dbname", "")
    shown_hosts = ",".join(h if h else "the default host" for h in hosts)
    where = f"{shown_hosts}/{database}" if database else shown_hosts
    pgbouncer = params.get("pgbouncer", "").lower() in ("true", "1", "yes", "on")
    return DatabaseTarget(
        dsn=dsn,
        where=where,
        transaction_pooler=pgbouncer or str(TRANSACTION_POOLER_PORT) in ports,
        sslmode=params.get("sslmode", "prefer"),
        connect_timeout_s=connect_timeout,
    )


def _port_of(hostspec: str) -> str | None:
    if hostspec.startswith("["):  # [ipv6]:port
        _, _, rest = hostspec.partition("]")
        return rest[1:] if rest.startswith(":") else None
    host, sep, port = hostspec.rpartition(":")
    return port if sep and host else None


def describe_dsn(dsn: str) -> str:
    """host:port/database of a URL, for messages; never the user or the password."""
    try:
        return parse_database_url(dsn).where
    except ConfigurationError:
        return "the configured database"


def connect_options(target: DatabaseTarget, settings: Settings) -> dict[str, Any]:
    """asyncpg.connect / create_pool keyword arguments for this database."""
    cache = settings.database_statement_cache
    if cache is None:
        # A transaction pooler hands each transaction to any server connection, where a
        # statement prepared on another does not exist.
        cache = 0 if target.transaction_pooler else DEFAULT_STATEMENT_CACHE
    return {
        "statement_cache_size": cache,
        "timeout": target.connect_timeout_s or settings.database_connect_timeout_s,
        "command_timeout": COMMAND_TIMEOUT_S,
        "server_settings": {"application_name": "openhire"},
    }


def _source(settings: Settings) -> str:
    return "the embedded PostgreSQL" if settings.embedded_database else "DATABASE_URL"


def _diagnose(exc: Exception, target: DatabaseTarget, source: str) -> str:
    """Why a connection attempt failed, as a short phrase, for a failure worth retrying (the
    database may be starting); raise at once for one that retrying cannot fix."""
    where = target.where
    if isinstance(exc, ssl.SSLCertVerificationError):
        raise ConfigurationError(
            f"the TLS certificate of the database at {where} could not be verified"
            f" ({exc.verify_message}); name its CA with sslrootcert=... in {source},"
            " or use sslmode=require to encrypt without verifying"
        ) from None
    if isinstance(exc, ssl.SSLError):
        raise ConfigurationError(
            f"TLS with the database at {where} failed ({exc.reason or exc}); check sslmode"
            f" and the certificates named in {source}"
        ) from None
    if isinstance(exc, socket.gaierror):
        raise DatabaseUnreachable(
            f"cannot resolve the database host {where} ({source}): {exc.strerror}"
        ) from None
    if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc):
        raise ConfigurationError(
            f"the database at {where} does not accept TLS connections, but {source} asks"
            f" for TLS (sslmode={target.sslmode}); enable TLS on that server or change sslmode"
        ) from None
    if isinstance(exc, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return str(exc)  # "the database system is starting up", "too many clients"
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        raise ConfigurationError(
            f"the database at {where} refused the credentials in {source}: {exc}"
        ) from None
    if isinstance(exc, asyncpg.PostgresError):
        raise ConfigurationError(f"the database at {where} refused the connection: {exc}") from None
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError):
        raise ConfigurationError(f"{source} is not usable: {exc}") from None
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError) or "[Errno 111]" in str(exc):
        return "connection refused"
    if isinstance(exc, FileNotFoundError):
        return "no server socket there"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    raise exc


async def wait_for_database(dsn: str, settings: Settings) -> DatabaseTarget:
    """Connect once, retrying for up to ``database_connect_timeout_s`` while the database is
    unreachable or starting; raise DatabaseUnreachable or ConfigurationError with one line
    that says which database and what is wrong."""
    target = parse_database_url(dsn)
    options = connect_options(target, settings)
    source = _source(settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + settings.database_connect_timeout_s
    delay = 0.1
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - loop.time()
        try:
            conn = await asyncpg.connect(
                target.dsn, **{**options, "timeout": max(0.5, min(options["timeout"], remaining))}
            )
        except Exception as exc:
            reason = _diagnose(exc, target, source)
            remaining = deadline - loop.time()
            if remaining <= 0.05:
                raise DatabaseUnreachable(
                    f"cannot reach the database at {target.where} ({source}): {reason};"
                    f" gave up after {attempts} attempt(s) in {loop.time() - started:.1f} s"
                ) from None
            if attempts == 1:
                log.info("database.waiting", where=target.where, reason=reason)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
            continue
        await conn.close()
        return target


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    """The pool's way to open a connection: a database that cannot be reached becomes
    DatabaseUnavailable, which requests answer with 503 and the persistence queue retries."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except _CONNECT_FAILURES as exc:
        log.warning("database.unavailable", error=type(exc).__name__)
        raise DatabaseUnavailable(
            "the database is not reachable at the moment; try again shortly",
            headers={"Retry-After": "2"},
        ) from exc


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


async def open_pool(dsn: str, settings: Settings) -> Pool:
    """A pool of at most ``database_pool_max`` connections, once the database answers."""
    target = await wait_for_database(dsn, settings)
    options = connect_options(target, settings)
    pool = await asyncpg.create_pool(
        target.dsn,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        connect=cast(Any, _connect),
        init=_init_connection,
        reset=_reset,
        **options,
    )
    assert pool is not None
    log.info(
        "database.connected",
        where=target.where,
        sslmode=target.sslmode,
        pool_max=settings.database_pool_max,
        statement_cache=options["statement_cache_size"],
    )
    return pool


# SQLSTATE classes and codes worth retrying: the statement was fine, the moment was not.
# 08 connection exception, 40 transaction rollback (serialization failure, deadlock),
# 53 insufficient resources (disk full, out of memory, too many connections), 57P0x the
# database shutting down (admin or crash shutdown, cannot connect now), 58 system (I/O) error;
# 55P03 lock not available, 57014 statement cancelled (a timeout), 25006 read-only (a failover
# in progress).
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "53", "57P", "58")
_TRANSIENT_SQLSTATES = frozenset({"55P03", "57014", "25006"})
_TRANSIENT_ERRORS = (
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed write may succeed if tried again unchanged."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        return state.startswith(_TRANSIENT_SQLSTATE_PREFIXES) or state in _TRANSIENT_SQLSTATES
    if isinstance(exc, ValueError | TypeError):
        # asyncpg's DataError (an InterfaceError too): a value that cannot be encoded for
        # the database. Retrying it would hold back every interview's events forever.
        return False
    return isinstance(exc, _TRANSIENT_ERRORS)
