"""The baseline: a bare Starlette WebSocket echo server, served by uvicorn with the socket
settings of ``openhire serve`` (``server.serving``), so that the load generator can
measure, on the same machine and with the same client, what a round trip costs when the
server does nothing but read and write the frame.

    python -m clients.loadtest.echo --port 8765     # ws://127.0.0.1:8765/echo
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from clients.loadtest.server import Started, free_port, start_module, stop_process
from server.protocol import SUBPROTOCOL


async def echo(websocket: WebSocket) -> None:
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if frame.get("text") is not None:
                await websocket.send_text(frame["text"])
            elif frame.get("bytes") is not None:
                await websocket.send_bytes(frame["bytes"])
    except WebSocketDisconnect:
        return


async def healthz(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/echo", echo)])


def serve(host: str, port: int) -> None:
    import uvicorn

    # The same uvicorn and WebSocket settings as `openhire serve`.
    from server.serving import UVICORN_OPTIONS

    uvicorn.run(app, host=host, port=port, lifespan="off", **UVICORN_OPTIONS)


class EchoServer(Started):
    """``with EchoServer() as echo:`` the echo server in a subprocess at ``echo.url``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_module(
            "clients.loadtest.echo",
            ["--port", str(self.port)],
            self.url + "/healthz",
            "the echo server",
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)
            self.proc = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A bare WebSocket echo server (the baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
