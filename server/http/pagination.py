"""Opaque keyset cursors: the last row's sort key and id, base64url JSON.

A cursor comes back from the client, so decoding trusts nothing: anything this server could
not have issued (bad base64, wrong shape, an id that is not a UUID, a time without a zone or
out of range) is a 400 ``invalid_cursor``, never a 500.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from server.errors import BadRequest


def invalid_cursor() -> BadRequest:
    return BadRequest("the cursor is not one this server issued", code="invalid_cursor")


def encode_cursor(*parts: Any) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    raw = orjson.dumps([plain(p) for p in parts])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The cursor's parts; raises BadRequest unless it is a list of ``length`` items."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        raise invalid_cursor() from None
    if not isinstance(parts, list) or len(parts) != length:
        raise invalid_cursor()
    return parts


def cursor_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise invalid_cursor()
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_cursor() from None


def cursor_time(value: Any) -> datetime:
    """An aware timestamp PostgreSQL can take."""
    if not isinstance(value, str):
        raise invalid_cursor()
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid_cursor() from None


def decode_newest_first(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor of a list sorted by (created_at, id) descending."""
    created_at, row_id = decode_cursor(cursor, 2)
    return cursor_time(created_at), cursor_uuid(row_id)
