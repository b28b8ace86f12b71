"""Every setting, its environment variable and its default, in one place.

Settings are read once, at start-up, from the environment (and a ``.env`` file in the
working directory, which never overrides a variable that is already set).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from server.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# OPENHIRE_MAX_SCREENSHOT_PIXELS: from a 16x16 image (the smallest accepted) to 4096x4096
# (64 MiB decoded as RGBA), so that no setting turns the decompression-bomb defence off.
MIN_SCREENSHOT_PIXELS = 16 * 16
MAX_SCREENSHOT_PIXELS = 4096 * 4096


# The server's garbage-collector thresholds unless OPENHIRE_GC_THRESHOLDS says otherwise.
GC_THRESHOLDS = (2000, 20, 100)


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
    # /metrics (Prometheus' text format) on a listener of its own, never on the public port.
    # None: not served. The host defaults to loopback: a scraper elsewhere must be let in on
    # purpose (OPENHIRE_METRICS_HOST), since the figures are not behind any log-in.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Comma-separated origins allowed by CORS; none by default.
    cors_origins: tuple[str, ...] = ()
    # Seed the demo accounts and job (supabase/seed.sql). Default: on for the embedded database.
    demo: bool = True
    # Issuer and lifetime of the access tokens the server signs in embedded mode.
    jwt_issuer: str = "openhire"
    access_token_ttl_s: int = 3600
    # The browser's sign-in, kept in an HttpOnly cookie (server/auth/refresh.py): how long an
    # unused one lasts (each use rotates it and starts the period again).
    refresh_token_ttl_s: int = 14 * 24 * 3600
    # Password reset links (server/auth/recovery.py): how long one works.
    password_reset_ttl_s: int = 3600
    # Largest request body accepted on any route (a résumé upload and its form fields).
    max_request_bytes: int = 11 * 1024 * 1024
    # Largest JSON body accepted.
    max_json_bytes: int = 256 * 1024
    # Largest résumé accepted.
    max_resume_bytes: int = 10 * 1024 * 1024
    # Failed log-ins (and sign-ups of a taken email): slowed after `login_slow_after` failures
    # in the window, refused after `login_block_after` per (account, address) pair or after
    # `login_block_after_ip` per address; an account failing `login_account_slow_after` times
    # from all addresses is spaced (server.auth.throttle).
    login_window_s: int = 900
    login_slow_after: int = 3
    login_block_after: int = 10
    login_block_after_ip: int = 50
    login_account_slow_after: int = 100
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks). Empty:
    # the client is the peer of the TCP connection, and X-Forwarded-For is ignored.
    trusted_proxies: tuple[str, ...] = ()
    # argon2 hashes (64 MiB each) running at once, and waiting beyond those; past both, 503.
    password_hash_concurrency: int = field(default_factory=lambda: usable_cores())
    password_hash_queue: int = field(default_factory=lambda: 8 * usable_cores())
    # Connections (HTTP and WebSocket) served at once; past it, new requests get 503. None:
    # the open-file limit less a reserve for the database pool, logs and blobs.
    max_connections: int | None = None
    # An idle keep-alive connection is closed after this long (behind a proxy that keeps
    # connections to the server open, set it longer than the proxy's idle timeout).
    keep_alive_timeout_s: int = 5
    # A request's line and headers must have arrived this long after the connection opened
    # (or after the previous response on it), or the connection is closed.
    header_timeout_s: float = 10.0
    # Live interviews: screenshots at most one per interval and this size; how long a
    # dropped candidate may take to reconnect; how long a socket ticket lives.
    screenshot_interval_s: float = 1.0
    max_screenshot_bytes: int = 512 * 1024
    # The most pixels a screenshot may have (width x height): a 1080p webcam frame, either way
    # up. Refused from its header before any decoding, so it also bounds decoding's memory.
    max_screenshot_pixels: int = 1920 * 1080
    reconnect_grace_s: float = 120.0
    ticket_ttl_s: float = 30.0
    # The longest an API request waits on the blob store, retries included, before it
    # answers 503 storage_unavailable. Background writers may pass their own.
    storage_deadline_s: float = 5.0
    # A résumé upload that failed or was abandoned may still land later (a gateway finishing
    # a forwarded write): its key is swept this long after the upload began, unless a row
    # took it. Longer than any gateway keeps forwarding a request.
    blob_sweep_grace_s: float = 600.0
    log_level: str = "info"
    log_format: str = "console"
    # Directory of the SQL migrations; default: supabase/migrations of the source tree.
    migrations_dir: Path | None = None
    # For tests of the migrations: the default privileges the stand-in bootstrap gives the API
    # roles on a plain PostgreSQL before the first migration, to reproduce a Supabase project's
    # (server.store.migrations.DEFAULT_PRIVILEGES). Never used where the bootstrap does not run.
    bootstrap_default_privileges: str = "none"
    # Notifications (server/notify). The app's address, for links in emails (default: this
    # server's own address).
    public_url: str | None = None
    # Live streams: a heartbeat comment this often keeps proxies from closing an idle stream;
    # a stream more than this many notifications behind is dropped (its client resumes).
    notifications_heartbeat_s: float = 15.0
    notifications_stream_queue: int = 256
    # The expiry scheduler's pass, and how long before a scheduled interview expires its
    # candidate is reminded.
    expiry_check_every_s: float = 60.0
    expiry_reminder_before_s: float = 6 * 3600.0
    # Webhooks: private, loopback and link-local targets (and plain http) allowed (tests, local
    # development only); an attempt's whole deadline; the first retry's wait (each next one
    # three times longer); attempts in all; attempts made at once by one server.
    webhooks_allow_private: bool = False
    webhook_timeout_s: float = 15.0
    webhook_first_retry_s: float = 10.0
    webhook_max_attempts: int = 10
    webhook_concurrency: int = 16
    # Unset: no email is sent (server/notify/email.py says what the URL looks like).
    smtp_url: str | None = field(default=None, repr=False)
    # Kept for later issues: named here so the whole interface lives in one place.
    # Set: sign-up, log-in and tokens are Supabase Auth's (see check_supabase_settings).
    supabase_url: str | None = None
    supabase_service_role_key: str | None = field(default=None, repr=False)
    supabase_jwt_secret: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    # Spoken answers (server/speech). Speech is configured apart from the interviewer: its own
    # OpenAI-compatible server and key (defaults: the interviewer's). Unset STT model: no
    # spoken interviews on this server (a job whose plan asks for them is refused, 422).
    speech_base_url: str | None = None
    speech_api_key: str | None = field(default=None, repr=False)
    stt_model: str | None = None
    # Set: questions are spoken by this OpenAI-compatible speech model (audio.speech), in
    # this voice; unset: the browser speaks them (Web Speech API).
    tts_model: str | None = None
    tts_voice: str = "alloy"
    # End of a spoken answer: this much silence after speech ends it. An answer shorter than
    # the minimum (of speech) is no answer; one reaching the maximum is ended there.
    speech_end_silence_s: float = 1.2
    speech_min_answer_s: float = 0.3
    speech_max_answer_s: float = 300.0
    # The voice activity detector's aggressiveness (webrtcvad's mode, 0-3): higher filters
    # more background noise out, at the risk of clipping quiet speech.
    vad_aggressiveness: int = 3
    # One transcription request's deadline, and the attempts made on transient failures
    # (waiting 0.5 s, then 1 s, 2 s... between them) before the answer is kept untranscribed.
    stt_timeout_s: float = 30.0
    stt_attempts: int = 3
    # Ask for the transcript as a stream of deltas (models that support it), shown live; and
    # the language answers are expected in (ISO 639-1; unset: the model detects it).
    stt_stream: bool = False
    stt_language: str | None = None
    # A live transcript while the candidate speaks: each phrase (cut at a short pause) is
    # transcribed as it is heard and shown as transcript.delta; the whole answer is still
    # transcribed at its end for the committed text (about twice the transcription).
    stt_live: bool = True
    # Several nodes behind a load balancer (docs/deploy-cluster.md): the Redis they share.
    # Unset: one node, everything in its own memory. Set: DATABASE_URL must be set too.
    redis_url: str | None = field(default=None, repr=False)
    # How long a live interview's owner holds its lease without renewing it: a dead (or
    # paused) node's interviews are taken over this long after its last renewal.
    lease_s: float = 3.0
    # This node's name in the cluster; default: host name, process id and a random suffix.
    node_name: str | None = None
    # The embedded identity's signing key (an ES256 PEM): nodes with separate data directories
    # must share one, so that each verifies the others' tokens. Default: in data_dir.
    jwt_signing_key_file: Path | None = None
    # Camera and microphone over WebRTC (server/media/, docs/protocol.md section "Media").
    # webrtc: off answers every rtc.offer with rtc_unavailable. ice_servers: handed to clients
    # in session.ready and used by the server's own peers (JSON, RTCIceServer's shape). The UDP
    # ports the server's host candidates bind, both ends included (None: any). At most
    # max_media_sessions peers at once (candidates' and watchers'). Video is recorded only with
    # record_video; recordings are cut into closed segments of recording_segment_s. A track
    # with no frame for media_silence_s is logged as no_media; a peer whose ICE has not
    # connected within media_connect_timeout_s is closed. A candidate's video may be at most
    # max_video_width x max_video_height (either way round) at max_video_fps, and its peer may
    # receive at most max_media_bitrate_kbps (everything on its transport, averaged over a
    # second): an offer asking for more is refused, and a peer sending larger frames, or over
    # the bitrate for media_over_limit_s, is closed (rtc_video_limit).
    # Worker processes of the scripted scorer (server/interviewer/scoring_pool.py); 0: a thread.
    scoring_processes: int = 1
    # gc.set_threshold once started (Python's default is 700, 10, 10): fewer, cheaper full
    # collections under load (docs/benchmarks.md, "Garbage collections").
    gc_thresholds: tuple[int, int, int] = GC_THRESHOLDS
    webrtc: bool = True
    ice_servers: tuple[IceServer, ...] = ()
    rtc_port_min: int | None = None
    rtc_port_max: int | None = None
    max_media_sessions: int = 50
    record_video: bool = False
    recording_segment_s: float = 10.0
    media_silence_s: float = 5.0
    media_connect_timeout_s: float = 20.0
    max_video_width: int = 1280
    max_video_height: int = 720
    max_video_fps: int = 30
    max_media_bitrate_kbps: int = 4000
    media_over_limit_s: float = 5.0

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def speech_configured(self) -> bool:
        """Spoken answers can be transcribed here (OPENHIRE_STT_MODEL is set)."""
        return self.stt_model is not None

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
        metrics_port = (
            _int(env, "OPENHIRE_METRICS_PORT", 0) if "OPENHIRE_METRICS_PORT" in env else None
        )
        if metrics_port is not None and not (1 <= metrics_port <= 65535 and metrics_port != port):
            raise ConfigurationError(
                "OPENHIRE_METRICS_PORT must be a port number (1-65535) other than"
                f" OPENHIRE_PORT ({port}), got {metrics_port}"
            )
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
        max_pixels = _int(env, "OPENHIRE_MAX_SCREENSHOT_PIXELS", 1920 * 1080)
        if not MIN_SCREENSHOT_PIXELS <= max_pixels <= MAX_SCREENSHOT_PIXELS:
            raise ConfigurationError(
                f"OPENHIRE_MAX_SCREENSHOT_PIXELS must be {MIN_SCREENSHOT_PIXELS}"
                f" to {MAX_SCREENSHOT_PIXELS} (4096x4096), got {max_pixels}"
            )
        cores = usable_cores()
        hash_concurrency = _int(env, "OPENHIRE_PASSWORD_HASH_CONCURRENCY", cores)
        hash_queue = _int(env, "OPENHIRE_PASSWORD_HASH_QUEUE", 8 * hash_concurrency)
        if hash_concurrency < 1 or hash_queue < 0:
            raise ConfigurationError(
                "OPENHIRE_PASSWORD_HASH_CONCURRENCY must be 1 or more and"
                f" OPENHIRE_PASSWORD_HASH_QUEUE 0 or more, got {hash_concurrency}, {hash_queue}"
            )
        max_connections = (
            _int(env, "OPENHIRE_MAX_CONNECTIONS", 0) if "OPENHIRE_MAX_CONNECTIONS" in env else None
        )
        if max_connections is not None and max_connections < 1:
            raise ConfigurationError(
                f"OPENHIRE_MAX_CONNECTIONS must be 1 or more, got {max_connections}"
            )
        keep_alive = _int(env, "OPENHIRE_KEEP_ALIVE_TIMEOUT", 5)
        header_timeout = _float(env, "OPENHIRE_HEADER_TIMEOUT", 10.0)
        if keep_alive < 1 or not header_timeout > 0:
            raise ConfigurationError(
                "OPENHIRE_KEEP_ALIVE_TIMEOUT must be 1 second or more and OPENHIRE_HEADER_TIMEOUT"
                f" more than 0, got {keep_alive}, {header_timeout}"
            )
        login_block_after = _int(env, "OPENHIRE_LOGIN_BLOCK_AFTER", 10)
        login_block_after_ip = _int(env, "OPENHIRE_LOGIN_BLOCK_AFTER_IP", 50)
        if login_block_after < 1 or login_block_after_ip < 1:
            raise ConfigurationError(
                "OPENHIRE_LOGIN_BLOCK_AFTER and OPENHIRE_LOGIN_BLOCK_AFTER_IP must be 1 or more,"
                f" got {login_block_after}, {login_block_after_ip}"
            )
        connect_timeout = _float(env, "OPENHIRE_DB_CONNECT_TIMEOUT", 5.0)
        port_min, port_max = _port_range(env)
        if not connect_timeout > 0:
            raise ConfigurationError(
                f"OPENHIRE_DB_CONNECT_TIMEOUT must be more than 0 seconds, got {connect_timeout}"
            )
        speech = _speech_settings(env)
        settings = cls(
            data_dir=Path(env.get("OPENHIRE_DATA_DIR", ".openhire")),
            database_url=database_url,
            database_pool_min=pool_min,
            database_pool_max=pool_max,
            database_statement_cache=statement_cache,
            database_connect_timeout_s=connect_timeout,
            host=env.get("OPENHIRE_HOST", "127.0.0.1"),
            port=port,
            metrics_port=metrics_port,
            metrics_host=env.get("OPENHIRE_METRICS_HOST", "127.0.0.1"),
            cors_origins=tuple(
                o.strip() for o in env.get("OPENHIRE_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            demo=_bool(env, "OPENHIRE_DEMO", database_url is None),
            jwt_issuer=env.get("OPENHIRE_JWT_ISSUER", "openhire"),
            access_token_ttl_s=_int(env, "OPENHIRE_ACCESS_TOKEN_TTL", 3600),
            refresh_token_ttl_s=_int(env, "OPENHIRE_REFRESH_TOKEN_TTL", 14 * 24 * 3600),
            password_reset_ttl_s=_int(env, "OPENHIRE_PASSWORD_RESET_TTL", 3600),
            max_resume_bytes=_int(env, "OPENHIRE_MAX_RESUME_BYTES", 10 * 1024 * 1024),
            login_block_after=login_block_after,
            login_block_after_ip=login_block_after_ip,
            trusted_proxies=_trusted_proxies(env.get("OPENHIRE_TRUSTED_PROXIES", "")),
            password_hash_concurrency=hash_concurrency,
            password_hash_queue=hash_queue,
            max_connections=max_connections,
            keep_alive_timeout_s=keep_alive,
            header_timeout_s=header_timeout,
            screenshot_interval_s=_float(env, "OPENHIRE_SCREENSHOT_INTERVAL", 1.0),
            max_screenshot_bytes=_int(env, "OPENHIRE_MAX_SCREENSHOT_BYTES", 512 * 1024),
            max_screenshot_pixels=max_pixels,
            reconnect_grace_s=_float(env, "OPENHIRE_RECONNECT_GRACE", 120.0),
            ticket_ttl_s=min(60.0, _float(env, "OPENHIRE_TICKET_TTL", 30.0)),
            storage_deadline_s=_positive(env, "OPENHIRE_STORAGE_DEADLINE", 5.0),
            blob_sweep_grace_s=_positive(env, "OPENHIRE_BLOB_SWEEP_GRACE", 600.0),
            log_level=env.get("OPENHIRE_LOG_LEVEL", "info").lower(),
            log_format=env.get("OPENHIRE_LOG_FORMAT", "console").lower(),
            migrations_dir=(
                Path(env["OPENHIRE_MIGRATIONS_DIR"]) if "OPENHIRE_MIGRATIONS_DIR" in env else None
            ),
            bootstrap_default_privileges=_choice(
                env,
                "OPENHIRE_BOOTSTRAP_DEFAULT_PRIVILEGES",
                "none",
                ("none", "supabase", "supabase-legacy"),
            ),
            supabase_url=env.get("SUPABASE_URL"),
            supabase_service_role_key=env.get("SUPABASE_SERVICE_ROLE_KEY"),
            supabase_jwt_secret=env.get("SUPABASE_JWT_SECRET"),
            openai_api_key=env.get("OPENAI_API_KEY"),
            openai_base_url=env.get("OPENAI_BASE_URL"),
            model=env.get("OPENHIRE_MODEL", "gpt-4o-mini"),
            redis_url=env.get("REDIS_URL") or None,
            lease_s=_positive(env, "OPENHIRE_LEASE", 3.0),
            node_name=env.get("OPENHIRE_NODE_NAME") or None,
            jwt_signing_key_file=(
                Path(env["OPENHIRE_JWT_SIGNING_KEY_FILE"])
                if env.get("OPENHIRE_JWT_SIGNING_KEY_FILE")
                else None
            ),
            public_url=env.get("OPENHIRE_PUBLIC_URL"),
            notifications_heartbeat_s=_positive(env, "OPENHIRE_NOTIFICATIONS_HEARTBEAT", 15.0),
            notifications_stream_queue=_at_least(
                env, "OPENHIRE_NOTIFICATIONS_STREAM_QUEUE", 256, 1
            ),
            expiry_check_every_s=_positive(env, "OPENHIRE_EXPIRY_CHECK_INTERVAL", 60.0),
            expiry_reminder_before_s=_positive(env, "OPENHIRE_EXPIRY_REMINDER", 6 * 3600.0),
            webhooks_allow_private=_bool(env, "OPENHIRE_WEBHOOKS_ALLOW_PRIVATE", False),
            webhook_timeout_s=_positive(env, "OPENHIRE_WEBHOOK_TIMEOUT", 15.0),
            webhook_first_retry_s=_positive(env, "OPENHIRE_WEBHOOK_FIRST_RETRY", 10.0),
            webhook_max_attempts=_at_least(env, "OPENHIRE_WEBHOOK_MAX_ATTEMPTS", 10, 1),
            webhook_concurrency=_at_least(env, "OPENHIRE_WEBHOOK_CONCURRENCY", 16, 1),
            smtp_url=env.get("OPENHIRE_SMTP_URL"),
            scoring_processes=_at_least(env, "OPENHIRE_SCORING_PROCESSES", 1, 0),
            gc_thresholds=_gc_thresholds(env.get("OPENHIRE_GC_THRESHOLDS")),
            webrtc=_bool(env, "OPENHIRE_WEBRTC", True),
            ice_servers=_ice_servers(env.get("OPENHIRE_ICE_SERVERS", "")),
            rtc_port_min=port_min,
            rtc_port_max=port_max,
            max_media_sessions=_at_least(env, "OPENHIRE_MAX_MEDIA_SESSIONS", 50, 0),
            record_video=_bool(env, "OPENHIRE_RECORD_VIDEO", False),
            recording_segment_s=_positive(env, "OPENHIRE_RECORDING_SEGMENT", 10.0),
            media_silence_s=_positive(env, "OPENHIRE_MEDIA_SILENCE", 5.0),
            media_connect_timeout_s=_positive(env, "OPENHIRE_MEDIA_CONNECT_TIMEOUT", 20.0),
            max_video_width=_at_least(env, "OPENHIRE_MAX_VIDEO_WIDTH", 1280, 16),
            max_video_height=_at_least(env, "OPENHIRE_MAX_VIDEO_HEIGHT", 720, 16),
            max_video_fps=_at_least(env, "OPENHIRE_MAX_VIDEO_FPS", 30, 1),
            max_media_bitrate_kbps=_at_least(env, "OPENHIRE_MAX_MEDIA_BITRATE", 4000, 16),
            media_over_limit_s=_positive(env, "OPENHIRE_MEDIA_OVER_LIMIT", 5.0),
        ).replace(**speech)
        if settings.redis_url is not None and settings.database_url is None:
            raise ConfigurationError(
                "REDIS_URL is set, so this node is one of several: set DATABASE_URL to the"
                " PostgreSQL they share (an embedded database is this node's alone)"
            )
        check_supabase_settings(settings)
        return settings


def _speech_settings(env: Mapping[str, str]) -> dict[str, object]:
    """The speech settings (docs/operations.md#spoken-interviews), checked together."""
    stt_model = env.get("OPENHIRE_STT_MODEL")
    tts_model = env.get("OPENHIRE_TTS_MODEL")
    api_key = env.get("OPENHIRE_SPEECH_API_KEY", env.get("OPENAI_API_KEY"))
    if (stt_model or tts_model) and not api_key:
        name = "OPENHIRE_STT_MODEL" if stt_model else "OPENHIRE_TTS_MODEL"
        raise ConfigurationError(
            f"{name} is set but no key for the speech server is: set OPENHIRE_SPEECH_API_KEY"
            " (or OPENAI_API_KEY); a self-hosted server that checks no key accepts any value"
        )
    end_silence = _float(env, "OPENHIRE_SPEECH_END_SILENCE", 1.2)
    min_answer = _float(env, "OPENHIRE_SPEECH_MIN_ANSWER", 0.3)
    max_answer = _float(env, "OPENHIRE_SPEECH_MAX_ANSWER", 300.0)
    # At most 300 s: an answer's audio (16 kHz 16-bit WAV, 32 KB/s) fits the recordings
    # bucket's 10 MiB.
    if not (0.3 <= end_silence <= 10 and 0 <= min_answer < max_answer <= 300):
        raise ConfigurationError(
            "OPENHIRE_SPEECH_END_SILENCE must be 0.3 to 10 seconds and OPENHIRE_SPEECH_MIN_ANSWER"
            " less than OPENHIRE_SPEECH_MAX_ANSWER (at most 300 seconds), got"
            f" {end_silence}, {min_answer}, {max_answer}"
        )
    aggressiveness = _int(env, "OPENHIRE_VAD_AGGRESSIVENESS", 3)
    if not 0 <= aggressiveness <= 3:
        raise ConfigurationError(
            f"OPENHIRE_VAD_AGGRESSIVENESS must be 0, 1, 2 or 3, got {aggressiveness}"
        )
    return {
        "speech_base_url": env.get("OPENHIRE_SPEECH_BASE_URL", env.get("OPENAI_BASE_URL")),
        "speech_api_key": api_key,
        "stt_model": stt_model,
        "tts_model": tts_model,
        "tts_voice": env.get("OPENHIRE_TTS_VOICE", "alloy"),
        "speech_end_silence_s": end_silence,
        "speech_min_answer_s": min_answer,
        "speech_max_answer_s": max_answer,
        "vad_aggressiveness": aggressiveness,
        "stt_timeout_s": _positive(env, "OPENHIRE_STT_TIMEOUT", 30.0),
        "stt_attempts": _at_least(env, "OPENHIRE_STT_ATTEMPTS", 3, 1),
        "stt_stream": _bool(env, "OPENHIRE_STT_STREAM", False),
        "stt_language": env.get("OPENHIRE_STT_LANGUAGE"),
        "stt_live": _bool(env, "OPENHIRE_STT_LIVE", True),
    }


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


def usable_cores() -> int:
    """The cores this process may run on (a container's share, where the OS says so)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _trusted_proxies(raw: str) -> tuple[str, ...]:
    """Addresses and networks, normalised. uvicorn would take a malformed entry as a literal
    host name that never matches; refused here instead, naming it."""
    proxies = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            proxies.append(
                str(ipaddress.ip_network(item, strict=False))
                if "/" in item
                else str(ipaddress.ip_address(item))
            )
        except ValueError:
            raise ConfigurationError(
                "OPENHIRE_TRUSTED_PROXIES must list IP addresses or networks of your reverse"
                f" proxies (like 10.0.0.5,10.1.0.0/16), got {item!r}"
            ) from None
    return tuple(proxies)


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN or TURN server, as WebRTC's RTCIceServer describes it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out


def _ice_servers(raw: str) -> tuple[IceServer, ...]:
    """OPENHIRE_ICE_SERVERS: a JSON list of ``{"urls": str | [str], "username"?,
    "credential"?}``, each URL stun:, stuns:, turn: or turns:."""
    if not raw.strip():
        return ()
    import json

    name = "OPENHIRE_ICE_SERVERS"
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a JSON list of ICE servers") from None
    if not isinstance(parsed, list):
        raise ConfigurationError(f"{name} must be a JSON list of ICE servers")
    servers = []
    for item in parsed:
        if not isinstance(item, dict) or set(item) - {"urls", "username", "credential"}:
            raise ConfigurationError(
                f'{name}: each server is {{"urls": ..., "username"?, "credential"?}}'
            )
        urls = item.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigurationError(f"{name}: urls must be a URL or a non-empty list of URLs")
        for url in urls:
            if url.split(":", 1)[0] not in ("stun", "stuns", "turn", "turns"):
                raise ConfigurationError(f"{name}: {url!r} is not a stun: or turn: URL")
        username, credential = item.get("username"), item.get("credential")
        if not all(v is None or isinstance(v, str) for v in (username, credential)):
            raise ConfigurationError(f"{name}: username and credential must be strings")
        servers.append(IceServer(tuple(urls), username, credential))
    return tuple(servers)


def _port_range(env: Mapping[str, str]) -> tuple[int | None, int | None]:
    low = _int(env, "OPENHIRE_RTC_PORT_MIN", 0) if "OPENHIRE_RTC_PORT_MIN" in env else None
    high = _int(env, "OPENHIRE_RTC_PORT_MAX", 0) if "OPENHIRE_RTC_PORT_MAX" in env else None
    if (low is None) != (high is None):
        raise ConfigurationError(
            "set both OPENHIRE_RTC_PORT_MIN and OPENHIRE_RTC_PORT_MAX, or neither"
        )
    if low is not None and high is not None and not 1024 <= low <= high <= 65535:
        raise ConfigurationError(
            f"OPENHIRE_RTC_PORT_MIN..MAX must be a range within 1024..65535, got {low}..{high}"
        )
    return low, high


def _load_dotenv() -> None:
    path = Path.cwd() / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _gc_thresholds(raw: str | None) -> tuple[int, int, int]:
    if raw is None:
        return GC_THRESHOLDS
    try:
        first, second, third = (int(part) for part in raw.split(","))
    except ValueError:
        first = second = third = 0
    if min(first, second, third) < 1:
        raise ConfigurationError(
            f"OPENHIRE_GC_THRESHOLDS must be three whole numbers of 1 or more, such as"
            f" 2000,20,100; got {raw!r}"
        )
    return first, second, third


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


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, default).lower()
    if raw not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be a number of seconds more than 0, got {value}")
    return value


def _at_least(env: Mapping[str, str], name: str, default: int, least: int) -> int:
    value = _int(env, name, default)
    if value < least:
        raise ConfigurationError(f"{name} must be {least} or more, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")
