"""What a socket may send: how often, and how big. Checked on the receive loop, before anything
reaches the live interview; a frame over a limit is refused with an ``error`` (a
``ProtocolError``), a socket over its rate is closed."""

from __future__ import annotations

import time

from server.errors import ProtocolError
from server.protocol.codec import check_taken_at
from server.protocol.codes import ErrorCode
from server.protocol.messages import ScreenshotHeader

MAX_TEXT_FRAME = 128 * 1024  # bytes of UTF-8
# How long a socket closed for flooding waits for what it already read to be committed (and so
# acked) before its close frame goes out.
SETTLE_BEFORE_CLOSE_S = 5.0


class RateLimit:
    """A token bucket: ``rate`` messages a second on average, ``burst`` at once."""

    CANDIDATE = (30.0, 60.0)
    WATCHER = (10.0, 20.0)

    def __init__(self, rate: float = 30.0, burst: float = 60.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def check_text_frame(text: str) -> str:
    """A text frame's text, if it is at most MAX_TEXT_FRAME bytes of UTF-8 (a character may
    take up to four); a ``ProtocolError`` (too_large) otherwise, and nothing of it is read."""
    if len(text) > MAX_TEXT_FRAME // 4 and len(text.encode()) > MAX_TEXT_FRAME:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"a text frame may be at most {MAX_TEXT_FRAME} bytes"
        )
    return text


def check_screenshot_frame(
    header: ScreenshotHeader, image: bytes, *, max_bytes: int, now: float
) -> None:
    """A screenshot's size and date (its pixels are checked later, off the event loop)."""
    if len(image) > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"a screenshot may be at most {max_bytes} bytes",
            header.client_id,
        )
    check_taken_at(header, now)
