"""The browser app (clients/demo/): its page at ``/`` and its files under ``/app/``.

The app is static: plain ES modules and CSS, no build step. It talks to the server only through
the public HTTP API and the ``openhire.v1`` sockets, like any other client. It is found next to
the ``server`` package in the source tree; an installation without it answers ``/`` and
``/app/...`` with a JSON 404 that says so, and logs ``demo.missing`` with the directory.
Nothing is mounted at ``/``, so an unknown API path keeps its JSON 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from server.errors import NotFound
from server.services import get_services

log = structlog.get_logger(__name__)

APP_DIR = Path(__file__).resolve().parents[2] / "clients" / "demo"
PREFIX = "/app"

# Only a host[:port] as browsers send it goes into the policy; anything else is left out.
_SANE_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str | None, blob_origin: str | None = None) -> str:
    """Same origin only, but for sockets to this host and, with Supabase Storage, images and
    recordings from its signed URLs. The camera preview and the live video are MediaStreams;
    the résumé downloads through a blob: URL."""
    sockets = f" ws://{host} wss://{host}" if host and _SANE_HOST.match(host) else ""
    images = f" {blob_origin}" if blob_origin else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' blob: data:{images}",
            f"media-src 'self' blob: mediastream:{images}",
            f"connect-src 'self'{sockets}",
            "font-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The interview room asks for the camera and the microphone; nothing else may.
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
}


def _storage_origin(request: Request) -> str | None:
    """Where signed blob URLs point when they are not this server's: Supabase Storage."""
    url = get_services(request).settings.supabase_url
    if not url:
        return None
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if parts.scheme in ("http", "https") and _SANE_HOST.match(parts.netloc) else None


async def index(request: Request) -> Response:
    page = APP_DIR / "index.html"
    if not page.is_file():
        log.warning("demo.missing", directory=str(APP_DIR))
        raise NotFound("the browser app is not installed with this server (no clients/demo)")
    policy = content_security_policy(request.headers.get("host"), _storage_origin(request))
    headers = {**_HEADERS, "Content-Security-Policy": policy}
    return Response(page.read_bytes(), media_type="text/html; charset=utf-8", headers=headers)


class AppFiles(StaticFiles):
    """StaticFiles that revalidate (the app has no build step to fingerprint its files) and
    never sniff; a missing directory answers 404 rather than failing at start-up."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not APP_DIR.is_dir():
            log.warning("demo.missing", directory=str(APP_DIR))
            raise NotFound("the browser app is not installed with this server (no clients/demo)")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in _HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


routes: list[Any] = [
    Route("/", index, methods=["GET"], include_in_schema=False),
    Mount(PREFIX, app=AppFiles(APP_DIR), name="app"),
]
