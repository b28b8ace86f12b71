"""How `openhire serve` runs uvicorn, in a module of its own so that what else serves sockets
the same way (the load test's echo baseline) takes the same options without importing the
command line."""

from __future__ import annotations

from typing import Any

from server.protocol import MAX_FRAME_BYTES
from server.transport.lean import LeanWebSocketProtocol

# How `openhire serve` runs uvicorn (the load test's echo baseline uses the same): the
# sans-I/O WebSocket implementation (with a lighter receive queue: server/transport/lean.py),
# no per-message compression (JPEGs do not compress and deflate costs memory per socket),
# 1 MiB frames, pings, a bounded graceful shutdown, and at most 16 KiB of request line and
# headers (h11's own default, stated here).
UVICORN_OPTIONS: dict[str, Any] = {
    # Said, not guessed: uvicorn takes an app whose __call__ is not a coroutine function for
    # ASGI 2, and OpenHireApp's returns its coroutine (server/app.py).
    "interface": "asgi3",
    "ws": LeanWebSocketProtocol,
    "ws_per_message_deflate": False,
    "ws_max_size": MAX_FRAME_BYTES,
    "ws_ping_interval": 20,
    "ws_ping_timeout": 20,
    "timeout_graceful_shutdown": 10,
    "log_config": None,
    "access_log": False,
    "proxy_headers": False,
    "h11_max_incomplete_event_size": 16 * 1024,
}
