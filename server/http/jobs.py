"""Jobs: posted by recruiters, browsed by everyone signed in.

Anyone signed in sees open jobs; a recruiter also sees their own closed ones. Only the owning
recruiter changes or deletes a job, and only they see its interview plan (the questions and
the rubric): everyone else gets a summary of the interview, so that no candidate reads the
questions before the interview starts. Lists are filtered, sorted and paginated with a keyset
cursor, which stays exact while jobs are added or removed between pages.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import pydantic
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.auth.identity import User
from server.errors import BadRequest, FieldProblem, Forbidden, NotFound, ValidationFailed
from server.http.pagination import (
    cursor_time,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
)
from server.http.routing import Api
from server.http.types import Input, Name, Output, Trimmed, stripped_pattern
from server.services import get_services
from server.store.blob_keys import stored_resume_key

api = Api()

JobType = Literal["full_time", "part_time", "contract", "internship", "temporary"]
JobStatus = Literal["open", "closed"]
Text = Annotated[str, Trimmed(max_length=1000, min_length=1)]
Skill = Annotated[str, Trimmed(max_length=60, min_length=1)]
Salary = Annotated[int, Field(ge=0, le=1_000_000_000)]


class RubricCriterion(Input):
    name: Annotated[str, Trimmed(max_length=100, min_length=1)]
    description: Annotated[str, Trimmed(max_length=1000)] = ""
    weight: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0


def _default_rubric() -> list[RubricCriterion]:
    return [
        RubricCriterion(
            name="Technical depth",
            description="Knows the tools and trade-offs of the role's required skills.",
            weight=0.4,
        ),
        RubricCriterion(
            name="Problem solving",
            description="Breaks problems down, weighs options and reasons about failure.",
            weight=0.35,
        ),
        RubricCriterion(
            name="Communication",
            description="Answers clearly, concretely and to the point.",
            weight=0.25,
        ),
    ]


AnswerMode = Literal["text", "voice", "either"]


class InterviewPlan(Input):
    """How the AI interviewer runs this job's interviews and scores them."""

    question_count: Annotated[int, Field(ge=1, le=30)] = 5
    follow_ups_per_question: Annotated[int, Field(ge=0, le=5)] = 1
    answer_time_limit_s: Annotated[int, Field(ge=15, le=3600)] = 180
    total_time_limit_min: Annotated[int, Field(ge=1, le=240)] = 30
    custom_questions: Annotated[list[Text], Field(max_length=30)] = []
    rubric: Annotated[list[RubricCriterion], Field(min_length=1, max_length=20)] = Field(
        default_factory=_default_rubric
    )
    answer_mode: AnswerMode = Field(
        "text",
        description="How the candidate answers: typed (text), aloud (voice, transcribed by the"
        " server's speech-to-text model), or as they choose (either). voice and either need"
        " a server with OPENHIRE_STT_MODEL set (422 speech_not_configured otherwise)",
    )

    @pydantic.model_validator(mode="after")
    def _check(self) -> InterviewPlan:
        if len(self.custom_questions) > self.question_count:
            raise FieldProblem(
                "custom_questions",
                f"{len(self.custom_questions)} custom questions do not fit in "
                f"question_count={self.question_count}",
            )
        names = [c.name.lower() for c in self.rubric]
        if len(set(names)) != len(names):
            raise FieldProblem("rubric", "rubric criteria must have distinct names")
        return self


class JobInput(Input):
    """A job as a recruiter writes it: the body of POST /jobs and of PUT /jobs/{id}."""

    title: Name
    description: Annotated[str, Trimmed(max_length=20000, min_length=1)]
    job_type: JobType
    location: Annotated[str, Trimmed(max_length=200, min_length=1)] | None = None
    remote: bool = False
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    salary_currency: (
        Annotated[str, Trimmed(max_length=20, pattern=stripped_pattern("[A-Z]{3}"))] | None
    ) = None
    required_skills: Annotated[list[Skill], Field(max_length=50)] = []
    status: JobStatus = "open"
    interview_plan: InterviewPlan = Field(default_factory=InterviewPlan)

    @pydantic.model_validator(mode="after")
    def _check(self) -> JobInput:
        if (
            self.salary_min is not None
            and self.salary_max is not None
            and self.salary_min > self.salary_max
        ):
            raise FieldProblem("salary_max", "salary_min must not be greater than salary_max")
        has_salary = self.salary_min is not None or self.salary_max is not None
        if has_salary and self.salary_currency is None:
            raise FieldProblem("salary_currency", "salary_currency is required with a salary")
        return self


