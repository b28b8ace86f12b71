"""This node in the cluster: its name, its heartbeat, and its channel.

- The heartbeat (``openhire:node:<name>``, expiring after a few beats) says the node is alive;
  each beat also tells this node whether Redis answers (``healthy``). While it does not, new
  sockets are refused with 1013 and watchers here are closed to reconnect later; interviews
  this node owns go on writing to PostgreSQL, the source of truth.
- The channel (Redis pub/sub ``openhire:node:<name>:inbox``) carries what other nodes ask of
  this one: release an interview (its candidate connected elsewhere), a recruiter's command for
  an interview owned here, a frame for a watcher connected here. Handlers are registered by
  operation name; a message for no handler is dropped. Pub/sub delivers at most once: every
  request on it is retried or resent by whoever sent it (a waiting takeover asks again, a
  recruiter resends an unacked command).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]

MAX_RUNNING = 1000
MAX_OUTGOING = 10_000


def new_node_name() -> str:
    """Unique per process start: a restarted node is a new node (its old leases are not its)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def inbox_channel(node: str) -> str:
    return f"openhire:node:{node}:inbox"


class ClusterNode:
    def __init__(self, client: aioredis.Redis, name: str, *, beat_s: float = 1.0) -> None:
        self.redis = client
        self.name = name
        self.beat_s = beat_s
        self.healthy = True
        self.draining = False
        self._handlers: dict[str, Handler] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._on_health: list[Callable[[bool], None]] = []
        # Handlers run as tasks of their own (a release waits for commits); owned here, and
        # bounded: past MAX_RUNNING a request is dropped (its sender asks again).
        self._running: set[asyncio.Task[None]] = set()
        # Messages to other nodes from code that cannot wait (a session's acks to a watcher on
        # another node): sent in order by one task, bounded.
        self._outgoing: deque[tuple[str, bytes]] = deque()
        self._outgoing_ready = asyncio.Event()

    def on(self, op: str, handler: Handler) -> None:
        self._handlers[op] = handler

    def on_health(self, callback: Callable[[bool], None]) -> None:
        self._on_health.append(callback)

    def post(self, node: str, message: dict[str, Any]) -> None:
        """Send without waiting (in order, at most once); dropped when too many wait."""
        if len(self._outgoing) >= MAX_OUTGOING:
            log.warning("cluster.outgoing_full", node=node)
            return
        self._outgoing.append((inbox_channel(node), orjson.dumps(message)))
        self._outgoing_ready.set()

    async def send(self, node: str, message: dict[str, Any]) -> bool:
        """Publish to ``node``'s channel; False when Redis is out of reach."""
        try:
            await self.redis.publish(inbox_channel(node), orjson.dumps(message))
        except RedisError:
            return False
        return True

    async def alive_nodes(self) -> set[str]:
        names: set[str] = set()
        async for key in self.redis.scan_iter(match="openhire:node:*:alive", count=500):
            names.add(key.split(":")[2])
        return names

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._beat(), name="cluster-heartbeat"),
            asyncio.create_task(self._listen(), name="cluster-inbox"),
            asyncio.create_task(self._send_posted(), name="cluster-outgoing"),
        ]

    async def close(self) -> None:
        for task in [*self._tasks, *self._running]:
            task.cancel()
        for task in [*self._tasks, *self._running]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(f"openhire:node:{self.name}:alive")

    def _set_health(self, healthy: bool) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        log.warning("cluster.redis_" + ("back" if healthy else "lost"), node=self.name)
        for callback in self._on_health:
            try:
                callback(healthy)
            except Exception:
                log.exception("cluster.health_callback_failed")

    async def _beat(self) -> None:
        key = f"openhire:node:{self.name}:alive"
        while True:
            try:
                await self.redis.set(key, "1", px=int(self.beat_s * 3000))
                self._set_health(True)
            except (RedisError, OSError):
                self._set_health(False)
            await asyncio.sleep(self.beat_s)

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(inbox_channel(self.name))
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._dispatch(orjson.loads(message["data"]))
            except (RedisError, OSError) as exc:
                log.info("cluster.inbox_reconnecting", error=repr(exc))
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _send_posted(self) -> None:
        while True:
            if not self._outgoing:
                self._outgoing_ready.clear()
                await self._outgoing_ready.wait()
                continue
            channel, data = self._outgoing[0]
            try:
                await self.redis.publish(channel, data)
            except (RedisError, OSError):
                log.info("cluster.post_failed", channel=channel)
            self._outgoing.popleft()

    def _dispatch(self, message: dict[str, Any]) -> None:
        handler = self._handlers.get(str(message.get("op")))
        if handler is None:
            return
        if len(self._running) >= MAX_RUNNING:
            log.warning("cluster.inbox_busy", op=message.get("op"))
            return
        task = asyncio.create_task(self._run(handler, message))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, handler: Handler, message: dict[str, Any]) -> None:
        try:
            await handler(message)
        except Exception:
            log.exception("cluster.handler_failed", op=message.get("op"))
