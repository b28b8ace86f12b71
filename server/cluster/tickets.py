"""Socket tickets in Redis: issued by any node, redeemed once on any node.

A ticket is a key that expires with the ticket (``SET … PX``); redeeming it is ``GETDEL``, one
atomic command, so two nodes handed the same ticket at the same moment cannot both open a socket
with it.
"""

from __future__ import annotations

import secrets
import uuid

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.auth.tickets import Ticket, TicketBook, TicketRole
from server.errors import ClusterUnavailable

_PREFIX = "openhire:ticket:"


class RedisTicketBook(TicketBook):
    def __init__(self, client: aioredis.Redis, ttl_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self._redis = client

    async def issue(
        self, interview_id: uuid.UUID | None, user_id: uuid.UUID, role: TicketRole
    ) -> str:
        value = secrets.token_urlsafe(24)
        await self._store(value, Ticket(interview_id, user_id, role, expires_at=0.0))
        return value

    async def hand_back(self, value: str, ticket: Ticket) -> None:
        await self._store(value, ticket)

    async def _store(self, value: str, ticket: Ticket) -> None:
        interview = str(ticket.interview_id) if ticket.interview_id is not None else None
        record = orjson.dumps({"i": interview, "u": str(ticket.user_id), "r": ticket.role})
        try:
            await self._redis.set(_PREFIX + value, record, px=int(self.ttl_s * 1000))
        except RedisError:
            raise ClusterUnavailable("tickets cannot be issued now; try again shortly") from None

    async def redeem(self, value: str | None) -> Ticket | None:
        if not value or len(value) > 64:
            return None
        try:
            record = await self._redis.getdel(_PREFIX + value)
        except RedisError:
            raise ClusterUnavailable("tickets cannot be checked now; try again shortly") from None
        if record is None:
            return None
        data = orjson.loads(record)
        # Redis expired it; the expiry is its own, so no clock of ours is read.
        interview = uuid.UUID(data["i"]) if data["i"] is not None else None
        return Ticket(interview, uuid.UUID(data["u"]), data["r"], expires_at=0.0)