class InterviewSummary(Output):
    """What anyone who may see a job may know of its interview before it starts: how long it
    is and what its answers are scored on. The questions, and the rubric's descriptions and
    weights, stay the recruiter's."""

    question_count: int
    follow_ups_per_question: int
    answer_time_limit_s: int
    total_time_limit_min: int
    criteria: list[str] = Field(description="The names of the rubric's criteria, in order")
    answer_mode: AnswerMode = Field(
        description="text: typed answers; voice: spoken (a microphone is needed); either"
    )


class _PostedJob(Output):
    """What everyone who may see a job sees of it."""

    id: uuid.UUID
    recruiter_id: uuid.UUID
    title: str
    description: str
    job_type: JobType
    location: str | None
    remote: bool
    salary_min: int | None
    salary_max: int | None
    salary_currency: str | None
    required_skills: list[str]
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    company_name: str | None = Field(
        description="Who is hiring: the company on the recruiter's profile (PATCH /users/me)"
    )


class Job(_PostedJob):
    """A job as the recruiter who posted it sees it: with its whole interview plan."""

    interview_plan: InterviewPlan


class JobListing(_PostedJob):
    """A job as everyone but its recruiter sees it: its interview only as a summary."""

    interview: InterviewSummary


class JobView(pydantic.RootModel[Job | JobListing]):
    """``Job`` for the recruiter who posted it, ``JobListing`` for everyone else."""


SortBy = Literal["created_at", "salary_min", "salary_max", "title"]


class JobQuery(Input):
    recruiter_id: uuid.UUID | None = None
    job_type: JobType | None = None
    title: Annotated[
        str, Trimmed(max_length=200),
        Field(description="Case-insensitive substring of the title"),
    ] | None = None  # fmt: skip
    location: Annotated[
        str, Trimmed(max_length=200),
        Field(description="Case-insensitive exact location"),
    ] | None = None  # fmt: skip
    remote: bool | None = None
    status: JobStatus | None = None
    sort_by: SortBy = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[
        str, Trimmed(max_length=500),
        Field(description="next_cursor of the previous page"),
    ] | None = None  # fmt: skip


class JobPage(Output):
    items: list[Job | JobListing] = Field(
        description="Job for the jobs the caller posted, JobListing for the others"
    )
    total: int = Field(description="How many jobs match the filters, over all pages")
    limit: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end")


# The company is the recruiter's, read with the job (it follows their profile).
_COMPANY = (
    "(select u.company_name from public.users u where u.id = {table}.recruiter_id) as company_name"
)
_COLUMNS = (
    "id, recruiter_id, title, description, job_type, location, remote, salary_min, salary_max,"
    " salary_currency, required_skills, status, created_at, updated_at, "
    + _COMPANY.format(table="jobs")
    + ", interview_plan"
)
# Never null, so that (key, id) orders every row and keyset pagination is exact.
_SORT_EXPRESSIONS: dict[str, tuple[str, str]] = {
    "created_at": ("created_at", "timestamptz"),
    "salary_min": ("coalesce(salary_min, -1)", "integer"),
    "salary_max": ("coalesce(salary_max, -1)", "integer"),
    "title": ("title_lower", "text"),  # lower(title), stored
}


def _decode_cursor(cursor: str, sort_by: str, sort_order: str) -> tuple[Any, uuid.UUID]:
    by, order, key, job_id = decode_cursor(cursor, 4)
    if (by, order) != (sort_by, sort_order):
        raise BadRequest(
            "the cursor belongs to a different sort; start again without a cursor",
            code="invalid_cursor",
        )
    # Only keys PostgreSQL can take as the sort's parameter: anything else would be a 500.
    if by == "created_at":
        key = cursor_time(key)
    elif (
        by in ("salary_min", "salary_max") and (type(key) is not int or not -1 <= key <= 2**31 - 1)
    ) or (by == "title" and (not isinstance(key, str) or "\x00" in key)):
        raise invalid_cursor()
    return key, cursor_uuid(job_id)


_POSTED_COLUMNS = tuple(_PostedJob.model_fields)
_J_COLUMNS = ", ".join(
    _COMPANY.format(table="j") if name == "company_name" else f"j.{name}"
    for name in (*_POSTED_COLUMNS, "interview_plan")
)
assert [*_POSTED_COLUMNS, "interview_plan"] == [
    "company_name" if name.startswith("(select") else name
    for name in " ".join(_COLUMNS.split()).split(", ")
], "Job and _COLUMNS disagree"
_PLAN_DEFAULTS = InterviewPlan().model_dump(mode="json")
_SUMMARY_FIELDS = tuple(name for name in InterviewSummary.model_fields if name != "criteria")


