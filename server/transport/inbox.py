"""The candidate socket's inbox: what the candidate sends, handed to the interview in the order
it arrived, while each screenshot's pixels are decoded in a worker thread.

The receive loop never waits for a decode. It checks a screenshot's frame and image header at
once (cheap; an image declaring too many pixels is refused there, undecoded), starts the decode
in the ``ScreenshotChecker``'s threads, and puts the screenshot in the inbox in its place. Text
messages and refusals go into the same inbox. One task per socket empties it in order, waiting
for a screenshot's decode only when it reaches it. So the interview receives the candidate's
messages exactly in the order they arrived, screenshots included, and every reply (an error at
once, an ack once committed) is sent in that order too.

Everything is bounded: the checker's threads and the decodes waiting for them (beyond that a
screenshot is refused as ``overloaded``), two screenshots per socket in the inbox (a third is
``rate_limited``), and the inbox itself (a message that finds it full is refused as
``overloaded``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from server.errors import ImageError, ProtocolError
from server.protocol.codec import error_frame
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.images import ImageInfo, inspect_image, verify_image
from server.protocol.messages import (
    Answer,
    AnswerEnd,
    AnswerPause,
    AnswerResume,
    End,
    Proctor,
    ScreenshotHeader,
)
from server.sessions.live import LiveInterview
from server.transport.writer import SocketWriter

# Screenshots one candidate may have in the inbox at once (one decoding, one waiting): the
# interview accepts one a second, and a decode takes milliseconds.
MAX_SCREENSHOTS_WAITING = 2
# Messages waiting in one candidate's inbox; above the socket's burst allowance (60), so it
# fills only while decodes are slow, that is, while the server is overloaded.
MAX_INBOX = 64


def _verify(image: bytes, max_pixels: int) -> ImageInfo | ImageError:
    # Returned, not raised: a refusal is an answer, and an exception left in a future nobody
    # reads (its socket gone) would be reported as never retrieved.
    try:
        return verify_image(image, max_pixels)
    except ImageError as exc:
        return exc


class ScreenshotChecker:
    """Decodes screenshots in a small pool of threads (Pillow releases the GIL while it
    decodes), with a bound on the decodes queued or running across the server. Made and
    closed by the lifespan."""

    def __init__(self, max_pixels: int, *, threads: int = 2, max_waiting: int = 32) -> None:
        self.max_pixels = max_pixels
        self.max_waiting = max_waiting
        self.waiting = 0
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="screenshot-check")

    def inspect(self, header: ScreenshotHeader, image: bytes) -> ImageInfo:
        """The header check, on the event loop: no pixel is decoded."""
        try:
            return inspect_image(image, self.max_pixels)
        except ImageError as exc:
            raise ProtocolError(ErrorCode.BAD_IMAGE, str(exc), header.client_id) from None

    def verify(
        self, header: ScreenshotHeader, image: bytes
    ) -> asyncio.Future[ImageInfo | ImageError]:
        """Start decoding ``image`` in a thread; refused at once when too many wait."""
        if self.waiting >= self.max_waiting:
            raise ProtocolError(
                ErrorCode.OVERLOADED, "the server is busy; resend shortly", header.client_id
            )
        self.waiting += 1
        decoded = asyncio.get_running_loop().run_in_executor(
            self._threads, _verify, image, self.max_pixels
        )
        decoded.add_done_callback(self._finished)
        return decoded

    def _finished(self, _: asyncio.Future[ImageInfo | ImageError]) -> None:
        self.waiting -= 1

    def close(self) -> None:
        # Decodes still queued are dropped; one running ends on its own within milliseconds.
        self._threads.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Message:
    message: Answer | AnswerEnd | AnswerPause | AnswerResume | Proctor | End


@dataclass(frozen=True, slots=True)
class _Screenshot:
    header: ScreenshotHeader
    image: bytes
    decoded: asyncio.Future[ImageInfo | ImageError]


@dataclass(frozen=True, slots=True)
class _Refusal:
    error: ProtocolError


class CandidateInbox:
    """One candidate socket's messages in arrival order, and the task that hands them over.
    ``aclose`` hands over whatever is already in it, then stops."""

    def __init__(
        self,
        live: LiveInterview,
        writer: SocketWriter,
        checker: ScreenshotChecker,
        sender: str,
    ) -> None:
        self._live = live
        self._sender = sender
        self._writer = writer
        self._checker = checker
        # The queue and its task are made with the first message: a candidate who is reading
        # or thinking (most of them, most of the time) costs neither. One place more than
        # MAX_INBOX, kept for the end mark (None), so that closing never waits.
        self._queue: asyncio.Queue[_Message | _Screenshot | _Refusal | None] | None = None
        self._screenshots = 0
        # Owned: awaited by aclose, which every socket handler reaches in its `finally`.
        self._task: asyncio.Task[None] | None = None

    def _put(self, item: _Message | _Screenshot | _Refusal) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(MAX_INBOX + 1)
            self._task = asyncio.create_task(self._hand_over(self._queue), name="candidate-inbox")
            self._task.add_done_callback(self._stopped)
        self._queue.put_nowait(item)

    def _waiting(self) -> int:
        return 0 if self._queue is None else self._queue.qsize()

    # --- what the receive loop puts in ----------------------------------------------------

    def message(
        self, message: Answer | AnswerEnd | AnswerPause | AnswerResume | Proctor | End
    ) -> None:
        self._make_room(message.client_id)
        self._put(_Message(message))
        if self._writer.answers is not None and isinstance(message, Answer):
            self._writer.answers.arrived(message.client_id)

    def screenshot(self, header: ScreenshotHeader, image: bytes) -> None:
        self._checker.inspect(header, image)
        if self._screenshots >= MAX_SCREENSHOTS_WAITING:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "a screenshot is still being checked; send at most one every"
                f" {self._live.session.config.screenshot_interval_s:g} s",
                header.client_id,
            )
        self._make_room(header.client_id)
        self._put(_Screenshot(header, image, self._checker.verify(header, image)))
        self._screenshots += 1

    def refuse(self, error: ProtocolError) -> None:
        if self._waiting() >= MAX_INBOX:
            self._send_error(error)  # no room even to queue the refusal: it goes out first
        else:
            self._put(_Refusal(error))

    def _make_room(self, client_id: str) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # the hand-over failed: so does the socket
        if self._waiting() >= MAX_INBOX:
            raise ProtocolError(
                ErrorCode.OVERLOADED, "the server is busy; resend shortly", client_id
            )

    def _stopped(self, task: asyncio.Task[None]) -> None:
        # A hand-over that failed ends the socket now (its error is raised by aclose), rather
        # than at the candidate's next message.
        if not task.cancelled() and task.exception() is not None:
            self._writer.close(CloseCode.INTERNAL_ERROR, "internal error")

    async def aclose(self) -> None:
        if self._queue is None or self._task is None:
            return  # nothing ever came
        self._queue.put_nowait(None)  # always fits: see __init__
        await self._task

    # --- the hand-over, in arrival order --------------------------------------------------

    async def _hand_over(
        self, queue: asyncio.Queue[_Message | _Screenshot | _Refusal | None]
    ) -> None:
        live, writer = self._live, self._writer
        while (item := await queue.get()) is not None:
            match item:
                case _Message(message):
                    live.candidate_message(writer, message, self._sender)
                case _Screenshot(header, image, decoded):
                    checked = await decoded
                    self._screenshots -= 1
                    if isinstance(checked, ImageError):
                        self._send_error(
                            ProtocolError(ErrorCode.BAD_IMAGE, str(checked), header.client_id)
                        )
                    else:
                        live.candidate_screenshot(
                            writer,
                            header,
                            image,
                            checked.content_type,
                            checked.width,
                            checked.height,
                            self._sender,
                        )
                case _Refusal(error):
                    self._send_error(error)

    def _send_error(self, error: ProtocolError) -> None:
        self._writer.send(error_frame(error))
