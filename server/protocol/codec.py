"""Frames to typed messages and back. Pure functions; errors are ``ProtocolError``."""

from __future__ import annotations

import struct
from typing import Any

import orjson
import pydantic

from server.errors import OpenHireError
from server.protocol.codes import ErrorCode
from server.protocol.messages import (
    CandidateMessage,
    ScreenshotHeader,
    ServerMessage,
    WatcherMessage,
)

MAX_HEADER_BYTES = 4096

_candidate = pydantic.TypeAdapter[Any](CandidateMessage)
_watcher = pydantic.TypeAdapter[Any](WatcherMessage)
_CANDIDATE_TYPES = frozenset({"answer", "proctor", "end"})
_WATCHER_TYPES = frozenset({"inject_question", "end"})


class ProtocolError(OpenHireError):
    """A frame the server will not act on; answered with an ``error`` message."""

    def __init__(self, code: ErrorCode, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


def encode(message: ServerMessage) -> str:
    return message.model_dump_json()


def _loads_object(text: str | bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(ErrorCode.MALFORMED, "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "a message must be a JSON object")
    return data


def _client_id_of(data: dict[str, Any]) -> str | None:
    value = data.get("client_id")
    return value if isinstance(value, str) and len(value) <= 64 else None


def _validate(
    adapter: pydantic.TypeAdapter[Any], allowed: frozenset[str], data: dict[str, Any]
) -> Any:
    kind = data.get("type")
    if kind not in allowed:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type {kind!r}; expected one of {', '.join(sorted(allowed))}",
            _client_id_of(data),
        )
    try:
        return adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError(
            ErrorCode.INVALID, f"{kind}: {where}: {first['msg']}", _client_id_of(data)
        ) from None


def decode_candidate(text: str | bytes) -> Any:
    """A candidate's text frame -> Answer | Proctor | End."""
    return _validate(_candidate, _CANDIDATE_TYPES, _loads_object(text))


def decode_watcher(text: str | bytes) -> Any:
    """A watcher's text frame -> InjectQuestion | End."""
    return _validate(_watcher, _WATCHER_TYPES, _loads_object(text))


def decode_screenshot(frame: bytes) -> tuple[ScreenshotHeader, bytes]:
    """A binary frame: 4-byte big-endian header length, a UTF-8 JSON header, the image."""
    if len(frame) < 4:
        raise ProtocolError(
            ErrorCode.MALFORMED, "a binary frame starts with a 4-byte header length"
        )
    (length,) = struct.unpack(">I", frame[:4])
    if length == 0 or length > MAX_HEADER_BYTES or 4 + length > len(frame):
        raise ProtocolError(
            ErrorCode.MALFORMED,
            f"bad header length {length} (at most {MAX_HEADER_BYTES}, within the frame)",
        )
    data = _loads_object(frame[4 : 4 + length])
    if data.get("type") != "screenshot":
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown binary frame type {data.get('type')!r}; expected 'screenshot'",
            _client_id_of(data),
        )
    try:
        header = ScreenshotHeader.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "header"
        raise ProtocolError(
            ErrorCode.INVALID, f"screenshot: {where}: {first['msg']}", _client_id_of(data)
        ) from None
    return header, frame[4 + length :]


def encode_screenshot(client_id: str, taken_at: str, image: bytes) -> bytes:
    """The client side of decode_screenshot (used by the Python client and tests)."""
    header = orjson.dumps({"type": "screenshot", "client_id": client_id, "taken_at": taken_at})
    return struct.pack(">I", len(header)) + header + image