def _job_json(row: Any, viewer: uuid.UUID) -> dict[str, Any]:
    """A row as ``Job`` (for its recruiter) or ``JobListing`` (for anyone else) has it. A
    stored interview plan gets the defaults of any field it lacks, as validating it would."""
    job = {name: row[name] for name in _POSTED_COLUMNS}
    plan = {**_PLAN_DEFAULTS, **row["interview_plan"]}
    if row["recruiter_id"] == viewer:
        job["interview_plan"] = plan
    else:
        job["interview"] = {
            **{name: plan[name] for name in _SUMMARY_FIELDS},
            "criteria": [criterion["name"] for criterion in plan["rubric"]],
        }
    return job


def _job(row: Any, viewer: uuid.UUID) -> Job | JobListing:
    data = _job_json(row, viewer)
    return Job.model_validate(data) if "interview_plan" in data else JobListing.model_validate(data)


def _own_job(row: Any, user: User) -> Job:
    """A job the caller just wrote, which is theirs."""
    return Job.model_validate(_job_json(row, user.id))


def _values(body: JobInput) -> list[Any]:
    return [
        body.title,
        body.description,
        body.job_type,
        body.location,
        body.remote,
        body.salary_min,
        body.salary_max,
        body.salary_currency,
        body.required_skills,
        body.status,
        body.interview_plan.model_dump(mode="json"),
    ]


def _check_answer_mode(request: Request, plan: InterviewPlan) -> None:
    """A plan with spoken answers needs a server that can transcribe them."""
    if plan.answer_mode != "text" and not get_services(request).settings.speech_configured:
        raise ValidationFailed(
            f"interview_plan.answer_mode {plan.answer_mode!r} needs speech-to-text, which this"
            " server has not configured: set OPENHIRE_STT_MODEL (and OPENHIRE_SPEECH_BASE_URL"
            " and OPENHIRE_SPEECH_API_KEY, or OPENAI_BASE_URL and OPENAI_API_KEY) and restart"
            " it, or use answer_mode 'text'",
            code="speech_not_configured",
            details=[
                {
                    "loc": ["body", "interview_plan", "answer_mode"],
                    "msg": "speech is not configured on this server",
                    "type": "speech_not_configured",
                }
            ],
        )


@api.post(
    "/jobs",
    summary="Post a job (recruiters)",
    tags=("jobs",),
    status=201,
    errors=(403, "speech_not_configured"),
)
async def create_job(request: Request, user: User, body: JobInput) -> Job:
    user.require("recruiter")
    _check_answer_mode(request, body.interview_plan)
    row = await get_services(request).pool.fetchrow(
        "insert into public.jobs (recruiter_id, title, description, job_type, location, remote,"
        " salary_min, salary_max, salary_currency, required_skills, status, interview_plan)"
        f" values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {_COLUMNS}",
        user.id,
        *_values(body),
    )
    return _own_job(row, user)


@api.get(
    "/jobs", summary="Search jobs", tags=("jobs",), errors=("invalid_cursor",), response=JobPage
)
async def list_jobs(request: Request, user: User, query: JobQuery) -> Response:
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # What this user may see at all: open jobs, and their own. Said as plainly as the other
    # filters allow, so that the planner can use an index for it.
    where: list[str] = []
    if query.recruiter_id is not None:
        where.append(f"recruiter_id = {arg(query.recruiter_id)}")
        if query.recruiter_id != user.id:
            where.append("status = 'open'")
        if query.status is not None:
            where.append(f"status = {arg(query.status)}")
    elif query.status == "open":
        where.append("status = 'open'")
    elif query.status == "closed":
        where.append(f"status = 'closed' and recruiter_id = {arg(user.id)}")
    else:
        where.append(f"(status = 'open' or recruiter_id = {arg(user.id)})")
    if query.job_type is not None:
        where.append(f"job_type = {arg(query.job_type)}")
    if query.remote is not None:
        where.append(f"remote = {arg(query.remote)}")
    if query.location:
        where.append(f"lower(location) = lower({arg(query.location)})")
    if query.title:
        escaped = query.title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # title_lower is lower(title): the same case-insensitive match as title ilike.
        where.append(f"title_lower like lower({arg('%' + escaped + '%')})")
    filters = " and ".join(where)
    filter_args = list(args)

    expression, pg_type = _SORT_EXPRESSIONS[query.sort_by]
    direction = "desc" if query.sort_order == "desc" else "asc"
    page_where = filters
    if query.cursor:
        key, last_id = _decode_cursor(query.cursor, query.sort_by, query.sort_order)
        compare = "<" if direction == "desc" else ">"
        page_where += (
            f" and ({expression}, id) {compare} ({arg(key)}::{pg_type}, {arg(last_id)}::uuid)"
        )
    # The total and the page at once, on two connections: the request waits for the longer
    # of the two, not for both. The page is found on the sort's covering index alone (an
    # index-only scan, filters included); only its own rows are then read in full.
    pool = get_services(request).pool
    total, rows = await asyncio.gather(
        pool.fetchval(f"select count(*) from public.jobs where {filters}", *filter_args),
        pool.fetch(
            f"select p.sort_key, {_J_COLUMNS} from ("
            f"  select id, {expression} as sort_key from public.jobs where {page_where}"
            f"  order by {expression} {direction}, id {direction}"
            f"  limit {arg(query.limit + 1)}"
            f") p join public.jobs j on j.id = p.id"
            f" order by p.sort_key {direction}, p.id {direction}",
            *args,
        ),
    )
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        next_cursor = encode_cursor(query.sort_by, query.sort_order, last["sort_key"], last["id"])
    page = {
        "items": [_job_json(r, user.id) for r in rows],
        "total": total,
        "limit": query.limit,
        "next_cursor": next_cursor,
    }
    # Written here rather than through JobPage: validating again what the database holds was
    # most of the time a page of 100 jobs took. The bytes are those JobPage would write.
    body = orjson.dumps(page, default=_json_default, option=orjson.OPT_UTC_Z)
    return Response(body, media_type="application/json")


