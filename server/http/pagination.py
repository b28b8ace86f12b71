"""Opaque keyset cursors: the last row's sort key and id, base64url JSON.

A cursor comes back from the client, so decoding trusts nothing: anything this server could
not have issued (bad base64, wrong shape, an id that is not a UUID, a time without a zone or
out of range) is a 400 ``invalid_cursor``, never a 500.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
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


class SqlArgs:
    """Numbered query parameters: ``args(value)`` appends the value and returns its ``$n``."""

    def __init__(self, *initial: Any) -> None:
        self.values: list[Any] = list(initial)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True, slots=True)
class NewestFirstPage:
    """One page of a list sorted by ``(created_at, id)`` descending, as SQL."""

    # ``where ... order by ... limit ...`` for the page (one row more than asked, to tell
    # whether there is a next page), and its parameters.
    clause: str
    args: list[Any]
    # The filters alone, and their parameters, for counting the whole list.
    filters: str
    filter_args: list[Any]
    limit: int

    @classmethod
    def build(
        cls, alias: str, where: list[str], args: SqlArgs, cursor: str | None, limit: int
    ) -> NewestFirstPage:
        filters = " and ".join(where)
        filter_args = list(args.values)
        page_where = filters
        if cursor:
            created_at, last_id = decode_newest_first(cursor)
            page_where += (
                f" and ({alias}.created_at, {alias}.id) < ({args(created_at)}, {args(last_id)})"
            )
        clause = (
            f"where {page_where} order by {alias}.created_at desc, {alias}.id desc"
            f" limit {args(limit + 1)}"
        )
        return cls(clause, list(args.values), filters, filter_args, limit)

    def cut(self, rows: list[Any]) -> tuple[list[Any], str | None]:
        """The page's rows and the cursor of the next page (None on the last one)."""
        if len(rows) <= self.limit:
            return rows, None
        rows = rows[: self.limit]
        return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
