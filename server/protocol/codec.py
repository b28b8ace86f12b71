"""Frames to typed messages and back. Pure functions; errors are ``ProtocolError``."""

from __future__ import annotations

import struct
from typing import Annotated, Any, cast, get_args

import orjson
import pydantic

from server.errors import ProtocolError as ProtocolError  # the codec's error, re-exported
from server.protocol.codes import ErrorCode
from server.protocol.messages import (
    AnyServerMessage,
    CandidateMessage,
    Error,
    ScreenshotHeader,
    ServerMessage,
    WatcherMessage,
)

MAX_HEADER_BYTES = 4096

_candidate = pydantic.TypeAdapter[Any](CandidateMessage)
_watcher = pydantic.TypeAdapter[Any](WatcherMessage)
_CANDIDATE_TYPES = frozenset(
    {
        "answer",
        "answer.end",
        "answer.pause",
        "answer.resume",
        "proctor",
        "end",
        "rtc.offer",
        "rtc.close",
    }
)
_WATCHER_TYPES = frozenset({"inject_question", "end", "rtc.offer", "rtc.close"})
# The client's side: every message the server sends, told apart by its `type`.
_server = pydantic.TypeAdapter[Any](
    Annotated[AnyServerMessage, pydantic.Field(discriminator="type")]
)
_SERVER_TYPES = frozenset(m.model_fields["type"].default for m in get_args(AnyServerMessage))


# The last message encoded and its frame. A message fans out to several sockets one after
# the other (a question.delta to the candidate and every watcher, a log entry to every watcher
# and the cluster's stream): it is encoded for the first and the same text serves the rest.
# Messages are frozen, and the reference held keeps the identity test sound.
_last_encoded: tuple[ServerMessage, str] | None = None


def encode(message: ServerMessage) -> str:
    global _last_encoded
    last = _last_encoded
    if last is not None and last[0] is message:
        return last[1]
    text = message.model_dump_json()
    _last_encoded = (message, text)
    return text


def error_frame(error: ProtocolError) -> Error:
    """The ``error`` frame telling a client that the server did not act on what it sent, and
    why: every refusal, whoever decides it (a frame check, the session), is built here."""
    return Error(code=error.code, message=error.message, client_id=error.client_id)


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
    """A candidate's text frame -> Answer | AnswerEnd | AnswerPause | AnswerResume | Proctor |
    End | RtcOffer | RtcClose."""
    return _validate(_candidate, _CANDIDATE_TYPES, _loads_object(text))


def decode_watcher(text: str | bytes) -> Any:
    """A watcher's text frame -> InjectQuestion | End | RtcOffer | RtcClose."""
    return _validate(_watcher, _WATCHER_TYPES, _loads_object(text))


def decode_server(text: str | bytes) -> AnyServerMessage:
    """A server's text frame -> its typed message (what ``encode`` wrote): the client's side.
    A type this client does not know is ``unknown_type``; a known one with wrong fields,
    ``invalid``."""
    try:
        # The common case in one pass (a load generator decodes thousands a second); the
        # slower path below only to say what is wrong.
        return cast(AnyServerMessage, _server.validate_json(text))
    except pydantic.ValidationError:
        return cast(AnyServerMessage, _validate(_server, _SERVER_TYPES, _loads_object(text)))


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


# How far a screenshot's `taken_at` may be from the server's clock, either way: room for a
# client clock a little off and for a screenshot resent after a reconnect (the grace period is
# 120 s), none for one dated in another year.
TAKEN_AT_TOLERANCE_S = 300.0


def check_taken_at(header: ScreenshotHeader, now: float) -> None:
    """Refuse a screenshot dated more than TAKEN_AT_TOLERANCE_S from ``now`` (the server's
    clock, a Unix time): the log would otherwise record when the candidate says, not when."""
    drift = header.taken_at.timestamp() - now
    if abs(drift) > TAKEN_AT_TOLERANCE_S:
        raise ProtocolError(
            ErrorCode.INVALID,
            f"screenshot: taken_at is {abs(drift):.0f} s {'ahead of' if drift > 0 else 'behind'}"
            f" the server's clock; at most {TAKEN_AT_TOLERANCE_S:.0f} s either way",
            header.client_id,
        )


def encode_screenshot(client_id: str, taken_at: str, image: bytes) -> bytes:
    """The client side of decode_screenshot (used by the Python client and tests)."""
    header = orjson.dumps({"type": "screenshot", "client_id": client_id, "taken_at": taken_at})
    return struct.pack(">I", len(header)) + header + image
