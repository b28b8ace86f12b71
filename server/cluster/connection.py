"""The Redis client the nodes share, opened once in the lifespan."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.errors import ConfigurationError

# Long enough for the streams' blocking reads (server.cluster.streams blocks 250 ms at most);
# short enough that a Redis that stopped answering is noticed within a heartbeat or two.
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2.0


def describe_redis_url(url: str) -> str:
    """Host and port of a Redis URL, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def open_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        decode_responses=True,
        # Every call fails fast when Redis is gone, so that callers can refuse (1013, 503)
        # rather than hang; the heartbeat notices when it is back.
        retry_on_timeout=False,
        health_check_interval=10,
        max_connections=256,
    )


async def check_redis(url: str) -> None:
    """At start-up: Redis answers, or ConfigurationError with one line saying which."""
    client = open_redis(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise ConfigurationError(
            f"Redis at {describe_redis_url(url)} (REDIS_URL) is not reachable:"
            f" {exc.__class__.__name__}: {exc}"
        ) from None
    finally:
        await client.aclose()
