"""Single-use, short-lived tickets for opening an interview socket.

Browsers cannot set headers on a WebSocket, and a long-lived token must never sit in a URL
(logs, proxies, history). So a client first asks, over authenticated HTTP, for a ticket
bound to one interview and one role, then opens the socket with ``?ticket=``. A ticket works
once and expires after ``ttl_s`` seconds. ``LocalTicketBook`` keeps them in this process's
memory; behind several nodes, ``server.cluster.tickets.RedisTicketBook`` keeps them in Redis,
so that a ticket issued by one node opens a socket on any other, once.

A notification stream's ticket (role ``notifications``, bound to no interview) opens one stream
at a time: the stream hands it back when it ends (``hand_back``), for another ``ttl_s``, so that
the browser's own reconnect (EventSource repeats the URL, with ``Last-Event-ID``) resumes it.
"""

from __future__ import annotations

import abc
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TicketRole = Literal["candidate", "watcher", "notifications"]


@dataclass(frozen=True, slots=True)
class Ticket:
    interview_id: uuid.UUID | None
    user_id: uuid.UUID
    role: TicketRole
    expires_at: float


class TicketBook(abc.ABC):
    ttl_s: float

    @abc.abstractmethod
    async def issue(
        self, interview_id: uuid.UUID | None, user_id: uuid.UUID, role: TicketRole
    ) -> str:
        """A new ticket's value."""

    @abc.abstractmethod
    async def redeem(self, value: str | None) -> Ticket | None:
        """The ticket, consumed; None if unknown, used or expired."""

    @abc.abstractmethod
    async def hand_back(self, value: str, ticket: Ticket) -> None:
        """Make a redeemed ticket good again, for another ``ttl_s``."""


class LocalTicketBook(TicketBook):
    def __init__(self, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._tickets: dict[str, Ticket] = {}

    async def issue(
        self, interview_id: uuid.UUID | None, user_id: uuid.UUID, role: TicketRole
    ) -> str:
        self._sweep()
        value = secrets.token_urlsafe(24)
        self._tickets[value] = Ticket(interview_id, user_id, role, self._clock() + self.ttl_s)
        return value

    async def redeem(self, value: str | None) -> Ticket | None:
        if not value:
            return None
        ticket = self._tickets.pop(value, None)
        if ticket is None or ticket.expires_at < self._clock():
            return None
        return ticket

    async def hand_back(self, value: str, ticket: Ticket) -> None:
        self._sweep()
        self._tickets[value] = Ticket(
            ticket.interview_id, ticket.user_id, ticket.role, self._clock() + self.ttl_s
        )

    def _sweep(self) -> None:
        if len(self._tickets) < 1024:
            return
        now = self._clock()
        for key in [k for k, t in self._tickets.items() if t.expires_at < now]:
            del self._tickets[key]
