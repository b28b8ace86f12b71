"""create_app(settings) -> OpenHireApp (a Starlette). The lifespan opens and closes every
long-lived resource."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import anyio.to_thread
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, WebSocketRoute
from starlette.types import Receive, Scope, Send

from server.auth.provider import IdentityProvider, open_identity_provider
from server.auth.throttle import LocalLoginThrottle, LoginPolicy
from server.auth.tickets import LocalTicketBook
from server.cluster.throttle import RedisLoginThrottle
from server.cluster.tickets import RedisTicketBook
from server.config import Settings
from server.errors import ConfigurationError, MigrationFailed
from server.http import (
    applications,
    auth,
    demo,
    evaluations,
    health,
    interviews,
    jobs,
    notifications,
    users,
    webhooks,
)
from server.http.errors import EXCEPTION_HANDLERS
from server.http.middleware import (
    BodySizeLimitMiddleware,
    CORSMiddleware,
    RequestLogMiddleware,
)
from server.http.openapi import build_openapi
from server.http.routing import Endpoint
from server.interviewer import ScriptedInterviewer, create_interviewer
from server.media.hub import MediaHub
from server.metrics import Metrics
from server.metrics.seams import ObservedBlobStore, ObservedInterviewer
from server.metrics.serve import GcPauseMonitor, LiveState, LoopLagMonitor, MetricsListener
from server.notify.notifications import Notifications
from server.notify.runtime import Notify
from server.services import Services
from server.sessions.cluster import open_cluster
from server.sessions.manager import SessionManager
from server.sessions.persistence import EventWriter
from server.speech.synthesize import Synthesizer
from server.speech.transcribe import Transcriber
from server.store import migrations
from server.store.blob_sweeper import BlobSweeper
from server.store.blobs import BlobStore, open_blob_store
from server.store.database import open_pool
from server.store.embedded import DataDirectoryLock, EmbeddedPostgres
from server.store.interview_log import InterviewLog
from server.transport import sockets
from server.transport.inbox import ScreenshotChecker

log = structlog.get_logger(__name__)

MODULES = (
    health,
    auth,
    users,
    jobs,
    applications,
    interviews,
    evaluations,
    notifications,
    webhooks,
)

DEMO_ACCOUNTS = (
    ("recruiter", "recruiter@demo.openhire.dev"),
    ("candidate", "candidate@demo.openhire.dev"),
)
DEMO_PASSWORD = "openhire-demo"


def public_url(settings: Settings) -> str:
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::1", "::") else settings.host
    return f"http://{host}:{settings.port}"


def print_demo_banner(settings: Settings) -> None:
    # The demo password is public (README, seed.sql); it is printed, never logged.
    lines = [
        f"OpenHire demo is ready on {public_url(settings)}",
        *(f"  {role:<9} {email}  password: {DEMO_PASSWORD}" for role, email in DEMO_ACCOUNTS),
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[str]:
    """Yield a DSN: the configured database's, or that of an embedded PostgreSQL started (and
    later stopped) for this process, with its data directory locked."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with DataDirectoryLock(settings.data_dir):
        pg = EmbeddedPostgres(settings.data_dir)
        await anyio.to_thread.run_sync(pg.start)
        try:
            yield pg.dsn
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(pg.stop)


