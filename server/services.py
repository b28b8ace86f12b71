"""The long-lived resources of one running server, opened and closed by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from server.auth.provider import IdentityProvider
from server.auth.throttle import LoginThrottle
from server.auth.tickets import TicketBook
from server.config import Settings
from server.store.blobs import BlobStore
from server.store.database import Pool

if TYPE_CHECKING:
    from server.sessions.manager import SessionManager


@dataclass(slots=True)
class Services:
    settings: Settings
    pool: Pool
    identity: IdentityProvider
    blobs: BlobStore
    login_throttle: LoginThrottle
    tickets: TicketBook
    sessions: SessionManager


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services
