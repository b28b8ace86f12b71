"""WebSocket close codes and in-band error codes of ``openhire.v1``.

Close codes 4000-4999 are the application's own (RFC 6455, section 7.4.2). Each names one
reason to end a socket; the client decides from the code alone whether to reconnect.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CloseCode(IntEnum):
    NORMAL = 1000  # the interview ended; do not reconnect
    GOING_AWAY = 1001  # a browser unloading the page
    MESSAGE_TOO_BIG = 1009  # a frame over the size limit
    SERVER_RESTARTING = 1012  # reconnect with a new ticket after a short pause
    TRY_AGAIN_LATER = 1013  # a service the nodes share (Redis) is out of reach; retry later
    PROTOCOL_UNSUPPORTED = 4000  # the client did not offer openhire.v1
    BAD_TICKET = 4001  # missing, unknown, expired or already used ticket
    FORBIDDEN = 4003  # the ticket is not for this interview or this role
    NOT_FOUND = 4004  # no such interview
    SLOW_CONSUMER = 4008  # the client did not read fast enough; reconnect from its offset
    INTERVIEW_ENDED = 4009  # the interview is over (completed, abandoned or expired)
    REPLACED = 4010  # another socket took over this candidate's session
    INVALID_REQUEST = 4022  # a bad socket parameter (a malformed or out-of-range since)
    RATE_LIMITED = 4029  # too many messages; reconnect after a pause
    PAGE_LEAVING = 4100  # sent by a client as its page unloads (a script cannot send 1001)
    INTERNAL_ERROR = 1011


# After these a client does not reconnect (the "no" rows of docs/protocol.md, section 2); after
# any other close, or a dropped connection, it comes back with a new ticket.
FINAL_CLOSE_CODES = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.PROTOCOL_UNSUPPORTED,
        CloseCode.FORBIDDEN,
        CloseCode.NOT_FOUND,
        CloseCode.INTERVIEW_ENDED,
        CloseCode.REPLACED,
    }
)


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
    # The server could not store the message, for good (not a transient failure): it is not
    # stored and will not be acked; the session goes on as if it had never been sent.
    INTERNAL_ERROR = "internal_error"
    # Spoken answers (docs/protocol.md, "Spoken answers"): answer.end with nothing to end.
    NO_SPEECH = "no_speech"  # no speech heard yet for this question: the answer goes on
    NOT_VOICE = "not_voice"  # the interview's plan takes typed answers only
    # answer.resume with no spoken answer held from a previous connection
    NO_ANSWER_IN_PROGRESS = "no_answer_in_progress"
    # WebRTC signalling (docs/protocol.md, section "Media"): answers to an rtc.offer.
    RTC_BAD_SDP = "rtc_bad_sdp"  # not parseable, over 64 KiB, not a complete offer
    RTC_NO_AUDIO = "rtc_no_audio"  # a candidate's offer without audio or a usable audio codec
    RTC_MEDIA_LIMIT = "rtc_media_limit"  # the server holds OPENHIRE_MAX_MEDIA_SESSIONS peers
    RTC_RENEGOTIATION_LIMIT = "rtc_renegotiation_limit"  # too many offers on one socket
    # an offer asking for, or a peer sending, more video than session.ready.media.max_video
    RTC_VIDEO_LIMIT = "rtc_video_limit"
    RTC_UNAVAILABLE = "rtc_unavailable"  # WebRTC is off, or the interview's media is elsewhere
