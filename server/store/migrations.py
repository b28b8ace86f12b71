"""Apply supabase/migrations/*.sql to any PostgreSQL, recording them as the Supabase CLI does.

Applied versions are kept in ``supabase_migrations.schema_migrations`` (version, name,
statements): the table ``supabase db push`` reads and writes, so either tool can follow the
other. Each file runs in its own transaction under an advisory lock, so two servers starting at
once apply each file exactly once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import structlog

from server.config import Settings
from server.errors import ConfigurationError
from server.store.database import Connection

log = structlog.get_logger(__name__)

_FILENAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
# An arbitrary, fixed key for pg_advisory_xact_lock.
_LOCK_KEY = 0x0_9E_4B_1E


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


SUPABASE_DIR = Path(__file__).resolve().parents[2] / "supabase"


def default_migrations_dir() -> Path:
    return SUPABASE_DIR / "migrations"


def seed_paths() -> list[Path]:
    """The seed files named by supabase/config.toml ([db.seed]), as `supabase db reset` uses."""
    with (SUPABASE_DIR / "config.toml").open("rb") as handle:
        seed = tomllib.load(handle).get("db", {}).get("seed", {})
    if not seed.get("enabled", True):
        return []
    return [(SUPABASE_DIR / p).resolve() for p in seed.get("sql_paths", ["./seed.sql"])]


async def prepare_database(conn: Connection, settings: Settings) -> list[str]:
    """Bootstrap (on plain PostgreSQL), apply pending migrations, seed the demo if asked.

    Returns the versions applied now."""
    await bootstrap_supabase_objects(conn)
    applied = await apply_migrations(conn, settings.migrations_dir or default_migrations_dir())
    if settings.demo:
        for path in seed_paths():
            await apply_seed(conn, path)
    return applied


def find_migrations(directory: Path) -> list[Migration]:
    if not directory.is_dir():
        raise ConfigurationError(f"migrations directory not found: {directory}")
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if match is None:
            raise ConfigurationError(
                f"migration file {path.name} is not named YYYYMMDDHHMMSS_name.sql"
            )
        found.append(Migration(match["version"], match["name"], path))
    return found


# What each bootstrap script creates is present when these hold. Storage's part is checked on
# its own, for databases bootstrapped by versions that made no storage helpers, and only for
# what policies need: the auth script must never run where Supabase's own auth schema exists.
_BOOTSTRAP_PARTS = (
    (
        "sql/supabase_bootstrap.sql",
        "select to_regclass('auth.users') is not null"
        " and exists (select 1 from pg_roles where rolname = 'authenticated')"
        " and to_regprocedure('auth.uid()') is not null",
    ),
    (
        "sql/supabase_storage_bootstrap.sql",
        "select to_regclass('storage.buckets') is not null"
        " and to_regclass('storage.objects') is not null"
        " and to_regprocedure('storage.foldername(text)') is not null",
    ),
)


async def bootstrap_supabase_objects(conn: Connection) -> bool:
    """Create the roles, ``auth`` schema and ``storage`` schema Supabase provides, where missing.

    Returns whether the bootstrap ran (False on a real Supabase database).
    """
    missing = [script for script, check in _BOOTSTRAP_PARTS if not await conn.fetchval(check)]
    if not missing:
        return False
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _LOCK_KEY)
        for script in missing:
            await conn.execute(resources.files("server.store").joinpath(script).read_text())
    log.info("migrations.bootstrapped", scripts=[Path(s).name for s in missing])
    return True


async def apply_migrations(conn: Connection, directory: Path) -> list[str]:
    """Apply every pending migration in ``directory``; return the versions applied."""
    migrations = find_migrations(directory)
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            """
            create schema if not exists supabase_migrations;
            create table if not exists supabase_migrations.schema_migrations (
              version text primary key,
              statements text[],
              name text
            );
            """
        )
    applied: list[str] = []
    for migration in migrations:
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", _LOCK_KEY)
            done = await conn.fetchval(
                "select 1 from supabase_migrations.schema_migrations where version = $1",
                migration.version,
            )
            if done:
                continue
            sql = migration.sql
            await conn.execute(sql)
            await conn.execute(
                "insert into supabase_migrations.schema_migrations (version, name, statements)"
                " values ($1, $2, $3)",
                migration.version,
                migration.name,
                [sql],
            )
        log.info("migrations.applied", version=migration.version, name=migration.name)
        applied.append(migration.version)
    return applied


async def apply_seed(conn: Connection, path: Path) -> None:
    sql = path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small file, read once at start
    async with conn.transaction():
        await conn.execute(sql)
