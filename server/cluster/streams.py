"""Each live interview's Redis Stream, ``openhire:stream:<interview>``: what watchers on every
node follow.

The owner appends, in order, each committed log entry (``k=e``, with its offset) once it is
committed, each live-only frame (``k=l``: ``question.delta``), and at the end a marker with the
last offset (``k=x``). The stream is capped (``MAXLEN ~``) and expires an hour after its last
append: it is a window on the recent past, never the record, which is PostgreSQL's. A watcher
replays the log from PostgreSQL, then follows the stream, placing each entry by its offset:
one it already has is skipped, one past a gap (the stream's window moved on, the owner changed
and its last entries came late, an append was dropped) is preceded by the gap read from
PostgreSQL. So there is no gap and no duplicate, whatever the stream lost.

``StreamPublisher`` is one task per node, fed by a bounded queue (appends pipelined in
batches; when Redis is slow or gone the queue fills and appends are dropped, which watchers
repair from PostgreSQL as above). ``StreamFollower`` is one task per node reading every stream
that a watcher on this node follows, in one blocking ``XREAD``, and handing each item to its
subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from server.background import BackgroundTask

log = structlog.get_logger(__name__)

# Entries kept per stream (about: trimming is by whole macro-nodes), and how long a stream
# outlives its last append.
STREAM_MAXLEN = 1000
STREAM_TTL_S = 3600
# Appends waiting at most; past it, new ones are dropped (watchers repair from PostgreSQL).
PUBLISH_QUEUE = 20_000
# How long one XREAD waits for news; a watcher added meanwhile is read from the next call.
FOLLOW_BLOCK_MS = 250


def stream_key(interview_id: uuid.UUID | str) -> str:
    return f"openhire:stream:{interview_id}"


StreamItem = dict[str, str]


class StreamPublisher:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._queue: deque[tuple[str, StreamItem]] = deque()
        self._wakeup = asyncio.Event()
        self._task = BackgroundTask(self._run, name="cluster-stream-publisher")
        self._idle = asyncio.Event()
        self._idle.set()
        self.dropped = 0

    def entry(self, interview_id: uuid.UUID, offset: int, frame: str) -> None:
        self._put(interview_id, {"k": "e", "o": str(offset), "f": frame})

    def live(self, interview_id: uuid.UUID, frame: str) -> None:
        self._put(interview_id, {"k": "l", "f": frame})

    def end(self, interview_id: uuid.UUID, last_offset: int) -> None:
        self._put(interview_id, {"k": "x", "o": str(last_offset)})

    def _put(self, interview_id: uuid.UUID, item: StreamItem) -> None:
        if len(self._queue) >= PUBLISH_QUEUE:
            self.dropped += 1
            return
        self._queue.append((stream_key(interview_id), item))
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        self._task.start()

    async def close(self, within_s: float = 2.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within_s)
        await self._task.close()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(500, len(self._queue)))]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, item in batch:
                        pipe.xadd(key, item, maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
                    for key in {key for key, _ in batch}:
                        pipe.expire(key, STREAM_TTL_S)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self.dropped += len(batch)
                log.info("cluster.stream_append_failed", error=repr(exc), dropped=len(batch))
                await asyncio.sleep(0.2)


class Subscriber(Protocol):
    def deliver(self, item: StreamItem) -> None: ...

    def lost(self) -> None:
        """The stream cannot be followed now (Redis is out of reach)."""
        ...


class StreamFollower:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._positions: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._task = BackgroundTask(self._run, name="cluster-stream-follower")

    async def subscribe(self, interview_id: uuid.UUID, subscriber: Subscriber) -> None:
        """Deliver to ``subscriber`` everything appended to the interview's stream from now
        on (and perhaps a little from before: subscribers place items by offset)."""
        key = stream_key(interview_id)
        if key not in self._positions:
            last: Any = await self._redis.xrevrange(key, count=1)
            self._positions[key] = str(last[0][0]) if last else "0-0"
        self._subscribers.setdefault(key, set()).add(subscriber)
        self._changed.set()

    def unsubscribe(self, interview_id: uuid.UUID, subscriber: Subscriber) -> None:
        key = stream_key(interview_id)
        subscribers = self._subscribers.get(key)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[key]
            self._positions.pop(key, None)

    def start(self) -> None:
        self._task.start()

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        while True:
            if not self._subscribers:
                self._changed.clear()
                await self._changed.wait()
                continue
            streams = {key: self._positions[key] for key in self._subscribers}
            try:
                answer: Any = await self._redis.xread(
                    streams,  # type: ignore[arg-type]
                    count=500,
                    block=FOLLOW_BLOCK_MS,
                )
            except (RedisError, OSError) as exc:
                log.info("cluster.stream_read_failed", error=repr(exc))
                self._lose_all()
                await asyncio.sleep(0.5)
                continue
            for key, items in answer or []:
                if key not in self._positions:
                    continue
                for item_id, fields in items:
                    self._positions[key] = item_id
                    for subscriber in list(self._subscribers.get(key, ())):
                        subscriber.deliver(fields)

    def _lose_all(self) -> None:
        subscribers = [s for group in self._subscribers.values() for s in group]
        self._subscribers.clear()
        self._positions.clear()
        for subscriber in subscribers:
            subscriber.lost()
