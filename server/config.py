"""Every setting, its environment variable and its default, in one place.

Settings are read once, at start-up, from the environment (and a ``.env`` file in the
working directory, which never overrides a variable that is already set).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from server.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class Settings:
    # Where the embedded database, the signing key and local blobs live.
    data_dir: Path = Path(".openhire")
    # Unset: an embedded PostgreSQL in data_dir. Set: that database. It may carry a password:
    # kept out of repr, and never logged (server.store.database.describe_dsn names the host).
    database_url: str | None = field(default=None, repr=False)
    # Connection pool bounds for asyncpg: at most `database_pool_max` connections per process.
    database_pool_min: int = 1
    database_pool_max: int = 10
    # Prepared statements cached per connection. None: 1024, or 0 behind a transaction pooler
    # (port 6543 or ?pgbouncer=true in the URL), which cannot keep prepared statements.
    database_statement_cache: int | None = None
    # How long start-up waits for the database to answer (retrying a refused connection or a
    # database still starting), and how long one connection attempt may take at any time.
    database_connect_timeout_s: float = 5.0
    host: str = "127.0.0.1"
    port: int = 8000
    # Comma-separated origins allowed by CORS; none by default.
    cors_origins: tuple[str, ...] = ()
    # Seed the demo accounts and job (supabase/seed.sql). Default: on for the embedded database.
    demo: bool = True
    # Issuer and lifetime of the access tokens the server signs in embedded mode.
    jwt_issuer: str = "openhire"
    access_token_ttl_s: int = 3600
    # Largest request body accepted on any route (a résumé upload and its form fields).
    max_request_bytes: int = 11 * 1024 * 1024
    # Largest JSON body accepted.
    max_json_bytes: int = 256 * 1024
    # Largest résumé accepted.
    max_resume_bytes: int = 10 * 1024 * 1024
    # Failed log-ins: slowed after `login_slow_after` failures in the window, refused after
    # `login_block_after` (per account), or after `login_block_after_ip` (per address).
    login_window_s: int = 900
    login_slow_after: int = 3
    login_block_after: int = 10
    login_block_after_ip: int = 50
    # Live interviews: screenshots at most one per interval and this size; how long a
    # dropped candidate may take to reconnect; how long a socket ticket lives.
    screenshot_interval_s: float = 1.0
    max_screenshot_bytes: int = 512 * 1024
    reconnect_grace_s: float = 120.0
    ticket_ttl_s: float = 30.0
    log_level: str = "info"
    log_format: str = "console"
    # Directory of the SQL migrations; default: supabase/migrations of the source tree.
    migrations_dir: Path | None = None
    # Kept for later issues: named here so the whole interface lives in one place.
    # Set: sign-up, log-in and tokens are Supabase Auth's (see check_supabase_settings).
    supabase_url: str | None = None
    supabase_service_role_key: str | None = field(default=None, repr=False)
    supabase_jwt_secret: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    redis_url: str | None = None

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read the settings from ``environ`` (default: the process environment)."""
        if environ is None:
            if dotenv:
                _load_dotenv()
            environ = os.environ
        env = {k: v for k, v in environ.items() if v != ""}
        database_url = env.get("DATABASE_URL")
        port = _int(env, "OPENHIRE_PORT", 8000)
        pool_min = _int(env, "OPENHIRE_DB_POOL_MIN", 1)
        pool_max = _int(env, "OPENHIRE_DB_POOL_MAX", 10)
        if pool_max < 1 or not 0 <= pool_min <= pool_max:
            raise ConfigurationError(
                "OPENHIRE_DB_POOL_MIN and OPENHIRE_DB_POOL_MAX must satisfy"
                f" 0 <= min <= max and max >= 1, got min={pool_min}, max={pool_max}"
            )
        statement_cache = (
            _int(env, "OPENHIRE_DB_STATEMENT_CACHE", 0)
            if "OPENHIRE_DB_STATEMENT_CACHE" in env
            else None
        )
        if statement_cache is not None and statement_cache < 0:
            raise ConfigurationError(
                f"OPENHIRE_DB_STATEMENT_CACHE must be 0 or more, got {statement_cache}"
            )
        connect_timeout = _float(env, "OPENHIRE_DB_CONNECT_TIMEOUT", 5.0)
        if not connect_timeout > 0:
            raise ConfigurationError(
                f"OPENHIRE_DB_CONNECT_TIMEOUT must be more than 0 seconds, got {connect_timeout}"
            )
        settings = cls(
            data_dir=Path(env.get("OPENHIRE_DATA_DIR", ".openhire")),
            database_url=database_url,
            database_pool_min=pool_min,
            database_pool_max=pool_max,
            database_statement_cache=statement_cache,
            database_connect_timeout_s=connect_timeout,
            host=env.get("OPENHIRE_HOST", "127.0.0.1"),
            port=port,
            cors_origins=tuple(
                o.strip() for o in env.get("OPENHIRE_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            demo=_bool(env, "OPENHIRE_DEMO", database_url is None),
            jwt_issuer=env.get("OPENHIRE_JWT_ISSUER", "openhire"),
            access_token_ttl_s=_int(env, "OPENHIRE_ACCESS_TOKEN_TTL", 3600),
            max_resume_bytes=_int(env, "OPENHIRE_MAX_RESUME_BYTES", 10 * 1024 * 1024),
            screenshot_interval_s=_float(env, "OPENHIRE_SCREENSHOT_INTERVAL", 1.0),
            max_screenshot_bytes=_int(env, "OPENHIRE_MAX_SCREENSHOT_BYTES", 512 * 1024),
            reconnect_grace_s=_float(env, "OPENHIRE_RECONNECT_GRACE", 120.0),
            ticket_ttl_s=min(60.0, _float(env, "OPENHIRE_TICKET_TTL", 30.0)),
            log_level=env.get("OPENHIRE_LOG_LEVEL", "info").lower(),
            log_format=env.get("OPENHIRE_LOG_FORMAT", "console").lower(),
            migrations_dir=(
                Path(env["OPENHIRE_MIGRATIONS_DIR"]) if "OPENHIRE_MIGRATIONS_DIR" in env else None
            ),
            supabase_url=env.get("SUPABASE_URL"),
            supabase_service_role_key=env.get("SUPABASE_SERVICE_ROLE_KEY"),
            supabase_jwt_secret=env.get("SUPABASE_JWT_SECRET"),
            openai_api_key=env.get("OPENAI_API_KEY"),
            openai_base_url=env.get("OPENAI_BASE_URL"),
            model=env.get("OPENHIRE_MODEL", "gpt-4o-mini"),
            redis_url=env.get("REDIS_URL"),
        )
        check_supabase_settings(settings)
        return settings


def check_supabase_settings(settings: Settings) -> None:
    """Refuse a Supabase configuration that cannot work, before anything is started.

    Supabase Auth writes its users into ``auth.users`` of the project's own database, and
    ``public.users`` points at them: with ``SUPABASE_URL`` set, ``DATABASE_URL`` must be that
    database, never the embedded one. What needs the network (is the URL Supabase, is the key
    accepted) is checked when the identity provider opens.
    """
    url = settings.supabase_url
    if url is None:
        for name, value in (
            ("SUPABASE_SERVICE_ROLE_KEY", settings.supabase_service_role_key),
            ("SUPABASE_JWT_SECRET", settings.supabase_jwt_secret),
        ):
            if value is not None:
                raise ConfigurationError(
                    f"{name} is set but SUPABASE_URL is not: set SUPABASE_URL to the project URL"
                    " (https://<project-ref>.supabase.co), or unset both"
                )
        return
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(
            "SUPABASE_URL must be an http(s) URL like https://<project-ref>.supabase.co,"
            f" got {url!r}"
        )
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ConfigurationError(
            "SUPABASE_URL must be the bare project URL (https://<project-ref>.supabase.co),"
            " without credentials, query or fragment"
        )
    if parsed.path.rstrip("/").endswith(("/auth/v1", "/rest/v1", "/storage/v1")):
        raise ConfigurationError(
            f"SUPABASE_URL must be the project URL without an API path: got {url!r}, expected"
            " https://<project-ref>.supabase.co"
        )
    if not settings.supabase_service_role_key:
        raise ConfigurationError(
            "SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY is not: set it to the project's"
            " secret key (sb_secret_...) or legacy service_role key, from Project Settings > API"
            " Keys"
        )
    if settings.database_url is None:
        raise ConfigurationError(
            "SUPABASE_URL is set but DATABASE_URL is not: Supabase Auth keeps its users in the"
            " project's database, so OpenHire must use that database too; set DATABASE_URL to"
            " the project's connection string (Connect > Session pooler or Direct connection)"
        )
    secret = settings.supabase_jwt_secret
    if secret is not None and len(secret.encode()) < 32:
        raise ConfigurationError(
            "SUPABASE_JWT_SECRET is shorter than 32 bytes: it must be the project's legacy JWT"
            " secret, as shown under Project Settings > JWT Keys"
        )


def _load_dotenv() -> None:
    path = Path.cwd() / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")
