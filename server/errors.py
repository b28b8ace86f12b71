"""Every error OpenHire raises on purpose, rooted in one base class.

    OpenHireError
    ├── ConfigurationError          bad settings: the process refuses to start
    ├── DataDirectoryInUse          another server holds the data directory
    ├── DatabaseStartError          the embedded PostgreSQL did not start
    ├── DatabaseUnreachable         the configured database did not answer at start-up
    ├── MigrationFailed             a migration's statement was refused; nothing of it applied
    ├── BlobStoreError              the blob store (Supabase Storage) could not do what was asked
    │   └── BlobStoreFailed         permanent: a refused object, a missing bucket
    ├── InterviewerError            the AI interviewer could not produce a question or evaluation
    │   ├── InterviewerUnavailable  transient failures outlasted the retries: try again later
    │   └── InterviewerFailed       permanent: bad credentials, bad request, invalid output
    ├── SpeechError                 speech-to-text or text-to-speech could not do what was asked
    │   ├── SpeechUnavailable       transient failures outlasted the retries
    │   └── SpeechFailed            permanent: bad credentials, a refused request or model
    ├── KeySetUnavailable           the identity provider's signing keys could not be fetched
    ├── StaleOwner                  this node lost a live interview to another (its epoch is old)
    ├── InterviewOver               409 interview_ended; a socket closes with 4009
    ├── ProtocolError               a frame the server will not act on: an ``error`` frame
    │                               (422 and 4022 where it refuses a request or a socket)
    ├── ImageError                  a screenshot that is not one whole JPEG or PNG
    ├── FieldProblem                a rule across a request's fields that one field breaks
    │                               (also a ValueError: raised in pydantic validators)
    └── ApiError                    an error answered to a client; one status and one code each
        ├── BadRequest              400 bad_request
        ├── Unauthorized            401 unauthorized
        ├── Forbidden               403 forbidden
        ├── NotFound                404 not_found
        ├── Conflict                409 conflict
        ├── PayloadTooLarge         413 payload_too_large
        ├── UnsupportedMediaType    415 unsupported_media_type
        ├── ValidationFailed        422 validation_failed
        ├── RateLimited             429 rate_limited
        ├── ScoringFailed           502 interviewer_failed (a re-score the interviewer refused)
        ├── ScoringUnavailable      503 interviewer_unavailable (the interviewer did not answer)
        ├── ServerBusy              503 server_busy (too much costly work at once: password hashes)
        ├── DatabaseUnavailable     503 database_unavailable (also a ConnectionError)
        ├── ClusterUnavailable      503 cluster_unavailable: Redis, which the nodes share, is
        │                           out of reach; a socket closes with 1013 (try again later)
        ├── BlobStoreUnavailable    503 storage_unavailable (also a BlobStoreError)
        │   └── BlobStoreKeyRejected    the same 503, but Storage refused the service key
        └── IdentityUnavailable     503 auth_unavailable (Supabase Auth unreachable or failing)

What a client is told of an error (its HTTP status and error code, its WebSocket close code)
is decided in one place, ``told`` at the end of this module: ``server.http.errors`` answers
requests from it, ``server.transport`` closes sockets from it. An error ``told`` says nothing
of is logged, and its client hears only that the server failed (500, or 1011). Messages are
written for the client: they never carry internal details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from server.protocol.codes import CloseCode, ErrorCode

InterviewerFailure = Literal[
    "refused_request", "refusal", "length", "content_filter", "invalid_output"
]


class OpenHireError(Exception):
    """Base class of every error raised by OpenHire on purpose."""


class ConfigurationError(OpenHireError):
    """A setting is missing or malformed."""


class DataDirectoryInUse(OpenHireError):
    """Another process holds the lock on the data directory."""


class DatabaseStartError(OpenHireError):
    """The embedded PostgreSQL could not be initialised or started."""


class DatabaseUnreachable(OpenHireError):
    """The database named by DATABASE_URL could not be reached at start-up, within the
    connect timeout. The message names the host, never the password."""


class MigrationFailed(OpenHireError):
    """A statement of a migration failed (a missing privilege, a conflicting object): its
    transaction was rolled back. The message is one line naming the file and the statement."""


class BlobStoreError(OpenHireError):
    """The blob store could not store, read, delete or sign a blob."""


class BlobStoreFailed(BlobStoreError):
    """A permanent failure (a refused object, a missing bucket): retrying the same request
    cannot help. The message is for the log: it may name the bucket and the key."""


class InterviewerError(OpenHireError):
    """The interviewer (scripted or a model behind an API) could not do what was asked."""


class InterviewerUnavailable(InterviewerError):
    """Transient failures (connection, timeout, 429, 5xx) outlasted the retries."""


class InterviewerFailed(InterviewerError):
    """A permanent failure: retrying the same request cannot help.

    ``why`` says what kind, in words the server may show a candidate (the message is for the
    log and may quote the provider): ``refused_request`` (the provider refused the request:
    credentials, quota, a bad request), ``refusal`` (the model declined to write it),
    ``length`` (cut off at the length limit), ``content_filter`` (stopped by a content
    filter), ``invalid_output`` (output that does not fit its schema)."""

    def __init__(self, message: str, *, why: InterviewerFailure = "refused_request") -> None:
        super().__init__(message)
        self.why: InterviewerFailure = why


class SpeechError(OpenHireError):
    """The speech server (OpenAI-compatible transcription or speech) failed a request. The
    message is for the log: it may quote the provider."""


class SpeechUnavailable(SpeechError):
    """Transient failures (connection, timeout, 429, 5xx) outlasted the retries."""


class SpeechFailed(SpeechError):
    """A permanent failure: retrying the same request cannot help (400, 401, 403, 404, 413,
    422, an exhausted quota)."""


class KeySetUnavailable(OpenHireError):
    """The key set could not be fetched or read; the message says why, for an operator."""


class StaleOwner(OpenHireError):
    """This node no longer owns the live interview: another node took it over (raised its
    epoch), so PostgreSQL refused this node's write of the log. Nothing of it was stored."""

    def __init__(self, interview_id: str) -> None:
        super().__init__(f"another node owns interview {interview_id} now")
        self.interview_id = interview_id


