"""Apply supabase/migrations/*.sql to any PostgreSQL, recording them as the Supabase CLI does.

Applied versions are kept in ``supabase_migrations.schema_migrations`` (version, name,
statements): the table ``supabase db push`` reads and writes, so either tool can follow the
other. Each file runs in its own transaction under an advisory lock, so two servers starting at
once apply each file exactly once. Its statements run one at a time, so that a failure (on
Supabase, often a privilege the ``postgres`` role lacks) is reported as one line naming the file
and the statement (MigrationFailed), and the file leaves nothing behind.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg
import structlog

from server.config import Settings
from server.errors import ConfigurationError, MigrationFailed
from server.store.database import Connection
from server.store.sql_script import abridge, split_statements

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

    @property
    def statements(self) -> list[str]:
        try:
            return split_statements(self.sql)
        except ConfigurationError as exc:
            raise ConfigurationError(f"migration {self.path.name}: {exc}") from None


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
    await bootstrap_supabase_objects(conn, default_privileges=settings.bootstrap_default_privileges)
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


# What each bootstrap script creates is present when these hold. The parts after the first are
# checked on their own, for databases bootstrapped by versions that made no storage helpers or
# no Auth log-in columns, and only for what they add: the auth script must never run where
# Supabase's own auth schema exists.
_BOOTSTRAP_PARTS = (
    (
        "sql/supabase_bootstrap.sql",
        "select to_regclass('auth.users') is not null"
        " and exists (select 1 from pg_roles where rolname = 'authenticated')"
        " and to_regprocedure('auth.uid()') is not null",
    ),
    (
        "sql/supabase_auth_users_bootstrap.sql",
        "select to_regclass('auth.identities') is not null"
        " and exists (select 1 from pg_attribute where attrelid = to_regclass('auth.users')"
        " and attname = 'is_sso_user' and not attisdropped)",
    ),
    (
        "sql/supabase_storage_bootstrap.sql",
        "select to_regclass('storage.buckets') is not null"
        " and to_regclass('storage.objects') is not null"
        " and to_regprocedure('storage.foldername(text)') is not null",
    ),
    (
        "sql/supabase_realtime_bootstrap.sql",
        "select exists (select 1 from pg_publication where pubname = 'supabase_realtime')",
    ),
)


# The default privileges a Supabase project gives the API roles on what its `postgres` role
# creates in `public`. Projects created before 2026-05-30 grant everything on every new table,
# sequence and function (supabase/postgres, migrations/db/init-scripts, run as postgres); newer
# ones no longer grant the Data API's privileges but still leave TRUNCATE, REFERENCES and TRIGGER
# on new tables. A plain PostgreSQL grants nothing but EXECUTE on functions to PUBLIC. Migrations
# revoke, then grant, so that they leave the same privileges under each (tests/test_rls.py).
DEFAULT_PRIVILEGES: dict[str, str] = {
    "none": "",
    "supabase": (
        "alter default privileges in schema public"
        " grant truncate, references, trigger on tables to anon, authenticated, service_role;"
    ),
    "supabase-legacy": (
        "alter default privileges in schema public"
        " grant all on tables to anon, authenticated, service_role;"
        " alter default privileges in schema public"
        " grant all on sequences to anon, authenticated, service_role;"
        " alter default privileges in schema public"
        " grant all on functions to anon, authenticated, service_role;"
    ),
}


async def bootstrap_supabase_objects(conn: Connection, *, default_privileges: str = "none") -> bool:
    """Create the roles, ``auth`` and ``storage`` schemas and the Realtime publication Supabase
    provides, where missing.

    ``default_privileges`` (a key of DEFAULT_PRIVILEGES) reproduces a Supabase project's on a
    database whose roles this bootstrap creates, for the objects the connected role creates
    from then on. Returns whether the bootstrap ran (False on a real Supabase database).
    """
    missing = [script for script, check in _BOOTSTRAP_PARTS if not await conn.fetchval(check)]
    if not missing:
        return False
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _LOCK_KEY)
        for script in missing:
            await conn.execute(resources.files("server.store").joinpath(script).read_text())
        if missing[0] == _BOOTSTRAP_PARTS[0][0] and DEFAULT_PRIVILEGES[default_privileges]:
            await conn.execute(DEFAULT_PRIVILEGES[default_privileges])
    log.info(
        "migrations.bootstrapped",
        scripts=[Path(s).name for s in missing],
        default_privileges=default_privileges,
    )
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
            statements = migration.statements
            for number, statement in enumerate(statements, start=1):
                try:
                    await conn.execute(statement)
                except asyncpg.PostgresError as exc:
                    raise MigrationFailed(
                        f"migration {migration.path.name} failed at statement {number}"
                        f" ({abridge(statement)}): {abridge(str(exc), 300)}"
                        f" [SQLSTATE {exc.sqlstate}]"
                    ) from None
            await conn.execute(
                "insert into supabase_migrations.schema_migrations (version, name, statements)"
                " values ($1, $2, $3)",
                migration.version,
                migration.name,
                statements,
            )
        log.info("migrations.applied", version=migration.version, name=migration.name)
        applied.append(migration.version)
    return applied


async def apply_seed(conn: Connection, path: Path) -> None:
    sql = path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small file, read once at start
    async with conn.transaction():
        await conn.execute(sql)
