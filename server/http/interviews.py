"""Interviews over HTTP: scheduling, listing, socket tickets, and review (the event log and
the artifacts with short-lived signed URLs). The live part is in ``server.http.sockets``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from starlette.requests import Request
from starlette.responses import Response

from server.auth.identity import User
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.http.pagination import NewestFirstPage, SqlArgs
from server.http.routing import Api
from server.http.types import Input, Output
from server.services import get_services
from server.sessions.manager import ENDED_STATES, expire_interview

api = Api()

InterviewState = Literal["scheduled", "in_progress", "completed", "abandoned", "expired"]


class ScheduleInterview(Input):
    expires_at: datetime | None = Field(
        default=None, description="After this instant an interview not yet started expires"
    )


class Interview(Output):
    id: uuid.UUID
    application_id: uuid.UUID
    job_id: uuid.UUID
    job_title: str
    candidate_id: uuid.UUID
    candidate_name: str
    recruiter_id: uuid.UUID
    state: InterviewState
    state_reason: str | None
    expires_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    evaluation: dict[str, Any] | None


class InterviewQuery(Input):
    state: InterviewState | None = None
    application_id: uuid.UUID | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None


class InterviewPage(Output):
    items: list[Interview]
    total: int
    limit: int
    next_cursor: str | None


class TicketOut(Output):
    ticket: str
    expires_in: int
    role: Literal["candidate", "watcher"]
    url: str = Field(description="The socket path, with the ticket; add since= for watchers")


class EventsQuery(Input):
    since: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 200


class LoggedEvent(Output):
    offset: int
    at: datetime
    kind: str
    data: dict[str, Any]
    client_id: str | None


class EventPage(Output):
    items: list[LoggedEvent]
    next_since: int | None = Field(description="Pass as since for the next page; null at the end")


class Artifact(Output):
    id: uuid.UUID
    kind: str
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    event_offset: int | None
    created_at: datetime
    # None when the store no longer has the file (it was deleted out of band).
    url: str | None
    url_expires_in: int


class ArtifactList(Output):
    items: list[Artifact]


class ArtifactsQuery(Input):
    since: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(
        default=0,
        description="Only artifacts logged after this event offset (a live view's latest)",
    )


_SELECT = (
    "select i.id, i.application_id, i.job_id, j.title as job_title, i.candidate_id,"
    " u.full_name as candidate_name, i.recruiter_id, i.state, i.state_reason, i.expires_at,"
    " i.started_at, i.ended_at, i.created_at, i.evaluation"
    " from public.interviews i join public.jobs j on j.id = i.job_id"
    " join public.users u on u.id = i.candidate_id"
)


async def _visible(request: Request, user: User, interview_id: uuid.UUID) -> Any:
    pool = get_services(request).pool
    row = await pool.fetchrow(f"{_SELECT} where i.id = $1", interview_id)
    if row is None:
        raise NotFound(f"no interview with id {interview_id}")
    if user.id not in (row["candidate_id"], row["recruiter_id"]):
        raise Forbidden("only the candidate and the job's recruiter may see this interview")
    if (
        row["state"] == "scheduled"
        and row["expires_at"] is not None
        and row["expires_at"] <= datetime.now(UTC)
    ):
        async with pool.acquire() as conn:
            await expire_interview(conn, interview_id)
        row = await pool.fetchrow(f"{_SELECT} where i.id = $1", interview_id)
    return row


async def _expire_due(conn: Any, where: str, *args: Any) -> None:
    """Expire the scheduled interviews matching ``where`` whose expiry has passed: an expiry
    takes effect when an interview is next read, so every read path calls this first."""
    due = await conn.fetch(
        f"select id from public.interviews where {where}"
        " and state = 'scheduled' and expires_at <= now()",
        *args,
    )
    for record in due:
        await expire_interview(conn, record["id"])


@api.post(
    "/applications/{application_id}/interviews",
    summary="Schedule an interview for an application (the job's recruiter)",
    tags=("interviews",),
    status=201,
    errors=(403, 409),
)
async def schedule_interview(
    request: Request, user: User, application_id: uuid.UUID, body: ScheduleInterview
) -> Interview:
    user.require("recruiter")
    expires = body.expires_at
    if expires is not None:
        # A time without a zone is UTC: never the server's local time.
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            raise ValidationFailed("body.expires_at: must be in the future")
    pool = get_services(request).pool
    async with pool.acquire() as conn, conn.transaction():
        app = await conn.fetchrow(
            "select a.id, a.job_id, a.candidate_id, a.status, j.recruiter_id"
            " from public.applications a join public.jobs j on j.id = a.job_id"
            " where a.id = $1 for update of a",
            application_id,
        )
        if app is None:
            raise NotFound(f"no application with id {application_id}")
        if app["recruiter_id"] != user.id:
            raise Forbidden("only the job's recruiter may schedule its interviews")
        if app["status"] in ("withdrawn", "rejected", "hired"):
            raise Conflict(
                f"the application is {app['status']}; no interview can be scheduled",
                code="application_closed",
            )
        # One that was never started and is past its expiry has ended, read or not.
        await _expire_due(conn, "application_id = $1", application_id)
        active = await conn.fetchval(
            "select id from public.interviews where application_id = $1"
            " and state in ('scheduled', 'in_progress')",
            application_id,
        )
        if active is not None:
            raise Conflict(
                "this application already has an interview scheduled or in progress",
                code="interview_exists",
                details={"interview_id": str(active)},
            )
        interview_id = await conn.fetchval(
            "insert into public.interviews (application_id, job_id, candidate_id, recruiter_id,"
            " expires_at) values ($1, $2, $3, $4, $5) returning id",
            application_id,
            app["job_id"],
            app["candidate_id"],
            user.id,
            expires,
        )
        row = await conn.fetchrow(f"{_SELECT} where i.id = $1", interview_id)
    assert row is not None
    return Interview.model_validate(dict(row))


@api.get(
    "/interviews",
    summary="Your interviews (candidate) or your jobs' interviews (recruiter)",
    tags=("interviews",),
    errors=(400,),
)
async def list_interviews(request: Request, user: User, query: InterviewQuery) -> InterviewPage:
    args = SqlArgs(user.id)
    owner = "candidate_id" if user.role == "candidate" else "recruiter_id"
    where = [f"i.{owner} = $1"]
    if query.state is not None:
        where.append(f"i.state = {args(query.state)}")
    if query.application_id is not None:
        where.append(f"i.application_id = {args(query.application_id)}")
    page = NewestFirstPage.build("i", where, args, query.cursor, query.limit)
    async with get_services(request).pool.acquire() as conn:
        await _expire_due(conn, f"{owner} = $1", user.id)
        rows = await conn.fetch(f"{_SELECT} {page.clause}", *page.args)
        total = await conn.fetchval(
            f"select count(*) from public.interviews i where {page.filters}", *page.filter_args
        )
    rows, next_cursor = page.cut(rows)
    return InterviewPage(
        items=[Interview.model_validate(dict(r)) for r in rows],
        total=total,
        limit=query.limit,
        next_cursor=next_cursor,
    )


@api.get("/interviews/{interview_id}", summary="One interview", tags=("interviews",), errors=(403,))
async def get_interview(request: Request, user: User, interview_id: uuid.UUID) -> Interview:
    return Interview.model_validate(dict(await _visible(request, user, interview_id)))


@api.post(
    "/interviews/{interview_id}/ticket",
    summary="A single-use ticket to open the interview's socket",
    tags=("interviews",),
    errors=(403, 409),
)
async def issue_ticket(request: Request, user: User, interview_id: uuid.UUID) -> TicketOut:
    row = await _visible(request, user, interview_id)
    if row["state"] in ENDED_STATES:
        raise Conflict(f"the interview is {row['state']}", code="interview_ended")
    services = get_services(request)
    role: Literal["candidate", "watcher"] = (
        "candidate" if user.id == row["candidate_id"] else "watcher"
    )
    ticket = services.tickets.issue(interview_id, user.id, role)
    path = f"/ws/interviews/{interview_id}" + ("/watch" if role == "watcher" else "")
    return TicketOut(
        ticket=ticket,
        expires_in=int(services.tickets.ttl_s),
        role=role,
        url=f"{path}?ticket={ticket}",
    )


@api.get(
    "/interviews/{interview_id}/events",
    summary="The interview's event log, from an offset",
    tags=("interviews",),
    errors=(403,),
)
async def list_events(
    request: Request, user: User, interview_id: uuid.UUID, query: EventsQuery
) -> EventPage:
    await _visible(request, user, interview_id)
    rows = await get_services(request).pool.fetch(
        'select "offset", created_at as at, kind, data, client_id from public.interview_events'
        ' where interview_id = $1 and "offset" > $2 order by "offset" limit $3',
        interview_id,
        query.since,
        query.limit + 1,
    )
    next_since = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_since = rows[-1]["offset"]
    return EventPage(
        items=[LoggedEvent.model_validate(dict(r)) for r in rows], next_since=next_since
    )


URL_TTL_S = 300


@api.get(
    "/interviews/{interview_id}/artifacts",
    summary="Screenshots and other artifacts, with short-lived signed URLs",
    tags=("interviews",),
    errors=(403,),
)
async def list_artifacts(
    request: Request, user: User, interview_id: uuid.UUID, query: ArtifactsQuery
) -> ArtifactList:
    await _visible(request, user, interview_id)
    services = get_services(request)
    rows = await services.pool.fetch(
        "select id, kind, blob_key, content_type, size_bytes, width, height, event_offset,"
        " created_at from public.interview_artifacts where interview_id = $1"
        " and ($2::bigint = 0 or event_offset > $2::bigint) order by created_at, id",
        interview_id,
        query.since,
    )
    # One signing request per bucket for the whole page, not one per screenshot.
    urls = await services.blobs.signed_urls([row["blob_key"] for row in rows], URL_TTL_S)
    items = []
    for row, url in zip(rows, urls, strict=True):
        data = dict(row)
        del data["blob_key"]
        items.append(Artifact.model_validate({**data, "url": url, "url_expires_in": URL_TTL_S}))
    return ArtifactList(items=items)


@api.get(
    "/blobs/{key:path}",
    summary="A blob, through a signed URL from the artifacts list",
    tags=("interviews",),
    errors=(403, 404),
    raw_response="application/octet-stream",
)
async def get_blob(request: Request, key: str) -> Response:
    services = get_services(request)
    content_type = services.blobs.verify_signed(
        key, request.query_params.get("expires"), request.query_params.get("signature")
    )
    data = await services.blobs.get(key)
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"},
    )
