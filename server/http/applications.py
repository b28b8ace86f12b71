"""Applications: a candidate applies to an open job with a cover letter and a PDF résumé; the
job's recruiter moves the application along; the candidate may withdraw it.

Who may set which status, and from where:

    submitted   -> reviewing | shortlisted | rejected        (recruiter)   | withdrawn (candidate)
    reviewing   -> shortlisted | rejected                    (recruiter)   | withdrawn (candidate)
    shortlisted -> reviewing | rejected | hired              (recruiter)   | withdrawn (candidate)
    rejected, hired, withdrawn: final
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
import pydantic
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from server.auth.identity import User
from server.errors import (
    BlobStoreUnavailable,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from server.http.errors import validation_error
from server.http.pagination import NewestFirstPage, SqlArgs
from server.http.routing import Api
from server.http.types import Input, Output, Trimmed
from server.notify.notices import Notice
from server.services import get_services
from server.store.blob_keys import resume_key as derive_resume_key
from server.store.blob_keys import stored_resume_key
from server.store.blob_sweeper import discard_blob, reserve_blob, settle_blob

api = Api()

ApplicationStatus = Literal[
    "submitted", "reviewing", "shortlisted", "rejected", "hired", "withdrawn"
]
TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"reviewing", "shortlisted", "rejected", "withdrawn"}),
    "reviewing": frozenset({"shortlisted", "rejected", "withdrawn"}),
    "shortlisted": frozenset({"reviewing", "rejected", "hired", "withdrawn"}),
    "rejected": frozenset(),
    "hired": frozenset(),
    "withdrawn": frozenset(),
}
ROLE_TARGETS: dict[str, frozenset[str]] = {
    "recruiter": frozenset({"reviewing", "shortlisted", "rejected", "hired"}),
    "candidate": frozenset({"withdrawn"}),
}
PDF_MAGIC = b"%PDF-"
MAX_COVER_LETTER = 10_000
MAX_NOTE = 5000


class ApplicationForm(Input):
    """multipart/form-data: a cover letter and, optionally, a PDF résumé (at most 10 MB)."""

    cover_letter: Annotated[str, Trimmed(max_length=MAX_COVER_LETTER)]
    # Optional, but never null: a multipart body has no null, only a part or no part.
    resume: (
        Annotated[
            bytes,
            Field(json_schema_extra={"format": "binary", "contentMediaType": "application/pdf"}),
        ]
        | SkipJsonSchema[None]
    ) = None


class Resume(Output):
    filename: str
    size_bytes: int
    download_url: str


class Application(Output):
    id: uuid.UUID
    job_id: uuid.UUID
    job_title: str
    candidate_id: uuid.UUID
    candidate_name: str
    candidate_email: str
    cover_letter: str
    status: ApplicationStatus
    resume: Resume | None
    note: str | None = Field(
        description="The recruiter's own note on the application (their decision's reasons);"
        " null for the candidate"
    )
    created_at: datetime
    updated_at: datetime


class ApplicationQuery(Input):
    job_id: uuid.UUID | None = None
    status: ApplicationStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, Trimmed(max_length=500)] | None = None


class ApplicationPage(Output):
    items: list[Application]
    total: int
    limit: int
    next_cursor: str | None


class StatusChange(Input):
    status: ApplicationStatus
    # The recruiter's note, kept with the application and never shown to the candidate; an
    # empty one removes it. Left out: the note stays as it is.
    note: Annotated[str, Trimmed(max_length=MAX_NOTE)] | None = None


_SELECT = (
    "select a.id, a.job_id, j.title as job_title, a.candidate_id, u.full_name as candidate_name,"
    " u.email as candidate_email, a.cover_letter, a.status, a.resume_key, a.resume_filename,"
    " a.resume_size, a.created_at, a.updated_at, j.recruiter_id, n.note"
    " from public.applications a"
    " join public.jobs j on j.id = a.job_id"
    " join public.users u on u.id = a.candidate_id"
    " left join openhire.application_notes n on n.application_id = a.id"
)


def _application(row: Any, viewer: User) -> Application:
    data = dict(row)
    if data["recruiter_id"] != viewer.id:
        data["note"] = None
    resume = None
    if data["resume_key"] is not None:
        resume = Resume(
            filename=data["resume_filename"],
            size_bytes=data["resume_size"],
            download_url=f"/applications/{data['id']}/resume",
        )
    return Application.model_validate({**data, "resume": resume})


def _safe_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:100]
    if not base.lower().endswith(".pdf"):
        base = (base or "resume") + ".pdf"
    return base


async def _read_form(request: Request) -> tuple[ApplicationForm, str | None]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            f"expected multipart/form-data with cover_letter and an optional resume file,"
            f" got {media_type or 'none'}"
        )
    settings = get_services(request).settings
    async with request.form(max_files=1, max_fields=4, max_part_size=64 * 1024) as form:
        fields: dict[str, Any] = {}
        filename: str | None = None
        for key, value in form.multi_items():
            if key in fields:
                raise ValidationFailed(f"body.{key}: given more than once")
            if key == "resume":
                if not isinstance(value, UploadFile):
                    raise ValidationFailed("body.resume: must be a file upload")
                if not value.filename and not value.size:
                    continue  # a browser's empty file input: no résumé
                if value.size is not None and value.size > settings.max_resume_bytes:
                    raise PayloadTooLarge(
                        f"the résumé may be at most {settings.max_resume_bytes} bytes"
                    )
                data = await value.read(settings.max_resume_bytes + 1)
                if len(data) > settings.max_resume_bytes:
                    raise PayloadTooLarge(
                        f"the résumé may be at most {settings.max_resume_bytes} bytes"
                    )
                fields["resume"] = data
                filename = value.filename
            elif isinstance(value, UploadFile):
                raise ValidationFailed(f"body.{key}: must be a text field, not a file")
            else:
                fields[key] = value
    try:
        parsed = ApplicationForm.model_validate(fields)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, location="body") from None
    if parsed.resume is not None and not _looks_like_pdf(parsed.resume):
        raise UnsupportedMediaType("the résumé must be a PDF document", code="resume_not_pdf")
    return parsed, filename


def _looks_like_pdf(data: bytes) -> bool:
    # A PDF starts with its header (some writers put a few bytes before it) and ends with an
    # end-of-file marker, possibly followed by whitespace.
    return PDF_MAGIC in data[:1024] and b"%%EOF" in data[-1024:]


@api.post(
    "/jobs/{job_id}/applications",
    summary="Apply to a job (candidates)",
    tags=("applications",),
    status=201,
    errors=(403, "already_applied", "job_closed", "resume_not_pdf", "storage_unavailable"),
    form=ApplicationForm,
)
async def create_application(request: Request, user: User, job_id: uuid.UUID) -> Application:
    user.require("candidate")
    services = get_services(request)
    job = await services.pool.fetchrow("select status from public.jobs where id = $1", job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    form, filename = await _read_form(request)
    if job["status"] != "open":
        raise Conflict("this job is closed to applications", code="job_closed")
    application_id = uuid.uuid4()
    resume_key = None
    if form.resume is not None:
        resume_key = derive_resume_key(application_id)
        # Recorded before the upload, so that a résumé whose row is never written (the upload
        # failing, or abandoned and landing later, or anything below) is swept, not orphaned.
        await reserve_blob(services.pool, resume_key, services.settings.blob_sweep_grace_s)
        await services.blobs.put(resume_key, form.resume, "application/pdf")
    try:
        async with services.pool.acquire() as conn, conn.transaction():
            # Lock the job row so a job cannot close between this check and the insert.
            status = await conn.fetchval(
                "select status from public.jobs where id = $1 for share", job_id
            )
            if status is None:
                raise NotFound(f"no job with id {job_id}")
            if status != "open":
                raise Conflict("this job is closed to applications", code="job_closed")
            if resume_key is not None and not await settle_blob(conn, resume_key):
                # This request outlived the sweep grace, and the sweeper took the résumé.
                raise BlobStoreUnavailable(
                    "the résumé upload took too long; try again", headers={"Retry-After": "1"}
                )
            await conn.execute(
                "insert into public.applications (id, job_id, candidate_id, cover_letter,"
                " resume_key, resume_filename, resume_size) values ($1, $2, $3, $4, $5, $6, $7)",
                application_id,
                job_id,
                user.id,
                form.cover_letter,
                resume_key,
                _safe_filename(filename) if resume_key else None,
                len(form.resume) if form.resume is not None else None,
            )
            row = await conn.fetchrow(f"{_SELECT} where a.id = $1", application_id)
            assert row is not None
            await services.notify.notifications.record(
                conn,
                [
                    Notice(
                        row["recruiter_id"],
                        "application.created",
                        job_id=job_id,
                        application_id=application_id,
                        payload={
                            "job_title": row["job_title"],
                            "candidate_name": row["candidate_name"],
                        },
                    )
                ],
            )
    except asyncpg.UniqueViolationError:
        if resume_key:
            await discard_blob(services.blobs, resume_key)
        raise Conflict("you have already applied to this job", code="already_applied") from None
    except BaseException:
        if resume_key:
            await discard_blob(services.blobs, resume_key)
        raise
    return _application(row, user)


@api.get(
    "/applications",
    summary="Your applications (candidate) or those to your jobs (recruiter)",
    tags=("applications",),
    errors=("invalid_cursor",),
)
async def list_applications(
    request: Request, user: User, query: ApplicationQuery
) -> ApplicationPage:
    args = SqlArgs(user.id)
    where = ["a.candidate_id = $1"] if user.role == "candidate" else ["j.recruiter_id = $1"]
    if query.job_id is not None:
        where.append(f"a.job_id = {args(query.job_id)}")
    if query.status is not None:
        where.append(f"a.status = {args(query.status)}")
    page = NewestFirstPage.build("a", where, args, query.cursor, query.limit)
    async with get_services(request).pool.acquire() as conn:
        rows = await conn.fetch(f"{_SELECT} {page.clause}", *page.args)
        total = await conn.fetchval(
            "select count(*) from public.applications a join public.jobs j on j.id = a.job_id"
            f" where {page.filters}",
            *page.filter_args,
        )
    rows, next_cursor = page.cut(rows)
    return ApplicationPage(
        items=[_application(r, user) for r in rows],
        total=total,
        limit=query.limit,
        next_cursor=next_cursor,
    )


async def _visible_application(request: Request, user: User, application_id: uuid.UUID) -> Any:
    row = await get_services(request).pool.fetchrow(f"{_SELECT} where a.id = $1", application_id)
    if row is None:
        raise NotFound(f"no application with id {application_id}")
    if user.id not in (row["candidate_id"], row["recruiter_id"]):
        raise Forbidden("only the candidate and the job's recruiter may see this application")
    return row


@api.get(
    "/applications/{application_id}",
    summary="One application",
    tags=("applications",),
    errors=(403,),
)
async def get_application(request: Request, user: User, application_id: uuid.UUID) -> Application:
    return _application(await _visible_application(request, user, application_id), user)


@api.patch(
    "/applications/{application_id}",
    summary="Change an application's status",
    tags=("applications",),
    errors=(403, "invalid_transition"),
)
async def update_application(
    request: Request, user: User, application_id: uuid.UUID, body: StatusChange
) -> Application:
    row = await _visible_application(request, user, application_id)
    target = body.status
    if target not in ROLE_TARGETS[user.role]:
        allowed = ", ".join(sorted(ROLE_TARGETS[user.role]))
        raise Forbidden(f"a {user.role} may only set the status to: {allowed}")
    if user.role == "candidate" and row["candidate_id"] != user.id:
        raise Forbidden("only the candidate may withdraw their application")
    if user.role == "recruiter" and row["recruiter_id"] != user.id:
        raise Forbidden("only the job's recruiter may move this application along")
    if body.note is not None and user.role != "recruiter":
        raise Forbidden("only the job's recruiter may write a note on an application")
    if target == row["status"] and body.note is None:
        return _application(row, user)
    pool = get_services(request).pool
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchval(
            "select status from public.applications where id = $1 for update", application_id
        )
        if current is None:
            raise NotFound(f"no application with id {application_id}")
        if target != current and target not in TRANSITIONS[current]:
            raise Conflict(
                f"an application that is {current} cannot become {target}",
                code="invalid_transition",
                details={"from": current, "to": target},
            )
        if target != current:
            await conn.execute(
                "update public.applications set status = $2 where id = $1", application_id, target
            )
        if body.note == "":
            await conn.execute(
                "delete from openhire.application_notes where application_id = $1", application_id
            )
        elif body.note is not None:
            await conn.execute(
                "insert into openhire.application_notes (application_id, note, written_by)"
                " values ($1, $2, $3) on conflict (application_id) do update"
                " set note = excluded.note, written_by = excluded.written_by,"
                " updated_at = now()",
                application_id,
                body.note,
                user.id,
            )
        updated = await conn.fetchrow(f"{_SELECT} where a.id = $1", application_id)
        assert updated is not None
        if target != current and user.id != updated["candidate_id"]:
            # The candidate hears of what the recruiter decided (not of their own withdrawal).
            await get_services(request).notify.notifications.record(
                conn,
                [
                    Notice(
                        updated["candidate_id"],
                        "application.status_changed",
                        job_id=updated["job_id"],
                        application_id=application_id,
                        payload={"job_title": updated["job_title"], "from": current, "to": target},
                    )
                ],
            )
    return _application(updated, user)


@api.get(
    "/applications/{application_id}/resume",
    summary="Download the résumé (the candidate and the job's recruiter)",
    tags=("applications",),
    errors=(403, "storage_unavailable"),
    raw_response="application/pdf",
)
async def download_resume(request: Request, user: User, application_id: uuid.UUID) -> Response:
    row = await _visible_application(request, user, application_id)
    key = stored_resume_key(application_id, row["resume_key"])
    if key is None:
        raise NotFound("this application has no résumé")
    data = await get_services(request).blobs.get(key)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{row["resume_filename"]}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
