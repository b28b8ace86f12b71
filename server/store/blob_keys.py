"""The blob keys the server derives from ids, and the check that a key read back from a row is
one of them.

A key column says where a row's file is, but more than the server can write it: a user's token
on a Supabase project whose default privileges were never revoked, a restored backup, a slip in
an operator's SQL. A key pointing at another application's résumé would then make the server
read, sign or delete someone else's file on that row's behalf. So the server never follows a
stored key it could not have derived from the row's own ids: résumé keys are derived afresh,
interview artifact keys must sit under their own interview's folder.
"""

from __future__ import annotations

import uuid

import structlog

log = structlog.get_logger(__name__)

# The buckets whose objects belong to one interview and sit under its id.
INTERVIEW_BUCKETS = ("screenshots", "recordings")


def resume_key(application_id: uuid.UUID) -> str:
    return f"resumes/{application_id}/resume.pdf"


def screenshot_key(interview_id: uuid.UUID, offset: int, content_type: str) -> str:
    """Where the screenshot logged at ``offset`` is kept: named by its log entry."""
    extension = "png" if content_type == "image/png" else "jpg"
    return f"screenshots/{interview_id}/{offset:06d}.{extension}"


def stored_resume_key(application_id: uuid.UUID, stored: str | None) -> str | None:
    """The résumé key to follow for an application whose row holds ``stored``: None when it has
    no résumé, or when the row names a key the server would not have written for it."""
    if stored is None:
        return None
    derived = resume_key(application_id)
    if stored != derived:
        log.warning("blob_keys.foreign_key_ignored", application_id=str(application_id))
        return None
    return derived


def belongs_to_interview(key: str, interview_id: uuid.UUID) -> bool:
    """Whether ``key`` is an object of this interview: ``<bucket>/<interview id>/<file>`` with
    one of the interview buckets and a plain file name."""
    parts = key.split("/")
    ok = (
        len(parts) == 3
        and parts[0] in INTERVIEW_BUCKETS
        and parts[1] == str(interview_id)
        and parts[2] not in ("", ".", "..")
    )
    if not ok:
        log.warning("blob_keys.foreign_key_ignored", interview_id=str(interview_id))
    return ok
