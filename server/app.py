"""create_app(settings) -> Starlette. The lifespan opens and closes every long-lived resource."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth.provider import IdentityProvider, open_identity_provider
from server.auth.throttle import LoginPolicy, LoginThrottle
from server.auth.tickets import TicketBook
from server.config import Settings
from server.errors import ConfigurationError
from server.http import applications, auth, demo, health, interviews, jobs, sockets, users
from server.http.errors import EXCEPTION_HANDLERS
from server.http.middleware import (
    BodySizeLimitMiddleware,
    CORSMiddleware,
    RequestLogMiddleware,
)
from server.http.openapi import build_openapi
from server.http.routing import Endpoint
from server.interviewer import create_interviewer
from server.services import Services
from server.sessions.manager import SessionManager
from server.sessions.persistence import EventWriter
from server.store import migrations
from server.store.blobs import open_blob_store
from server.store.database import open_pool
from server.store.embedded import DataDirectoryLock, EmbeddedPostgres

log = structlog.get_logger(__name__)

MODULES = (health, auth, users, jobs, applications, interviews)

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
        async with open_database(settings) as dsn:
            pool = await open_pool(dsn, settings)
            identity: IdentityProvider | None = None
            try:
                async with pool.acquire() as conn:
                    await migrations.prepare_database(conn, settings)
                try:
                    identity = await open_identity_provider(settings, pool)
                except ConfigurationError as exc:
                    # One plain line saying what is wrong, before uvicorn's traceback.
                    print(f"openhire: {exc}", file=sys.stderr, flush=True)
                    raise
                try:
                    blobs = await open_blob_store(settings)
                except ConfigurationError as exc:
                    print(f"openhire: {exc}", file=sys.stderr, flush=True)
                    raise
                interviewer = create_interviewer(settings)
                writer = EventWriter(pool, blobs)
                writer.start()
                sessions = SessionManager(pool, writer, interviewer, settings)
                app.state.services = Services(
                    settings=settings,
                    pool=pool,
                    identity=identity,
                    blobs=blobs,
                    login_throttle=LoginThrottle(
                        LoginPolicy(
                            window_s=settings.login_window_s,
                            slow_after=settings.login_slow_after,
                            block_after=settings.login_block_after,
                            block_after_ip=settings.login_block_after_ip,
                        )
                    ),
                    tickets=TicketBook(ttl_s=settings.ticket_ttl_s),
                    sessions=sessions,
                )
                restored = await sessions.restore_in_progress()
                log.info(
                    "server.ready",
                    database="embedded" if settings.embedded_database else "external",
                    data_dir=str(settings.data_dir),
                    identity=identity.name,
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
                try:
                    yield
                finally:
                    # uvicorn has already closed every socket with 1012; stop the sessions'
                    # timers and tasks, then commit what they left in the queue.
                    await sessions.shutdown(within_s=5)
                    await writer.close(within_s=10)
                    await interviewer.aclose()
                    await blobs.close()
            finally:
                if identity is not None:
                    await identity.aclose()
                await pool.close()

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document)

    routes: list[Any] = [r for m in MODULES for r in m.api.routes()]
    routes += sockets.routes
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
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
