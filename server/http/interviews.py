"""Interviews over HTTP: scheduling, listing, socket tickets, and review (the event log and
the artifacts with short-lived signed URLs). The live part is in ``server.transport.sockets``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from starlette.requests import Request
from starlette.responses import Response

from server.auth.identity import User
from server.errors import Conflict, Forbidden, InterviewOver, NotFound, ValidationFailed
from server.http.pagination import NewestFirstPage, SqlArgs
from server.http.ranges import byte_range
from server.http.routing import Api
from server.http.types import Input, Output
from server.notify.notices import Notice
from server.protocol.messages import LogOffset
from server.services import get_services
from server.sessions.manager import ENDED_STATES
from server.sessions.session import HIDDEN_FROM_CANDIDATE
from server.store.blob_keys import belongs_to_interview

api = Api()

InterviewState = Literal["scheduled", "in_progress", "completed", "abandoned", "expired"]


class ScheduleInterview(Input):
    expires_at: datetime | None = Field(
        default=None,
        description="After this instant an interview not yet started expires (default: the"
        " window's close, if any)",
    )
    opens_at: datetime | None = Field(
        default=None, description="The candidate may start it from this instant (default: now)"
    )
    closes_at: datetime | None = Field(
        default=None,
        description="The candidate may start it until this instant; one started before it may"
        " finish",
    )
    extra_time_percent: Annotated[int, Field(ge=0, le=200)] = Field(
        default=0,
        description="An accommodation: each answer's time limit and the whole interview's are "
        "this much longer (50 gives half as much again). Never changes how answers are scored.",
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
    opens_at: datetime | None
    closes_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    extra_time_percent: int
    evaluation: dict[str, Any] | None = Field(
        description="The latest evaluation, for the job's recruiter only (null for the "
        "candidate); every version: GET /interviews/{id}/evaluations. Each criterion's "
        "`evidence` quotes an answer: `question_id`, `quote`, `answer_offset` (the answer "
        "entry's offset in the log) and, for a spoken answer whose speech-to-text model timed "
        "it, `start_s` (the second of the answer's audio where the quote's sentence starts); "
        "all fields: docs/protocol.md, section 7"
    )


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
    since: LogOffset = Field(default=0, description="Only events after this offset")
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
    # Recording segments (kind "recording"): the track and the wall-clock span they cover;
    # null for other kinds.
    track: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # None when the store no longer has the file (it was deleted out of band).
    url: str | None
    url_expires_in: int


class ArtifactList(Output):
    items: list[Artifact]


class ArtifactsQuery(Input):
    since: LogOffset = Field(
        default=0,
        description="Only artifacts logged after this event offset (a live view's latest)",
    )


_SELECT = (
    "select i.id, i.application_id, i.job_id, j.title as job_title, i.candidate_id,"
    " u.full_name as candidate_name, i.recruiter_id, i.state, i.state_reason, i.expires_at,"
    " i.opens_at, i.closes_at, i.started_at, i.ended_at, i.created_at, i.extra_time_percent,"
    " i.evaluation"
    " from public.interviews i join public.jobs j on j.id = i.job_id"
    " join public.users u on u.id = i.candidate_id"
)


def _utc(moment: datetime | None) -> datetime | None:
    # A time without a zone is UTC: never the server's local time.
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"body.{name}: {message}",
        details=[{"loc": ["body", name], "msg": message, "type": "value_error"}],
    )


def _check_window(opens: datetime | None, closes: datetime | None, now: datetime) -> None:
    details = {
        "opens_at": opens.isoformat() if opens else None,
        "closes_at": closes.isoformat() if closes else None,
    }
    if opens is not None and now < opens:
        raise Conflict(
            f"this interview opens at {opens.isoformat()}; join it then",
            code="interview_not_open",
            details=details,
        )
    if closes is not None and now >= closes:
        raise Conflict(
            f"this interview's window closed at {closes.isoformat()}; ask the recruiter for"
            " another",
            code="interview_not_open",
            details=details,
        )


def _shown_to(user: User, row: Any) -> Interview:
    """The interview as ``user`` may read it: the evaluation is the recruiter's alone."""
    data = dict(row)
    if user.id != data["recruiter_id"]:
        data["evaluation"] = None
    return Interview.model_validate(data)


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
        await get_services(request).interview_log.expire(interview_id)
        row = await pool.fetchrow(f"{_SELECT} where i.id = $1", interview_id)
    return row


