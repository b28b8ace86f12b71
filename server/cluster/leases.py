"""One owner per live interview: a lease in Redis, held by a node and renewed while it lives.

``openhire:lease:<interview>`` holds the owning node's name and expires after ``lease_s``
unless renewed (every third of it). It is also the registry of which node runs which
interview. A lease is only half of ownership: the fencing epoch is PostgreSQL's
(``InterviewLog.take_over``), raised by each new owner after it acquires the lease and checked
by every write of the log, so that an owner that lost its lease without knowing it cannot
write any more.

Renewal finds one of three things per lease: still ours (extended); gone (Redis restarted, or
was out of reach past the lease: taken again, since nobody else could take it meanwhile without
raising the epoch, which the writes would notice); another node's (lost: the interview stops
here).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from server.background import BackgroundTask
from server.cluster.node import ClusterNode
from server.errors import ClusterUnavailable

log = structlog.get_logger(__name__)

_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(interview_id: uuid.UUID | str) -> str:
    return f"openhire:lease:{interview_id}"


class Leases:
    def __init__(self, node: ClusterNode, lease_s: float) -> None:
        self.node = node
        self.redis: aioredis.Redis = node.redis
        self.lease_s = lease_s
        self.held: set[uuid.UUID] = set()
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._on_lost: Callable[[uuid.UUID], None] = lambda _id: None
        self._task = BackgroundTask(self._renew_all, name="cluster-leases")

    @property
    def _ms(self) -> int:
        return int(self.lease_s * 1000)

    def on_lost(self, callback: Callable[[uuid.UUID], None]) -> None:
        self._on_lost = callback

    async def owner(self, interview_id: uuid.UUID) -> str | None:
        try:
            holder = await self.redis.get(lease_key(interview_id))
        except RedisError:
            raise ClusterUnavailable("the cluster's registry is out of reach") from None
        return None if holder is None else str(holder)

    async def owners(self, interview_ids: list[uuid.UUID]) -> list[str | None]:
        if not interview_ids:
            return []
        try:
            holders = await self.redis.mget([lease_key(i) for i in interview_ids])
        except RedisError:
            raise ClusterUnavailable("the cluster's registry is out of reach") from None
        return [None if h is None else str(h) for h in holders]

    async def try_acquire(self, interview_id: uuid.UUID) -> bool:
        try:
            taken = await self.redis.set(
                lease_key(interview_id), self.node.name, nx=True, px=self._ms
            )
        except RedisError:
            raise ClusterUnavailable("the cluster's registry is out of reach") from None
        if taken:
            self.held.add(interview_id)
        return bool(taken)

    async def acquire(self, interview_id: uuid.UUID, within_s: float) -> float:
        """Take the lease, asking its holder to release it (once a second), or waiting for it
        to expire when the holder is dead or paused. Returns the seconds waited; raises
        ``ClusterUnavailable`` when it could not be had in time."""
        started = time.monotonic()
        asked_at = 0.0
        while True:
            if await self.try_acquire(interview_id):
                return time.monotonic() - started
            holder = await self.owner(interview_id)
            if holder == self.node.name:
                # Ours already (a lease whose interview this node is still loading or
                # releasing: the caller holds the interview's lock, so it is settled).
                self.held.add(interview_id)
                return time.monotonic() - started
            now = time.monotonic()
            if holder is not None and now - asked_at >= 1.0:
                asked_at = now
                await self.node.send(holder, {"op": "release", "interview": str(interview_id)})
            if now - started > within_s:
                raise ClusterUnavailable("the interview's server did not hand it over in time")
            await asyncio.sleep(0.05)

    async def release(self, interview_id: uuid.UUID) -> None:
        self.held.discard(interview_id)
        try:
            await self._release(keys=[lease_key(interview_id)], args=[self.node.name])
        except RedisError:
            # It expires by itself within lease_s.
            log.info("cluster.release_failed", interview_id=str(interview_id))

    def forget(self, interview_id: uuid.UUID) -> None:
        """Stop renewing without touching Redis (the lease is another node's now)."""
        self.held.discard(interview_id)

    def start(self) -> None:
        self._task.start()

    async def close(self) -> None:
        await self._task.close()

    async def _renew_all(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            ids = list(self.held)
            if not ids:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for interview_id in ids:
                        await self._renew(
                            keys=[lease_key(interview_id)],
                            args=[self.node.name, self._ms],
                            client=pipe,
                        )
                    results = await pipe.execute()
            except (RedisError, OSError) as exc:
                # Redis is out of reach: the interviews go on (PostgreSQL fences them if
                # another node takes them over meanwhile); renewed when it is back.
                log.info("cluster.renew_failed", error=repr(exc), leases=len(ids))
                continue
            for interview_id, result in zip(ids, results, strict=True):
                if result == 0 and interview_id in self.held:
                    self.held.discard(interview_id)
                    log.warning("cluster.lease_lost", interview_id=str(interview_id))
                    self._on_lost(interview_id)
                elif result == 2:
                    log.info("cluster.lease_retaken", interview_id=str(interview_id))