class InterviewOver(OpenHireError):
    """The interview has ended (completed, abandoned or expired): nothing more can happen in
    it, no socket may open on it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(OpenHireError):
    """A frame the server will not act on; answered with an ``error`` frame of this code,
    message and client id, and the socket goes on."""

    def __init__(self, code: ErrorCode, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


class ImageError(OpenHireError):
    """A screenshot that is not one whole JPEG or PNG of an acceptable size; the message
    names what was wrong. Its sender is told ``bad_image``."""


class FieldProblem(OpenHireError, ValueError):
    """A rule across fields (a model validator's) that one field breaks: the 422's problem names
    that field (``loc`` ends with ``field``, a dotted path below the model) and says ``message``
    as it is, so a client shows it at the field. Raise it instead of a bare ``ValueError``,
    whose problem could only name the whole body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ApiError(OpenHireError):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code is not None:
            self.code = code  # type: ignore[misc]


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_failed"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"


class ScoringFailed(ApiError):
    """A re-score asked of the AI interviewer failed for good (refused, invalid output twice,
    bad credentials): nothing was stored, and the same request would fail again."""

    status = 502
    code = "interviewer_failed"


class ScoringUnavailable(ApiError):
    """A re-score asked of the AI interviewer failed for now (unreachable, rate limited, 5xx
    past the retries): nothing was stored; try again later."""

    status = 503
    code = "interviewer_unavailable"


class ServerBusy(ApiError):
    """The server is doing as much of some costly work (password hashing) as it allows at
    once, and its queue is full: nothing is wrong with the request; try again shortly."""

    status = 503
    code = "server_busy"


class DatabaseUnavailable(ApiError, ConnectionError):
    """The database cannot be reached right now (down, restarting, out of connections).

    Also a ``ConnectionError``, so that code which retries transient connection failures (the
    persistence queue) retries this one too, while a request answers 503."""

    status = 503
    code = "database_unavailable"


class BlobStoreUnavailable(ApiError, BlobStoreError):
    """The blob store kept failing transiently (unreachable, timing out, 429, 5xx) past its
    retries. A request answers 503; the details were logged by the store."""

    status = 503
    code = "storage_unavailable"


class BlobStoreKeyRejected(BlobStoreUnavailable):
    """Storage refused the server's service key (rotated or revoked since start-up). Nothing
    the client did: a request answers the same 503 as an outage, and the store logs
    ``blob_store.key_rejected`` saying that the key must be replaced."""


class IdentityUnavailable(ApiError):
    """The identity provider (Supabase Auth) could not be reached, or failed in a way that is
    not the client's doing. A request answers 503; the details were logged."""

    status = 503
    code = "auth_unavailable"


class ClusterUnavailable(ApiError):
    """Redis, which the nodes of a cluster share (tickets, leases, live fan-out), cannot be
    reached: nothing that needs it can start now. Retryable."""

    status = 503
    code = "cluster_unavailable"


# --- what a client is told ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Told:
    """What a client is told of an error: over HTTP its status and body, on a socket the close
    code and reason when the error ends the socket."""

    status: int
    code: str
    message: str
    close_code: int


# The sockets' close codes; an error told to a client but not listed closes a socket with
# 1011 and its message. A socket proves who opens it with a ticket: its 401 is a bad ticket.
_CLOSE_CODES: tuple[tuple[type[OpenHireError], CloseCode], ...] = (
    (Unauthorized, CloseCode.BAD_TICKET),
    (Forbidden, CloseCode.FORBIDDEN),
    (NotFound, CloseCode.NOT_FOUND),
    (InterviewOver, CloseCode.INTERVIEW_ENDED),
    (RateLimited, CloseCode.RATE_LIMITED),
    (ClusterUnavailable, CloseCode.TRY_AGAIN_LATER),
    (ValidationFailed, CloseCode.INVALID_REQUEST),
    (ProtocolError, CloseCode.INVALID_REQUEST),
)


def told(exc: OpenHireError) -> Told | None:
    """What a client is told of ``exc``; None for an error whose details are the server's
    own (it is logged, and the client hears only that the server failed)."""
    status: int
    code: str
    if isinstance(exc, ApiError):
        status, code = exc.status, exc.code
    elif isinstance(exc, InterviewOver):
        status, code = 409, "interview_ended"
    elif isinstance(exc, ProtocolError):
        status, code = 422, exc.code
    else:
        return None
    close_code = next(
        (close for kind, close in _CLOSE_CODES if isinstance(exc, kind)), CloseCode.INTERNAL_ERROR
    )
    return Told(status, code, exc.message, close_code)
