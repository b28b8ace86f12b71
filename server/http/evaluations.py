"""An interview's evaluations, for the job's recruiter: every version with what produced it,
and re-scoring (after the rubric changed, or with another interviewer or model).

A re-score reads the interview's log as the live session would have (``InterviewSession.restore``:
the same transcript, the same proctoring summary), scores it against the job's *current* rubric
and keeps the result as the next version, which becomes the interview's evaluation. Candidates
read no evaluation (docs/security.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request

from server.auth.identity import User
from server.errors import (
    Conflict,
    Forbidden,
    InterviewerFailed,
    InterviewerUnavailable,
    NotFound,
    ScoringFailed,
    ScoringUnavailable,
    ServerBusy,
    ValidationFailed,
)
from server.http.routing import Api
from server.http.types import Input, Output, Trimmed
from server.interviewer.base import Interviewer
from server.interviewer.scripted import ScriptedInterviewer
from server.services import get_services
from server.sessions.manager import job_brief, session_config
from server.sessions.session import InterviewSession
from server.speech.sentences import place_evidence
from server.store.evaluations import add_version, get_version, list_versions

api = Api()

# A re-score can hold its request while the AI interviewer works (a minute or more). Each
# interview is re-scored once at a time, and a server runs a few at once: more are refused at
# once, not queued behind the others.
RESCORES_AT_ONCE = 4


class EvaluationVersion(Output):
    version: int
    evaluation: dict[str, Any] = Field(
        description="The evaluation, as GET /interviews/{id} has it (its fields: "
        "docs/protocol.md, section 7)"
    )
    interviewer: Literal["scripted", "openai"]
    model: str
    prompt_version: str
    rubric_version: str
    scorer_version: str
    reason: Literal["interview_completed", "rescored"]
    created_by: uuid.UUID | None = Field(description="Who re-scored it; null for the first")
    created_at: datetime


class EvaluationVersions(Output):
    items: list[EvaluationVersion] = Field(description="Newest first; the first is current")


class Rescore(Input):
    interviewer: Literal["scripted", "openai"] | None = Field(
        default=None, description="Which interviewer scores it; the server's own by default"
    )
    model: Annotated[str, Trimmed(min_length=1, max_length=100)] | None = Field(
        default=None, description="Another model for the openai interviewer"
    )


async def _interview(request: Request, user: User, interview_id: uuid.UUID) -> Any:
    row = await get_services(request).pool.fetchrow(
        "select i.id, i.state, i.ended_at, i.candidate_id, i.recruiter_id, i.extra_time_percent,"
        " j.title, j.description, j.required_skills, j.interview_plan"
        " from public.interviews i join public.jobs j on j.id = i.job_id where i.id = $1",
        interview_id,
    )
    if row is None:
        raise NotFound(f"no interview with id {interview_id}")
    if user.id != row["recruiter_id"]:
        raise Forbidden("only the job's recruiter may see or make evaluations")
    return row


def _version(row: Any) -> EvaluationVersion:
    return EvaluationVersion.model_validate(dict(row))


@api.get(
    "/interviews/{interview_id}/evaluations",
    summary="Every evaluation of the interview, newest first (the job's recruiter)",
    tags=("interviews",),
    errors=(403,),
)
async def list_evaluations(
    request: Request, user: User, interview_id: uuid.UUID
) -> EvaluationVersions:
    await _interview(request, user, interview_id)
    async with get_services(request).pool.acquire() as conn:
        rows = await list_versions(conn, interview_id)
    return EvaluationVersions(items=[_version(r) for r in rows])


@api.get(
    "/interviews/{interview_id}/evaluations/{version}",
    summary="One version of the interview's evaluation (the job's recruiter)",
    tags=("interviews",),
    errors=(403,),
)
async def get_evaluation(
    request: Request, user: User, interview_id: uuid.UUID, version: int
) -> EvaluationVersion:
    await _interview(request, user, interview_id)
    async with get_services(request).pool.acquire() as conn:
        row = await get_version(conn, interview_id, version)
    if row is None:
        raise NotFound(f"interview {interview_id} has no evaluation version {version}")
    return _version(row)


def _choose(request: Request, body: Rescore) -> Interviewer:
    configured = get_services(request).sessions.interviewer
    name = body.interviewer or configured.name
    if name == "scripted":
        if body.model is not None:
            raise ValidationFailed("body.model: only the openai interviewer takes a model")
        return configured if configured.name == "scripted" else ScriptedInterviewer()
    # By name, not by class: the configured interviewer is wrapped in its metrics.
    if configured.name != "openai":
        raise Conflict(
            "the openai interviewer is not configured on this server (OPENAI_API_KEY)",
            code="interviewer_not_configured",
        )
    return configured.with_model(body.model) if body.model else configured


@api.post(
    "/interviews/{interview_id}/evaluations",
    summary="Re-score the interview against the job's current rubric (the job's recruiter)",
    tags=("interviews",),
    status=201,
    errors=(
        403,
        "interview_not_completed",
        "interviewer_not_configured",
        "interviewer_failed",
        "interviewer_unavailable",
        "rescore_in_progress",
        "server_busy",
    ),
)
async def rescore(
    request: Request, user: User, interview_id: uuid.UUID, body: Rescore
) -> EvaluationVersion:
    row = await _interview(request, user, interview_id)
    if row["state"] != "completed":
        raise Conflict(
            f"the interview is {row['state']}: only a completed interview is scored",
            code="interview_not_completed",
        )
    interviewer = _choose(request, body)
    rescoring = get_services(request).rescoring
    if interview_id in rescoring:
        raise Conflict(
            "this interview is being re-scored; wait for that to finish",
            code="rescore_in_progress",
        )
    if len(rescoring) >= RESCORES_AT_ONCE:
        raise ServerBusy(
            "the server is re-scoring as many interviews as it allows; try again shortly",
            headers={"Retry-After": "5"},
        )
    rescoring.add(interview_id)
    try:
        return await _rescore(request, user, interview_id, interviewer, row)
    finally:
        rescoring.discard(interview_id)


async def _rescore(
    request: Request, user: User, interview_id: uuid.UUID, interviewer: Interviewer, row: Any
) -> EvaluationVersion:
    services = get_services(request)
    config = session_config(row["interview_plan"], services.settings, row["extra_time_percent"])
    # The transcript as a restored session reads it from the log.
    entries = await services.interview_log.read_all(interview_id)
    session = InterviewSession.restore(str(interview_id), config, entries)
    ended = (row["ended_at"] or datetime.now(UTC)).timestamp()
    try:
        evaluation = await interviewer.evaluate(
            job_brief(row), session.transcript(), session.proctoring_summary(ended)
        )
    except InterviewerUnavailable as exc:
        raise ScoringUnavailable("the AI interviewer did not respond; try again later") from exc
    except InterviewerFailed as exc:
        raise ScoringFailed("the AI interviewer could not score this interview") from exc
    async with services.pool.acquire() as conn, conn.transaction():
        version = await add_version(
            conn,
            interview_id,
            place_evidence(evaluation.model_dump(mode="json"), session.answer_places()),
            reason="rescored",
            created_by=user.id,
        )
        assert version is not None
        stored = await get_version(conn, interview_id, version)
    return _version(stored)
