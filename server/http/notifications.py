"""Notifications over HTTP: the list, marking read, the unread count, and the live stream
(Server-Sent Events, opened with a ticket as the sockets are: EventSource cannot send headers).
How they are written and delivered: ``server.notify``."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from server.auth.identity import User
from server.errors import OpenHireError, Unauthorized, ValidationFailed
from server.http.pagination import decode_cursor, encode_cursor, invalid_cursor
from server.http.routing import Api
from server.http.types import Input, Output
from server.notify import stream
from server.notify.notices import KINDS, Notification
from server.services import get_services

api = Api()

# The browser waits this long before it reconnects a stream that ended (the SSE `retry` field).
RECONNECT_MS = 2000
# How long one write to a stream may block (a client that stopped reading) before it is dropped.
SEND_TIMEOUT_S = 30.0


class NotificationOut(Output):
    id: uuid.UUID
    seq: int = Field(description="The recipient's own sequence number: the stream's event id")
    kind: str = Field(json_schema_extra={"enum": list(KINDS)})
    job_id: uuid.UUID | None
    application_id: uuid.UUID | None
    interview_id: uuid.UUID | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationQuery(Input):
    unread: bool = Field(default=False, description="Only those not yet read")
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=100)] | None = None


class NotificationPage(Output):
    items: list[NotificationOut]
    next_cursor: str | None


class MarkRead(Input):
    """``ids`` or ``all``, one of them (the schema's oneOf says so too)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["ids"]}, {"required": ["all"]}]}
    )

    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)] | SkipJsonSchema[None] = (
        None
    )
    all: Literal[True] | SkipJsonSchema[None] = Field(
        default=None, description="Every one of yours"
    )

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if (self.ids is None) == (self.all is None):
            raise ValueError("give either ids or all: true")
        return self


class MarkedRead(Output):
    marked: int = Field(description="How many of them were unread")
    unread: int


class Counts(Output):
    unread: int
    last_seq: int = Field(description="The latest notification's number: a new stream's after")


class StreamTicket(Output):
    ticket: str
    expires_in: int
    url: str = Field(description="The stream's path, with the ticket; add after= to resume")


class StreamQuery(Input):
    ticket: Annotated[str, StringConstraints(max_length=200)]
    after: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = Field(
        default=None,
        description="Resume after this notification number (Last-Event-ID, when sent, wins);"
        " without either, only what comes from now on",
    )


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(**n.to_json())


@api.get(
    "/notifications",
    summary="Your notifications, newest first",
    tags=("notifications",),
    errors=("invalid_cursor",),
)
async def list_notifications(
    request: Request, user: User, query: NotificationQuery
) -> NotificationPage:
    before = None
    if query.cursor:
        (before,) = decode_cursor(query.cursor, 1)
        if not isinstance(before, int) or isinstance(before, bool) or not 1 <= before < 2**63:
            raise invalid_cursor()
    found = await get_services(request).notify.notifications.page(
        user.id, unread_only=query.unread, before_seq=before, limit=query.limit + 1
    )
    items, rest = found[: query.limit], found[query.limit :]
    return NotificationPage(
        items=[_out(n) for n in items],
        next_cursor=encode_cursor(items[-1].seq) if rest else None,
    )


@api.post("/notifications/read", summary="Mark notifications read", tags=("notifications",))
async def mark_read(request: Request, user: User, body: MarkRead) -> MarkedRead:
    notifications = get_services(request).notify.notifications
    marked = await notifications.mark_read(user.id, body.ids)
    unread, _ = await notifications.counts(user.id)
    return MarkedRead(marked=marked, unread=unread)


@api.get(
    "/notifications/unread-count",
    summary="How many of your notifications are unread",
    tags=("notifications",),
)
async def unread_count(request: Request, user: User) -> Counts:
    unread, last_seq = await get_services(request).notify.notifications.counts(user.id)
    return Counts(unread=unread, last_seq=last_seq)


@api.post(
    "/notifications/ticket",
    summary="A ticket to open your notification stream",
    tags=("notifications",),
)
async def issue_stream_ticket(request: Request, user: User) -> StreamTicket:
    tickets = get_services(request).tickets
    ticket = await tickets.issue(None, user.id, "notifications")
    return StreamTicket(
        ticket=ticket,
        expires_in=int(tickets.ttl_s),
        url=f"/notifications/stream?ticket={ticket}",
    )


@api.get(
    "/notifications/stream",
    summary="Your notifications as they happen (Server-Sent Events)",
    tags=("notifications",),
    errors=(401,),
    raw_response="text/event-stream",
)
async def stream_notifications(request: Request, query: StreamQuery) -> Response:
    services = get_services(request)
    after = query.after
    last_event_id = request.headers.get("last-event-id")
    if last_event_id:
        if not last_event_id.isdigit() or int(last_event_id) >= 2**63:
            raise ValidationFailed("Last-Event-ID: must be a notification number")
        after = int(last_event_id)
    ticket = await services.tickets.redeem(query.ticket)
    if ticket is None or ticket.role != "notifications":
        raise Unauthorized("missing, expired or used ticket: ask POST /notifications/ticket")
    user_id = ticket.user_id

    async def send() -> Any:
        try:
            async for n in stream.events(
                services.notify.hub, services.notify.notifications, user_id, after
            ):
                if isinstance(n, int):
                    # Where the stream starts, as an id: a client dropped before any
                    # notification resumes from here. And how long to wait before that.
                    yield ServerSentEvent(
                        data=orjson.dumps({"after": n}).decode(),
                        id=str(n),
                        event="ready",
                        retry=RECONNECT_MS,
                    )
                    continue
                yield ServerSentEvent(
                    data=orjson.dumps(n.to_json()).decode(), id=str(n.seq), event="notification"
                )
        finally:
            # The browser's EventSource reconnects to the same URL by itself: the ticket is
            # good for that again, for a while.
            with contextlib.suppress(OpenHireError):  # Redis gone: the client asks anew
                await services.tickets.hand_back(query.ticket, ticket)

    return EventSourceResponse(
        send(),
        ping=services.settings.notifications_heartbeat_s,
        send_timeout=SEND_TIMEOUT_S,
        headers={"Cache-Control": "no-store"},
    )