def _json_default(value: Any) -> Any:
    # asyncpg's own UUID type, which orjson does not know.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


@api.get("/jobs/{job_id}", summary="One job", tags=("jobs",))
async def get_job(request: Request, user: User, job_id: uuid.UUID) -> JobView:
    row = await get_services(request).pool.fetchrow(
        f"select {_COLUMNS} from public.jobs where id = $1"
        " and (status = 'open' or recruiter_id = $2"
        "  or exists (select 1 from public.applications a"
        "             where a.job_id = jobs.id and a.candidate_id = $2))",
        job_id,
        user.id,
    )
    if row is None:
        raise NotFound(f"no job with id {job_id}")
    return JobView(_job(row, user.id))


async def _check_owner(request: Request, user: User, job_id: uuid.UUID) -> None:
    owner = await get_services(request).pool.fetchval(
        "select recruiter_id from public.jobs where id = $1", job_id
    )
    if owner is None:
        raise NotFound(f"no job with id {job_id}")
    if owner != user.id:
        raise Forbidden("only the recruiter who posted this job may change it")


@api.put(
    "/jobs/{job_id}",
    summary="Replace a job (its recruiter)",
    tags=("jobs",),
    errors=(403, "speech_not_configured"),
)
async def update_job(request: Request, user: User, job_id: uuid.UUID, body: JobInput) -> Job:
    await _check_owner(request, user, job_id)
    _check_answer_mode(request, body.interview_plan)
    row = await get_services(request).pool.fetchrow(
        "update public.jobs set title = $3, description = $4, job_type = $5, location = $6,"
        " remote = $7, salary_min = $8, salary_max = $9, salary_currency = $10,"
        " required_skills = $11, status = $12, interview_plan = $13"
        f" where id = $1 and recruiter_id = $2 returning {_COLUMNS}",
        job_id,
        user.id,
        *_values(body),
    )
    if row is None:  # deleted meanwhile
        raise NotFound(f"no job with id {job_id}")
    return _own_job(row, user)


@api.delete(
    "/jobs/{job_id}",
    summary="Delete a job and its applications (its recruiter)",
    tags=("jobs",),
    status=204,
    errors=(403, "storage_unavailable"),
)
async def delete_job(request: Request, user: User, job_id: uuid.UUID) -> None:
    await _check_owner(request, user, job_id)
    services = get_services(request)
    async with services.pool.acquire() as conn, conn.transaction():
        with_resume = await conn.fetch(
            "select id, resume_key from public.applications"
            " where job_id = $1 and resume_key is not null",
            job_id,
        )
        deleted = await conn.fetchval(
            "delete from public.jobs where id = $1 and recruiter_id = $2 returning id",
            job_id,
            user.id,
        )
    if deleted is None:
        raise NotFound(f"no job with id {job_id}")
    # After the commit: a blob without a row is harmless, a row without its blob is not.
    for record in with_resume:
        if (key := stored_resume_key(record["id"], record["resume_key"])) is not None:
            await services.blobs.delete(key)
