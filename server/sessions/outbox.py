"""What a live interview sees of a socket: somewhere to send messages, and a way to close it.

The transport (``server.transport``) implements these over WebSockets; a live interview never
sees a socket, a frame or a web framework. Sending never waits: each outbox queues, bounded,
and closes itself on a peer too slow to keep up.
"""

from __future__ import annotations

from typing import Protocol

from server.protocol.codes import CloseCode
from server.protocol.messages import Event, ServerMessage


class Outbox(Protocol):
    @property
    def id(self) -> str: ...

    def send(self, message: ServerMessage) -> None: ...

    def close(self, code: CloseCode, reason: str) -> None:
        """Close once everything sent so far has gone out."""
        ...

    async def wait_closed(self, within_s: float) -> None:
        """Wait (at most ``within_s``) for the socket to be closed, then stop its writer."""
        ...


class WatcherOutbox(Outbox, Protocol):
    """A recruiter's socket: it catches up on the log from where it was, then follows it."""

    def send_entry(self, event: Event) -> None:
        """A committed log entry: each reaches the watcher once, in offset order, whether
        it arrives during the watcher's replay or after."""
        ...

    def send_live(self, message: ServerMessage) -> None:
        """A live-only message (a question being written): dropped while the watcher is
        still catching up, since it belongs to a moment the watcher has not reached."""
        ...
