"""uvicorn's h11 protocol with a deadline on a request's line and headers.

uvicorn times out an idle keep-alive connection, but any byte received cancels that timer,
and a new connection has no timer at all: a client that sends its headers a byte at a time,
or never, holds a connection (and a file descriptor) forever, and a few thousand such clients
exhaust the server. Here a request's line and headers must be complete within ``timeout_s``
of the connection opening or of the previous response; otherwise the connection is closed.
The body is not under this deadline (a large résumé on a slow link may take long), and a
WebSocket, once upgraded, is no longer this protocol's.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    timeout_s: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 leaves IDLE once a whole request line and headers have been parsed; an upgrade
        # to WebSocket has handed the transport over by now too.
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()
        else:
            # Kept alive: the next request's headers are due within the same bound.
            self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.timeout_s, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


def header_deadline_protocol(timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's ``http`` option, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"timeout_s": timeout_s})
