"""Single-use, short-lived tickets for opening an interview socket.

Browsers cannot set headers on a WebSocket, and a long-lived token must never sit in a URL
(logs, proxies, history). So a client first asks, over authenticated HTTP, for a ticket
bound to one interview and one role, then opens the socket with ``?ticket=``. A ticket works
once and expires after ``ttl_s`` seconds. Tickets live in this process's memory.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TicketRole = Literal["candidate", "watcher"]


@dataclass(frozen=True, slots=True)
class Ticket:
    interview_id: uuid.UUID
    user_id: uuid.UUID
    role: TicketRole
    expires_at: float


class TicketBook:
    def __init__(self, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._tickets: dict[str, Ticket] = {}

    def issue(self, interview_id: uuid.UUID, user_id: uuid.UUID, role: TicketRole) -> str:
        self._sweep()
        value = secrets.token_urlsafe(24)
        self._tickets[value] = Ticket(interview_id, user_id, role, self._clock() + self.ttl_s)
        return value

    def redeem(self, value: str | None) -> Ticket | None:
        """The ticket, consumed; None if unknown, used or expired."""
        if not value:
            return None
        ticket = self._tickets.pop(value, None)
        if ticket is None or ticket.expires_at < self._clock():
            return None
        return ticket

    def _sweep(self) -> None:
        if len(self._tickets) < 1024:
            return
        now = self._clock()
        for key in [k for k, t in self._tickets.items() if t.expires_at < now]:
            del self._tickets[key]
