"""The long-lived resources of one running server, opened and closed by the lifespan."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from server.auth.provider import IdentityProvider
from server.auth.throttle import LoginThrottle
from server.auth.tickets import TicketBook
from server.config import Settings
from server.metrics import Metrics
from server.store.blobs import BlobStore
from server.store.database import Pool
from server.store.interview_log import InterviewLog

if TYPE_CHECKING:
    from server.cluster.streams import StreamFollower
    from server.media.hub import MediaHub
    from server.notify.runtime import Notify
    from server.sessions.cluster import Cluster
    from server.sessions.manager import SessionManager
    from server.transport.inbox import ScreenshotChecker


@dataclass(slots=True)
class Services:
    settings: Settings
    pool: Pool
    identity: IdentityProvider
    blobs: BlobStore
    interview_log: InterviewLog
    login_throttle: LoginThrottle
    tickets: TicketBook
    sessions: SessionManager
    screenshots: ScreenshotChecker
    media: MediaHub
    notify: Notify
    metrics: Metrics
    # Behind several nodes (REDIS_URL set): the cluster's parts; None for a single node.
    cluster: Cluster | None = None
    follower: StreamFollower | None = None
    # The interviews being re-scored on this node now (server/http/evaluations.py).
    rescoring: set[uuid.UUID] = field(default_factory=set)


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services
