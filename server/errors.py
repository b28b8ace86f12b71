"""Every error OpenHire raises on purpose, rooted in one base class.

    OpenHireError
    ├── ConfigurationError          bad settings: the process refuses to start
    ├── DataDirectoryInUse          another server holds the data directory
    ├── DatabaseStartError          the embedded PostgreSQL did not start
    ├── DatabaseUnreachable         the configured database did not answer at start-up
    ├── BlobStoreError              the blob store (Supabase Storage) could not do what was asked
    │   └── BlobStoreFailed         permanent: a rejected key or object, a missing bucket
    ├── InterviewerError            the AI interviewer could not produce a question or evaluation
    │   ├── InterviewerUnavailable  transient failures outlasted the retries: try again later
    │   └── InterviewerFailed       permanent: bad credentials, bad request, invalid output
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
        ├── DatabaseUnavailable     503 database_unavailable (also a ConnectionError)
        ├── BlobStoreUnavailable    503 storage_unavailable (also a BlobStoreError)
        └── IdentityUnavailable     503 auth_unavailable (Supabase Auth unreachable or failing)

The mapping to an HTTP response lives in ``server.http.errors``; nothing else builds an error
response. Messages are written for the client: they never carry internal details.
"""

from __future__ import annotations

from typing import Any, ClassVar


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


class BlobStoreError(OpenHireError):
    """The blob store could not store, read, delete or sign a blob."""


class BlobStoreFailed(BlobStoreError):
    """A permanent failure (a rejected key or object, a missing bucket): retrying the same
    request cannot help. The message is for the log: it may name the bucket and the key."""


class InterviewerError(OpenHireError):
    """The interviewer (scripted or a model behind an API) could not do what was asked."""


class InterviewerUnavailable(InterviewerError):
    """Transient failures (connection, timeout, 429, 5xx) outlasted the retries."""


class InterviewerFailed(InterviewerError):
    """A permanent failure: retrying the same request cannot help."""


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


class IdentityUnavailable(ApiError):
    """The identity provider (Supabase Auth) could not be reached, or failed in a way that is
    not the client's doing. A request answers 503; the details were logged."""

    status = 503
    code = "auth_unavailable"
