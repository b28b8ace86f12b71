"""Recruiters' webhooks over HTTP: endpoints, their secrets, and their deliveries. How messages
are queued, signed and sent: ``server.notify.webhooks``, ``signing``, ``targets``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from starlette.requests import Request

from server.auth.identity import User
from server.errors import Conflict, NotFound, ValidationFailed
from server.http.pagination import decode_newest_first, encode_cursor
from server.http.routing import Api
from server.http.types import Input, Output
from server.notify import targets
from server.notify.notices import TEST_EVENT, WebhookEvent
from server.notify.webhooks import MAX_WEBHOOKS
from server.services import get_services

api = Api()

Url = Annotated[str, StringConstraints(min_length=1, max_length=targets.MAX_URL_CHARS)]
Events = Annotated[list[WebhookEvent], Field(min_length=1, max_length=20)]


class WebhookIn(Input):
    url: Url = Field(description="https://..., a public address")
    events: Events


class WebhookChange(Input):
    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = None


class Webhook(Output):
    id: uuid.UUID
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    previous_secret_until: datetime | None = Field(
        description="Until then, messages are signed with the previous secret too"
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(description="whsec_...: shown only now; verify signatures with it")


class WebhookList(Output):
    items: list[Webhook]


class Attempt(Output):
    number: int
    started_at: datetime
    latency_ms: int | None
    status_code: int | None
    outcome: Literal["delivered", "failed", "timeout", "refused", "error"] | None = Field(
        description="None while it runs (or if its server died during it)"
    )
    error: str | None


class Delivery(Output):
    id: uuid.UUID
    message_id: str
    kind: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[Attempt]
    next_attempt_at: datetime | None = Field(description="When a pending one is tried next")
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryQuery(Input):
    state: Literal["pending", "delivered", "failed"] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeliveryPage(Output):
    items: list[Delivery]
    next_cursor: str | None


async def _checked_url(request: Request, url: str) -> str:
    """The URL, if the server will send to it (its addresses now: checked again at every
    attempt); 422 webhook_url_refused otherwise."""
    allow_private = get_services(request).settings.webhooks_allow_private
    try:
        parts = targets.check_url(url, allow_private=allow_private)
        assert parts.hostname is not None
        await targets.checked_addresses(
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            allow_private=allow_private,
        )
    except targets.TargetRefused as exc:
        raise ValidationFailed(f"body.url: {exc}", code="webhook_url_refused") from None
    return url


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        message_id=row["message_id"],
        kind=row["kind"],
        state=row["state"],
        attempts=[Attempt.model_validate(a) for a in row["attempt_list"]],
        next_attempt_at=row["next_attempt_at"] if row["state"] == "pending" else None,
        last_status=row["last_status"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


async def _own(request: Request, user: User, webhook_id: uuid.UUID) -> Any:
    user.require("recruiter")
    row = await get_services(request).notify.webhooks.get(user.id, webhook_id)
    if row is None:
        raise NotFound(f"no webhook of yours with id {webhook_id}")
    return row


@api.post(
    "/webhooks",
    summary="Add a webhook endpoint (recruiters)",
    tags=("webhooks",),
    status=201,
    errors=(403, "webhook_url_refused", "too_many_webhooks"),
)
async def create_webhook(request: Request, user: User, body: WebhookIn) -> WebhookWithSecret:
    user.require("recruiter")
    url = await _checked_url(request, body.url)
    row = await get_services(request).notify.webhooks.create(user.id, url, body.events)
    if row is None:
        raise Conflict(
            f"you have {MAX_WEBHOOKS} webhooks, the most allowed; delete one first",
            code="too_many_webhooks",
        )
    return WebhookWithSecret.model_validate(dict(row))


@api.get("/webhooks", summary="Your webhook endpoints", tags=("webhooks",), errors=(403,))
async def list_webhooks(request: Request, user: User) -> WebhookList:
    user.require("recruiter")
    rows = await get_services(request).notify.webhooks.of_recruiter(user.id)
    return WebhookList(items=[Webhook.model_validate(dict(r)) for r in rows])


@api.get("/webhooks/{webhook_id}", summary="One webhook", tags=("webhooks",), errors=(403,))
async def get_webhook(request: Request, user: User, webhook_id: uuid.UUID) -> Webhook:
    return Webhook.model_validate(dict(await _own(request, user, webhook_id)))


@api.patch(
    "/webhooks/{webhook_id}",
    summary="Change a webhook's URL or events, or disable or enable it",
    tags=("webhooks",),
    errors=(403, "webhook_url_refused"),
)
async def update_webhook(
    request: Request, user: User, webhook_id: uuid.UUID, body: WebhookChange
) -> Webhook:
    await _own(request, user, webhook_id)
    url = await _checked_url(request, body.url) if body.url is not None else None
    row = await get_services(request).notify.webhooks.update(
        user.id, webhook_id, url=url, events=body.events, enabled=body.enabled
    )
    if row is None:
        raise NotFound(f"no webhook of yours with id {webhook_id}")
    return Webhook.model_validate(dict(row))


@api.delete(
    "/webhooks/{webhook_id}",
    summary="Delete a webhook and its deliveries",
    tags=("webhooks",),
    errors=(403,),
)
async def delete_webhook(request: Request, user: User, webhook_id: uuid.UUID) -> None:
    user.require("recruiter")
    if not await get_services(request).notify.webhooks.delete(user.id, webhook_id):
        raise NotFound(f"no webhook of yours with id {webhook_id}")


@api.post(
    "/webhooks/{webhook_id}/secret",
    summary="Rotate the signing secret (the old one still signs for 24 hours)",
    tags=("webhooks",),
    errors=(403,),
)
async def rotate_secret(request: Request, user: User, webhook_id: uuid.UUID) -> WebhookWithSecret:
    await _own(request, user, webhook_id)
    row = await get_services(request).notify.webhooks.rotate_secret(user.id, webhook_id)
    if row is None:
        raise NotFound(f"no webhook of yours with id {webhook_id}")
    return WebhookWithSecret.model_validate(dict(row))


@api.post(
    "/webhooks/{webhook_id}/test",
    summary="Send a test message (webhook.test) to the endpoint",
    tags=("webhooks",),
    status=202,
    errors=(403, "webhook_disabled"),
)
async def test_webhook(request: Request, user: User, webhook_id: uuid.UUID) -> Delivery:
    webhook = await _own(request, user, webhook_id)
    if not webhook["enabled"]:
        raise Conflict("the webhook is disabled: enable it first", code="webhook_disabled")
    row = await get_services(request).notify.webhooks.enqueue_test(
        webhook_id, TEST_EVENT, {"webhook_id": str(webhook_id)}
    )
    return _delivery(row)


@api.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="The webhook's deliveries, newest first, with their attempts",
    tags=("webhooks",),
    errors=(403, "invalid_cursor"),
)
async def list_deliveries(
    request: Request, user: User, webhook_id: uuid.UUID, query: DeliveryQuery
) -> DeliveryPage:
    await _own(request, user, webhook_id)
    before = decode_newest_first(query.cursor) if query.cursor else None
    rows = await get_services(request).notify.webhooks.deliveries(
        webhook_id, state=query.state, before=before, limit=query.limit + 1
    )
    items, rest = rows[: query.limit], rows[query.limit :]
    return DeliveryPage(
        items=[_delivery(r) for r in items],
        next_cursor=encode_cursor(items[-1]["created_at"], items[-1]["id"]) if rest else None,
    )


@api.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
    summary="Send a delivered or failed message again (same webhook-id)",
    tags=("webhooks",),
    status=202,
    errors=(403, "delivery_pending", "webhook_disabled"),
)
async def resend_delivery(
    request: Request, user: User, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery:
    webhook = await _own(request, user, webhook_id)
    if not webhook["enabled"]:
        raise Conflict("the webhook is disabled: enable it first", code="webhook_disabled")
    row = await get_services(request).notify.webhooks.resend(webhook_id, delivery_id)
    if row is None:
        raise NotFound(f"no delivery with id {delivery_id} for this webhook")
    if row is False:
        raise Conflict("this delivery is still being attempted", code="delivery_pending")
    return _delivery(row)
