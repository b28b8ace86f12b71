"""Every error OpenHire raises on purpose, rooted in one base class.

    OpenHireError
    ├── ConfigurationError          bad settings: the process refuses to start
    ├── DataDirectoryInUse          another server holds the data directory
    ├── DatabaseStartError          the embedded PostgreSQL did not start
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
        └── RateLimited             429 rate_limited

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
