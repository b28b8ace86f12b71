"""WebSocket close codes and in-band error codes of ``openhire.v1``.

Close codes 4000-4999 are the application's own (RFC 6455, section 7.4.2). Each names one
reason to end a socket; the client decides from the code alone whether to reconnect.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CloseCode(IntEnum):
    NORMAL = 1000  # the interview ended; do not reconnect
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009  # a frame over the size limit
    SERVER_RESTARTING = 1012  # reconnect with a new ticket after a short pause
    PROTOCOL_UNSUPPORTED = 4000  # the client did not offer openhire.v1
    BAD_TICKET = 4001  # missing, unknown, expired or already used ticket
    FORBIDDEN = 4003  # the ticket is not for this interview or this role
    NOT_FOUND = 4004  # no such interview
    SLOW_CONSUMER = 4008  # the client did not read fast enough; reconnect from its offset
    INTERVIEW_ENDED = 4009  # the interview is over (completed, abandoned or expired)
    REPLACED = 4010  # another socket took over this candidate's session
    RATE_LIMITED = 4029  # too many messages; reconnect after a pause
    INTERNAL_ERROR = 1011


class ErrorCode(StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, or a bad binary frame
    UNKNOWN_TYPE = "unknown_type"
    INVALID = "invalid"  # a known type with wrong or missing fields
    NOT_ALLOWED = "not_allowed"  # valid, but not for this role or not now
    STALE_QUESTION = "stale_question"  # an answer to a question that is not the current one
    TOO_LARGE = "too_large"
    BAD_IMAGE = "bad_image"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"  # the server could not take it now; resend later
    INTERVIEWER_FAILED = "interviewer_failed"
    INTERVIEW_ENDED = "interview_ended"