def create_app(settings: Settings) -> Starlette:
    endpoints: list[Endpoint] = [e for m in MODULES for e in m.api.endpoints]
    openapi_document = build_openapi(endpoints)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # This app's own registry (not prometheus_client's global one): it lives and dies
        # with the lifespan.
        metrics = Metrics()
        async with open_database(settings) as dsn:
            pool = await open_pool(dsn, settings)
            identity: IdentityProvider | None = None
            try:
                async with pool.acquire() as conn:
                    try:
                        await migrations.prepare_database(conn, settings)
                    except MigrationFailed as exc:
                        print(f"openhire: {exc}", file=sys.stderr, flush=True)
                        raise
                try:
                    identity = await open_identity_provider(settings, pool)
                except ConfigurationError as exc:
                    # One plain line saying what is wrong, before uvicorn's traceback.
                    print(f"openhire: {exc}", file=sys.stderr, flush=True)
                    raise
                try:
                    blobs: BlobStore = ObservedBlobStore(await open_blob_store(settings), metrics)
                except ConfigurationError as exc:
                    print(f"openhire: {exc}", file=sys.stderr, flush=True)
                    raise
                sweeper = BlobSweeper.for_grace(pool, blobs, settings.blob_sweep_grace_s)
                interviewer = create_interviewer(settings)
                if isinstance(interviewer, ScriptedInterviewer):
                    # Its scoring worker starts now, beside the server's own start-up, rather
                    # than make the first interview to end wait for it.
                    interviewer.scoring.start()
                observed_interviewer = ObservedInterviewer(interviewer, metrics)
                outbox = Notifications(pool, email_enabled=settings.smtp_url is not None)
                interview_log = InterviewLog(pool, blobs, outbox)
                notify = await Notify.open(
                    settings, dsn, pool, outbox, interview_log, public_url(settings)
                )
                writer = EventWriter(interview_log, metrics=metrics)
                writer.start()
                cluster = open_cluster(settings) if settings.redis_url is not None else None
                media = MediaHub(settings, blobs, metrics=metrics)
                transcriber = (
                    Transcriber.from_settings(settings) if settings.speech_configured else None
                )
                synthesizer = (
                    Synthesizer.from_settings(settings) if settings.tts_model is not None else None
                )
                sessions = SessionManager(
                    pool,
                    interview_log,
                    writer,
                    observed_interviewer,
                    settings,
                    cluster.parts if cluster is not None else None,
                    media=media,
                    transcriber=transcriber,
                    synthesizer=synthesizer,
                )
                screenshots = ScreenshotChecker(settings.max_screenshot_pixels)
                policy = LoginPolicy(
                    window_s=settings.login_window_s,
                    slow_after=settings.login_slow_after,
                    block_after=settings.login_block_after,
                    block_after_ip=settings.login_block_after_ip,
                    account_slow_after=settings.login_account_slow_after,
                )
                app.state.services = Services(
                    settings=settings,
                    pool=pool,
                    identity=identity,
                    blobs=blobs,
                    interview_log=interview_log,
                    login_throttle=(
                        RedisLoginThrottle(cluster.redis, policy)
                        if cluster is not None
                        else LocalLoginThrottle(policy)
                    ),
                    tickets=(
                        RedisTicketBook(cluster.redis, ttl_s=settings.ticket_ttl_s)
                        if cluster is not None
                        else LocalTicketBook(ttl_s=settings.ticket_ttl_s)
                    ),
                    sessions=sessions,
                    screenshots=screenshots,
                    media=media,
                    notify=notify,
                    metrics=metrics,
                    cluster=cluster.parts if cluster is not None else None,
                    follower=cluster.follower if cluster is not None else None,
                )
                metrics.registry.register(LiveState(sessions, writer, pool, media))
                if cluster is not None:
                    cluster.start()
                restored = await sessions.restore_in_progress()
                log.info(
                    "server.ready",
                    database="embedded" if settings.embedded_database else "external",
                    data_dir=str(settings.data_dir),
                    identity=identity.name,
                    node=cluster.parts.node.name if cluster is not None else None,
                    interviewer=interviewer.name,
                    restored_sessions=restored,
                )
                if settings.demo:
                    print_demo_banner(settings)
                # What start-up allocated (modules, schemas, routes) lives as long as the
                # process: keep it out of the cyclic collector's way, so that a full
                # collection under load scans only what live sessions allocate (a full pass
                # over the start-up heap stopped the event loop for ~100 ms).
                gc.collect()
                gc.freeze()
                # Fewer, larger young collections, and a full one only after 100 of the
                # middle generation's (still only once the heap has grown by a quarter): a
                # full pass over 1,000 live interviews' objects stopped the loop 200-500 ms,
                # nine to twenty times a run; with these, none in the run, and a young pass
                # stays a few milliseconds (docs/benchmarks.md, "Garbage collections").
                gc.set_threshold(*settings.gc_thresholds)
                try:
                    listener = MetricsListener.open(settings, metrics.registry)
                except ConfigurationError as exc:
                    print(f"openhire: {exc}", file=sys.stderr, flush=True)
                    raise
                loop_lag = LoopLagMonitor(metrics.loop_lag)
                gc_pauses = GcPauseMonitor(metrics.gc_pause)
                # Started last, so that a failed start-up leaves no task behind.
                sweeper.start()
                notify.start()
                if listener is not None:
                    loop_lag.start()  # only measured when someone can read it
                    gc_pauses.start()
                try:
                    yield
                finally:
                    if listener is not None:
                        await listener.close()
                    await loop_lag.close()
                    gc_pauses.close()
                    # uvicorn has already closed every socket with 1012; stop the sessions'
                    # timers and tasks, then commit what they left in the queue.
                    if cluster is not None:
                        cluster.parts.node.draining = True
                    await sessions.shutdown(within_s=5)
                    # Every peer closed, the recordings' last segments stored and logged
                    # before the writer's last commit.
                    await media.close(within_s=5)
                    screenshots.close()
                    await writer.close(within_s=10)
                    await notify.close(within_s=5)
                    if cluster is not None:
                        # Only now, with everything this node wrote committed: the next
                        # node takes its interviews at once rather than after the lease.
                        await sessions.release_all()
                        await cluster.close()
                    await observed_interviewer.aclose()
                    if transcriber is not None:
                        await transcriber.aclose()
                    if synthesizer is not None:
                        await synthesizer.aclose()
                    await sweeper.close()
                    await blobs.close()
            finally:
                if identity is not None:
                    await identity.aclose()
                await pool.close()

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document)

    routes: list[Any] = [r for m in MODULES for r in m.api.routes()]
    routes += sockets.routes  # listed for completeness; OpenHireApp serves them first
    routes += demo.routes
    from starlette.routing import Route

    routes.append(Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False))

    middleware = [
        Middleware(RequestLogMiddleware),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
            )
        )
    return OpenHireApp(
        sockets.routes,
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


class OpenHireApp(Starlette):
    """Starlette, with the interview sockets served below its middleware stack. A live
    socket holds every layer it passes through for as long as it is open (a coroutine frame
    each: the error and exception middleware, body size, routing, the route's wrapper),
    about 6 KB a socket; the sockets need none of them (CORS and body limits are HTTP's, and
    the handlers answer their own errors with close codes), so they get only the request log
    and their endpoint. Any other websocket path goes through Starlette as before."""

    def __init__(self, socket_routes: list[WebSocketRoute], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.socket_routes = socket_routes
        self._sockets = RequestLogMiddleware(sockets.serve_matched)

    # Plain functions returning the coroutine to await, not coroutines themselves: neither
    # stays on the stack (as a frame held for the socket's life) while the socket is open.
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        if scope["type"] == "websocket":
            for route in self.socket_routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.update(child)
                    return self._sockets(scope, receive, send)
        return super().__call__(scope, receive, send)
