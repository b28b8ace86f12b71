"""What a live interview's owner does for the rest of the cluster (behind several nodes).

- ``StreamOutbox``: registered among the interview's watchers on its owner, it appends every
  committed entry and live-only frame to the interview's Redis Stream (and an end marker when
  the interview ends), which watchers on every node follow (``server.cluster.streams``).
- ``RemoteWatcher``: a recruiter's socket on any node, as the owner's session sees it when it
  sends a command: the session's answers to it (``ack``, ``error``) go back to that node.
- ``Cluster``: the parts a ``SessionManager`` uses; ``None`` for a single node.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.cluster.connection import open_redis
from server.cluster.leases import Leases
from server.cluster.node import ClusterNode, new_node_name
from server.cluster.streams import StreamFollower, StreamPublisher
from server.config import Settings
from server.protocol.codec import encode
from server.protocol.codes import CloseCode
from server.protocol.messages import Event, ServerMessage

# The id of the stream among an interview's watchers (a socket's id is a hex token).
STREAM_OUTBOX_ID = "stream"


@dataclass(frozen=True, slots=True)
class Cluster:
    node: ClusterNode
    leases: Leases
    publisher: StreamPublisher
    # How long a candidate's socket waits for the interview to be handed over (asked of a
    # live owner, or its lease expiring when the owner is dead or paused).
    takeover_within_s: float


@dataclass(slots=True)
class OpenCluster:
    """The cluster's parts as the lifespan opens and closes them."""

    redis: aioredis.Redis
    parts: Cluster
    follower: StreamFollower

    def start(self) -> None:
        self.parts.node.start()
        self.parts.leases.start()
        self.parts.publisher.start()
        self.follower.start()

    async def close(self) -> None:
        await self.parts.publisher.close()
        await self.follower.close()
        await self.parts.leases.close()
        await self.parts.node.close()
        await self.redis.aclose()


def open_cluster(settings: Settings) -> OpenCluster:
    assert settings.redis_url is not None
    client = open_redis(settings.redis_url)
    node = ClusterNode(client, settings.node_name or new_node_name())
    parts = Cluster(
        node=node,
        leases=Leases(node, settings.lease_s),
        publisher=StreamPublisher(client),
        # The lease running out (a dead or paused owner), and a live owner's settling.
        takeover_within_s=settings.lease_s + 6.0,
    )
    return OpenCluster(client, parts, StreamFollower(client))


class StreamOutbox:
    def __init__(
        self,
        publisher: StreamPublisher,
        interview_id: uuid.UUID,
        committed_offset: Callable[[], int],
    ) -> None:
        self._publisher = publisher
        self._interview_id = interview_id
        self._committed_offset = committed_offset

    @property
    def id(self) -> str:
        return STREAM_OUTBOX_ID

    def send(self, message: ServerMessage) -> None:
        # Addressed to one watcher (greetings, acks): never goes to the stream.
        return None

    def send_entry(self, event: Event) -> None:
        self._publisher.entry(self._interview_id, event.offset, encode(event))

    def send_live(self, message: ServerMessage) -> None:
        self._publisher.live(self._interview_id, encode(message))

    def close(self, code: CloseCode, reason: str) -> None:
        # The interview ended (1000 after its last entry): watchers everywhere close after the
        # marker. Any other close is this node letting the interview go: the stream goes on
        # with the next owner.
        if code == CloseCode.NORMAL:
            self._publisher.end(self._interview_id, self._committed_offset())

    async def wait_closed(self, within_s: float) -> None:
        return None


class RemoteWatcher:
    """A watcher socket on node ``origin`` (possibly this one), reached by ``deliver``."""

    def __init__(self, origin: str, watcher_id: str, deliver: Callable[[str, str, str], None]):
        self.origin = origin
        self.watcher_id = watcher_id
        self._deliver = deliver

    @property
    def id(self) -> str:
        return f"{self.origin}/{self.watcher_id}"

    def send(self, message: ServerMessage) -> None:
        self._deliver(self.origin, self.watcher_id, encode(message))

    def send_entry(self, event: Event) -> None:
        return None  # it follows the stream

    def send_live(self, message: ServerMessage) -> None:
        return None

    def close(self, code: CloseCode, reason: str) -> None:
        return None  # its own node closes it, at the stream's end or when it goes

    async def wait_closed(self, within_s: float) -> None:
        return None
