"""The baseline: a bare Starlette WebSocket echo server, served by uvicorn with the socket
settings of ``openhire serve`` (see ``server.cli.serve``), so that the load generator can
measure, on the same machine and with the same client, what a round trip costs when the
server does nothing but read and write the frame.

    python -m clients.loadtest.echo --port 8765     # ws://127.0.0.1:8765/echo
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from clients.interview_client import SUBPROTOCOL
from clients.loadtest.server import free_port


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
    from server.cli import UVICORN_OPTIONS

    uvicorn.run(app, host=host, port=port, lifespan="off", **UVICORN_OPTIONS)


class EchoServer:
    """``with EchoServer() as echo:`` the echo server in a subprocess at ``echo.url``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EchoServer:
        # Importable from wherever this module was, installed or in a source tree.
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clients.loadtest.echo", "--port", str(self.port)],
            env={**os.environ, "PYTHONPATH": path},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the echo server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("the echo server did not start")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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