async def _expire_due(
    request: Request, conn: Any, where: str, *args: Any, notices: list[Notice] | None = None
) -> None:
    """Expire the scheduled interviews matching ``where`` whose expiry has passed: an expiry
    takes effect when an interview is next read (if the scheduler has not seen it yet), so
    every read path calls this first. ``notices``: see ``InterviewLog.expire``."""
    due = await conn.fetch(
        f"select id from public.interviews where {where}"
        " and state = 'scheduled' and expires_at <= now()",
        *args,
    )
    interview_log = get_services(request).interview_log
    for record in due:
        await interview_log.expire(record["id"], conn, notices=notices)


@api.post(
    "/applications/{application_id}/interviews",
    summary="Schedule an interview for an application (the job's recruiter)",
    tags=("interviews",),
    status=201,
    errors=(403, "interview_exists", "application_closed"),
)
async def schedule_interview(
    request: Request, user: User, application_id: uuid.UUID, body: ScheduleInterview
) -> Interview:
    user.require("recruiter")
    expires, opens, closes = (_utc(body.expires_at), _utc(body.opens_at), _utc(body.closes_at))
    now = datetime.now(UTC)
    if expires is not None and expires <= now:
        raise _invalid("expires_at", "must be in the future")
    if closes is not None and closes <= now:
        raise _invalid("closes_at", "must be in the future")
    if opens is not None and closes is not None and opens >= closes:
        raise _invalid("closes_at", "must be after opens_at")
    if closes is not None:
        if expires is None:
            expires = closes
        elif expires < closes:
            raise _invalid("expires_at", "must not be before closes_at")
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
        # Its notification is written with this one, last, as every transaction's are
        # (server/notify/notifications.py says why).
        notices: list[Notice] = []
        await _expire_due(request, conn, "application_id = $1", application_id, notices=notices)
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
            " expires_at, extra_time_percent, opens_at, closes_at)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
            application_id,
            app["job_id"],
            app["candidate_id"],
            user.id,
            expires,
            body.extra_time_percent,
            opens,
            closes,
        )
        row = await conn.fetchrow(f"{_SELECT} where i.id = $1", interview_id)
        assert row is not None
        await get_services(request).notify.notifications.record(
            conn,
            [
                *notices,
                Notice(
                    app["candidate_id"],
                    "interview.scheduled",
                    job_id=app["job_id"],
                    application_id=application_id,
                    interview_id=interview_id,
                    payload={
                        "job_title": row["job_title"],
                        "expires_at": expires.isoformat() if expires else None,
                        "opens_at": opens.isoformat() if opens else None,
                        "closes_at": closes.isoformat() if closes else None,
                    },
                ),
            ],
        )
    return _shown_to(user, row)


