"""Every error code the HTTP API answers: its status and when it is sent.

The one list that /openapi.json (each error response names its codes) and docs/api.md are
built and checked from; ``tests/test_api_doc.py`` fails when the server raises a code that is
not here, or the document misses one. The WebSocket's in-band codes are another list
(``server.protocol.codes.ErrorCode``).
"""

from __future__ import annotations

from typing import NamedTuple


class ApiErrorCode(NamedTuple):
    status: int
    when: str
    # Any endpoint of its status may answer it (not only those that name it).
    generic: bool = False


API_ERROR_CODES: dict[str, ApiErrorCode] = {
    # 400
    "bad_request": ApiErrorCode(400, "the request cannot be read", generic=True),
    "malformed_json": ApiErrorCode(400, "the body is not JSON, or not a JSON object"),
    "invalid_cursor": ApiErrorCode(400, "a cursor this server did not issue, or for another sort"),
    "cors_refused": ApiErrorCode(
        400, "a CORS preflight from an origin or asking for a method or header that is not allowed"
    ),
    # 401
    "unauthorized": ApiErrorCode(401, "no access token", generic=True),
    "invalid_token": ApiErrorCode(
        401, "an access token that is not valid, or whose account no longer exists", generic=True
    ),
    "token_expired": ApiErrorCode(401, "an expired access token", generic=True),
    "invalid_credentials": ApiErrorCode(401, "wrong email or password"),
    "invalid_refresh_token": ApiErrorCode(
        401, "no sign-in to renew: the refresh token is missing, expired, revoked or replayed"
    ),
    # 403
    "forbidden": ApiErrorCode(
        403, "signed in, but not allowed (wrong role, not the owner)", generic=True
    ),
    "email_not_confirmed": ApiErrorCode(
        403, "Supabase Auth: the email address is not confirmed yet"
    ),
    "profile_missing": ApiErrorCode(403, "Supabase Auth: the account has no OpenHire profile"),
    "signup_disabled": ApiErrorCode(403, "Supabase Auth: sign-ups are closed on the project"),
    "user_banned": ApiErrorCode(403, "Supabase Auth: the account is suspended"),
    "invalid_reset_token": ApiErrorCode(
        403, "a password reset link that is unknown, used already or expired"
    ),
    "bad_signature": ApiErrorCode(403, "a blob link without a signature, or with a wrong one"),
    "link_expired": ApiErrorCode(403, "a blob link past its expiry"),
    # 404, 405
    "not_found": ApiErrorCode(404, "no such resource or route", generic=True),
    "method_not_allowed": ApiErrorCode(
        405, "the path does not serve this method (see Allow)", generic=True
    ),
    # 409
    "conflict": ApiErrorCode(
        409, "the resource's state forbids it (every conflict has its own code today)"
    ),
    "email_taken": ApiErrorCode(409, "an account with this email exists"),
    "already_applied": ApiErrorCode(409, "the candidate has applied to this job already"),
    "job_closed": ApiErrorCode(409, "the job is closed to applications"),
    "invalid_transition": ApiErrorCode(409, "the application's status cannot move there"),
    "interview_exists": ApiErrorCode(
        409, "the application has an interview scheduled or in progress"
    ),
    "application_closed": ApiErrorCode(409, "the application is withdrawn, rejected or hired"),
    "interview_ended": ApiErrorCode(409, "the interview is completed, abandoned or expired"),
    "too_many_webhooks": ApiErrorCode(409, "the recruiter has as many webhooks as allowed"),
    "webhook_disabled": ApiErrorCode(409, "the webhook is disabled: enable it first"),
    "delivery_pending": ApiErrorCode(409, "the delivery is still being attempted"),
    "interview_not_completed": ApiErrorCode(
        409, "a re-score of an interview that is not completed"
    ),
    "rescore_in_progress": ApiErrorCode(409, "the interview is being re-scored already"),
    "interview_not_open": ApiErrorCode(
        409, "the interview's scheduling window has not opened yet, or has closed"
    ),
    "interviewer_not_configured": ApiErrorCode(
        409, "a re-score with the openai interviewer on a server without OPENAI_API_KEY"
    ),
    # 413, 415, 422, 429
    "payload_too_large": ApiErrorCode(413, "a body over the limit", generic=True),
    "unsupported_media_type": ApiErrorCode(415, "a body of the wrong content type", generic=True),
    "resume_not_pdf": ApiErrorCode(415, "a résumé that is not a PDF"),
    "validation_failed": ApiErrorCode(
        422, "well-formed but invalid; details lists each problem", generic=True
    ),
    "weak_password": ApiErrorCode(422, "Supabase Auth: a password the project finds too weak"),
    "webhook_url_refused": ApiErrorCode(
        422, "a webhook URL that is not https, or whose host is not a public address"
    ),
    "speech_not_configured": ApiErrorCode(
        422, "a job plan with spoken answers on a server without OPENHIRE_STT_MODEL"
    ),
    "rate_limited": ApiErrorCode(429, "too many attempts; see Retry-After"),
    # 500, 502, 503
    "internal_error": ApiErrorCode(500, "a bug: the server failed (report it with X-Request-ID)"),
    "interviewer_failed": ApiErrorCode(
        502,
        "the AI interviewer refused a re-score or answered invalid output twice; nothing stored",
    ),
    "database_unavailable": ApiErrorCode(
        503, "the database is unreachable; retry after Retry-After", generic=True
    ),
    "storage_unavailable": ApiErrorCode(503, "file storage is unreachable or failing; retry"),
    "auth_unavailable": ApiErrorCode(503, "Supabase Auth is unreachable or failing; retry"),
    "cluster_unavailable": ApiErrorCode(
        503, "several servers: Redis, which they share, is unreachable; retry"
    ),
    "server_busy": ApiErrorCode(
        503,
        "as much costly work (password checks, re-scores) runs as allowed; retry after Retry-After",
    ),
    "interviewer_unavailable": ApiErrorCode(
        503, "the AI interviewer did not answer a re-score; nothing stored; retry later"
    ),
}


def codes_of(status: int, *, generic_only: bool = False) -> list[str]:
    return [
        code
        for code, info in API_ERROR_CODES.items()
        if info.status == status and (info.generic or not generic_only)
    ]
