"""A test's ASGI app on a free loopback port, served by uvicorn in a thread of the test process
(so in-process state is shared with the test): the stand-ins for services outside the machine
(OpenAI, Supabase) and small apps built for one test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class RunningApp:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket
    stopped: bool = field(default=False)

    def stop(self) -> None:
        """Stop answering: connections to the port are refused from now on."""
        if self.stopped:
            return
        self.stopped = True
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serve_app(app: Any) -> Iterator[RunningApp]:
    """Run an ASGI app on a free loopback port, in a thread, for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app, log_level="critical", lifespan="off", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    running = RunningApp(url, server, thread, sock)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)
        yield running
    finally:
        running.stop()