@api.get(
    "/interviews",
    summary="Your interviews (candidate) or your jobs' interviews (recruiter)",
    tags=("interviews",),
    errors=("invalid_cursor",),
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
        await _expire_due(request, conn, f"{owner} = $1", user.id)
        rows = await conn.fetch(f"{_SELECT} {page.clause}", *page.args)
        total = await conn.fetchval(
            f"select count(*) from public.interviews i where {page.filters}", *page.filter_args
        )
    rows, next_cursor = page.cut(rows)
    return InterviewPage(
        items=[_shown_to(user, r) for r in rows],
        total=total,
        limit=query.limit,
        next_cursor=next_cursor,
    )


@api.get("/interviews/{interview_id}", summary="One interview", tags=("interviews",), errors=(403,))
async def get_interview(request: Request, user: User, interview_id: uuid.UUID) -> Interview:
    return _shown_to(user, await _visible(request, user, interview_id))


@api.post(
    "/interviews/{interview_id}/ticket",
    summary="A single-use ticket to open the interview's socket",
    tags=("interviews",),
    errors=(403, "interview_ended", "interview_not_open", "cluster_unavailable"),
)
async def issue_ticket(request: Request, user: User, interview_id: uuid.UUID) -> TicketOut:
    """The candidate of a scheduled interview gets one only within its window
    (``409 interview_not_open`` before ``opens_at`` or from ``closes_at``, with both in
    ``details``); once started, the interview may be rejoined until it ends. Watchers are not
    held to the window."""
    row = await _visible(request, user, interview_id)
    if row["state"] in ENDED_STATES:
        raise InterviewOver(f"the interview is {row['state']}")
    if user.id == row["candidate_id"] and row["state"] == "scheduled":
        _check_window(row["opens_at"], row["closes_at"], datetime.now(UTC))
    services = get_services(request)
    role: Literal["candidate", "watcher"] = (
        "candidate" if user.id == row["candidate_id"] else "watcher"
    )
    ticket = await services.tickets.issue(interview_id, user.id, role)
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
    interview = await _visible(request, user, interview_id)
    # The candidate's pages skip what they may not read yet, so their offsets have gaps.
    hidden = list(HIDDEN_FROM_CANDIDATE) if user.id == interview["candidate_id"] else []
    entries = await get_services(request).interview_log.read_since(
        interview_id, query.since, query.limit + 1, hidden_kinds=hidden
    )
    next_since = None
    if len(entries) > query.limit:
        entries = entries[: query.limit]
        next_since = entries[-1].offset
    return EventPage(
        items=[
            LoggedEvent(offset=e.offset, at=e.at, kind=e.kind, data=e.data, client_id=e.client_id)
            for e in entries
        ],
        next_since=next_since,
    )


URL_TTL_S = 300


@api.get(
    "/interviews/{interview_id}/artifacts",
    summary="Screenshots and other artifacts, with short-lived signed URLs",
    tags=("interviews",),
    errors=(403, "storage_unavailable"),
)
async def list_artifacts(
    request: Request, user: User, interview_id: uuid.UUID, query: ArtifactsQuery
) -> ArtifactList:
    await _visible(request, user, interview_id)
    services = get_services(request)
    rows = await services.interview_log.artifacts(interview_id, query.since)
    # Only keys under this interview's own folder are signed: a row naming another object
    # (written past the server) gets no URL. One signing request per bucket for the whole page,
    # not one per screenshot.
    own = [belongs_to_interview(row["blob_key"], interview_id) for row in rows]
    signed = iter(
        await services.blobs.signed_urls(
            [row["blob_key"] for row, ok in zip(rows, own, strict=True) if ok], URL_TTL_S
        )
    )
    urls = [next(signed) if ok else None for ok in own]
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
    errors=("bad_signature", "link_expired", 404),
    raw_response="application/octet-stream",
    ranges=True,
)
async def get_blob(request: Request, key: str) -> Response:
    services = get_services(request)
    content_type = services.blobs.verify_signed(
        key, request.query_params.get("expires"), request.query_params.get("signature")
    )
    data = await services.blobs.get(key)
    headers = {
        "Cache-Control": "private, max-age=60",
        "X-Content-Type-Options": "nosniff",
        # A spoken answer's audio is played from a sentence's second: media elements seek
        # only in what answers ranges.
        "Accept-Ranges": "bytes",
    }
    part = byte_range(request.headers.get("range"), len(data))
    if part is None:
        return Response(data, media_type=content_type, headers=headers)
    first, last = part
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return Response(data[first : last + 1], 206, media_type=content_type, headers=headers)
