"""What a notification is: its kinds, who gets which, and its two shapes (to write, as stored).
No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

Kind = Literal[
    # The recruiter's: something happened to one of their jobs' applications or interviews.
    "application.created",
    "interview.started",
    "interview.completed",
    "interview.abandoned",
    "interview.expired",
    "evaluation.ready",
    "webhook.disabled",
    # The candidate's.
    "application.status_changed",
    "interview.scheduled",
    "interview.expiring",
]
KINDS: tuple[str, ...] = get_args(Kind)

# What a recruiter's webhook may subscribe to: every event of their jobs (not the webhooks'
# own bookkeeping, which a failing endpoint could not receive anyway).
WebhookEvent = Literal[
    "application.created",
    "interview.started",
    "interview.completed",
    "interview.abandoned",
    "interview.expired",
    "evaluation.ready",
]
WEBHOOK_EVENTS: tuple[str, ...] = get_args(WebhookEvent)
# A webhook's test message (POST /webhooks/{id}/test): sent whatever the endpoint subscribes to.
TEST_EVENT = "webhook.test"

# What a candidate is emailed about, when SMTP is configured: what asks them to act.
EMAIL_KINDS: frozenset[str] = frozenset({"interview.scheduled", "interview.expiring"})

# PostgreSQL NOTIFY channels: a committed notification (its JSON), webhook deliveries and
# emails queued (no payload: the workers read the queue).
STREAM_CHANNEL = "openhire_notifications"
WEBHOOK_CHANNEL = "openhire_webhooks"
EMAIL_CHANNEL = "openhire_email"


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification to write: for whom, what kind, what it is about, and a short payload
    (names and states a list can show without another read)."""

    user_id: uuid.UUID
    kind: Kind
    job_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    interview_id: uuid.UUID | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification as stored: ``seq`` is the recipient's own sequence number."""

    id: uuid.UUID
    user_id: uuid.UUID
    seq: int
    kind: str
    job_id: uuid.UUID | None
    application_id: uuid.UUID | None
    interview_id: uuid.UUID | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Notification:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            seq=row["seq"],
            kind=row["kind"],
            job_id=row["job_id"],
            application_id=row["application_id"],
            interview_id=row["interview_id"],
            payload=row["payload"],
            created_at=row["created_at"],
            read_at=row["read_at"],
        )

    def to_json(self) -> dict[str, Any]:
        """As the API and the stream show it (and as NOTIFY carries it between servers)."""
        return {
            "id": str(self.id),
            "user_id": str(self.user_id),
            "seq": self.seq,
            "kind": self.kind,
            "job_id": _text(self.job_id),
            "application_id": _text(self.application_id),
            "interview_id": _text(self.interview_id),
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
            "read_at": self.read_at.isoformat() if self.read_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        return cls(
            id=uuid.UUID(data["id"]),
            user_id=uuid.UUID(data["user_id"]),
            seq=int(data["seq"]),
            kind=data["kind"],
            job_id=_uuid(data["job_id"]),
            application_id=_uuid(data["application_id"]),
            interview_id=_uuid(data["interview_id"]),
            payload=dict(data["payload"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            read_at=datetime.fromisoformat(data["read_at"]) if data["read_at"] else None,
        )

    def subjects(self) -> dict[str, str]:
        """The ids it is about, those that are set."""
        ids = {
            "job_id": self.job_id,
            "application_id": self.application_id,
            "interview_id": self.interview_id,
        }
        return {name: str(value) for name, value in ids.items() if value is not None}


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None
