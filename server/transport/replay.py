"""A watcher's socket catching up: the log after its ``since``, read from the database, then
the live entries, with no gap and no duplicate in between.

The watcher is registered with its live interview first, so entries committed while the log is
read wait in a buffer; the seam between the two is cut by offset.
"""

from __future__ import annotations

import uuid

from server.protocol.codes import CloseCode
from server.protocol.messages import Event, ServerMessage
from server.store.interview_log import InterviewLog
from server.transport.writer import SocketWriter

# Entries read from the database at a time.
REPLAY_PAGE = 500


class Watcher:
    """A recruiter's socket, as its live interview sees it (a ``WatcherOutbox``)."""

    def __init__(self, writer: SocketWriter, since: int) -> None:
        self.writer = writer
        self.id = writer.id
        self.last_sent = since
        self.replaying = True
        self._buffer: list[Event] = []

    def send(self, message: ServerMessage) -> None:
        self.writer.send(message)

    def send_entry(self, event: Event) -> None:
        if self.replaying:
            self._buffer.append(event)
        elif event.offset > self.last_sent:
            self.writer.send(event)
            self.last_sent = event.offset

    def send_live(self, message: ServerMessage) -> None:
        if not self.replaying:
            self.writer.send(message)

    def close(self, code: CloseCode, reason: str) -> None:
        self.writer.close(code, reason)

    async def wait_closed(self, within_s: float) -> None:
        await self.writer.wait_closed(within_s)

    async def replay(self, interview_log: InterviewLog, interview_id: uuid.UUID) -> None:
        """Send the log after ``last_sent`` (waiting for room in the socket's queue: a replay
        may be long), then what was buffered meanwhile, and go live."""
        last = self.last_sent
        while True:
            entries = await interview_log.read_since(interview_id, last, REPLAY_PAGE)
            for entry in entries:
                await self.writer.send_wait(entry.as_event())
                last = entry.offset
            if len(entries) < REPLAY_PAGE:
                break
        self.last_sent = last
        self.replaying = False
        buffered, self._buffer = self._buffer, []
        for event in buffered:
            self.send_entry(event)
