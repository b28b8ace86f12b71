"""Coalescing a question's stream into few ``question.delta`` frames.

A provider streams a question in many small chunks (a token or a few words each), and every
frame costs a JSON encoding and a socket write per connected socket (the candidate and each
watcher). ``DeltaCoalescer`` sends the first chunk as soon as the stream pauses (the next turn
of the event loop, so the first words still go out at once) and after that at most one frame
per ``interval`` with every chunk that arrived in it; ``flush`` sends what is left right before
the question is done (or failed). The frames' texts, joined, are exactly the chunks, joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# The least time between two question.delta frames of one question (docs/protocol.md).
QUESTION_DELTA_INTERVAL_S = 0.05


class DeltaCoalescer:
    __slots__ = ("_handle", "_interval", "_last_sent", "_pending", "_send")

    def __init__(
        self, send: Callable[[str], None], interval: float = QUESTION_DELTA_INTERVAL_S
    ) -> None:
        self._send = send
        self._interval = interval
        self._pending: list[str] = []
        self._last_sent: float | None = None
        self._handle: asyncio.Handle | None = None

    def add(self, chunk: str) -> None:
        """Take a chunk; it goes out with the next frame (scheduled here if none is)."""
        self._pending.append(chunk)
        if self._handle is not None:
            return
        loop = asyncio.get_running_loop()
        wait = 0.0 if self._last_sent is None else self._last_sent + self._interval - loop.time()
        if wait > 0:
            self._handle = loop.call_later(wait, self._due)
        else:
            self._handle = loop.call_soon(self._due)

    def _due(self) -> None:
        self._handle = None
        self.flush()

    def flush(self) -> None:
        """Send every chunk not sent yet, as one frame (nothing if there is none)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._last_sent = asyncio.get_running_loop().time()
        self._send(text)

    def close(self) -> None:
        """Stop: nothing pending is sent (the question was cancelled)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending.clear()
