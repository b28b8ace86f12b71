"""The versions of an interview's evaluation (``public.interview_evaluations``).

Version 1 is written with the interview's end, in the transaction that completes it (the
persistence writer calls :func:`add_version`); later ones by a recruiter re-scoring it. Each
version is the evaluation and what produced it; ``interviews.evaluation`` always holds the
latest, so listings need no join.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from server.store.database import Connection

Reason = Literal["interview_completed", "rescored"]

COLUMNS = (
    "version, evaluation, interviewer, model, prompt_version, rubric_version, scorer_version,"
    " reason, created_by, created_at"
)


def is_evaluation(evaluation: dict[str, Any]) -> bool:
    """Whether this is a scored evaluation (not the record of one that could not be made)."""
    return "criteria" in evaluation and "model" in evaluation and "error" not in evaluation


async def add_version(
    conn: Connection,
    interview_id: uuid.UUID,
    evaluation: dict[str, Any],
    *,
    reason: Reason,
    created_by: uuid.UUID | None = None,
) -> int | None:
    """Store ``evaluation`` as the interview's next version and make it the current one; its
    number, or None for an evaluation that failed (nothing to keep). Call inside a
    transaction: the interview's row is locked so that versions are numbered without gaps."""
    if not is_evaluation(evaluation):
        return None
    await conn.execute("select 1 from public.interviews where id = $1 for update", interview_id)
    version: int = await conn.fetchval(
        "insert into public.interview_evaluations (interview_id, version, evaluation,"
        " interviewer, model, prompt_version, rubric_version, scorer_version, reason, created_by)"
        " values ($1, coalesce((select max(version) from public.interview_evaluations"
        " where interview_id = $1), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9) returning version",
        interview_id,
        evaluation,
        evaluation["interviewer"],
        evaluation["model"],
        evaluation.get("prompt_version", ""),
        evaluation.get("rubric_version", ""),
        evaluation.get("scorer_version", ""),
        reason,
        created_by,
    )
    await conn.execute(
        "update public.interviews set evaluation = $2 where id = $1", interview_id, evaluation
    )
    return version


async def list_versions(conn: Connection, interview_id: uuid.UUID) -> list[Any]:
    return list(
        await conn.fetch(
            f"select {COLUMNS} from public.interview_evaluations where interview_id = $1"
            " order by version desc",
            interview_id,
        )
    )


async def get_version(conn: Connection, interview_id: uuid.UUID, version: int) -> Any:
    return await conn.fetchrow(
        f"select {COLUMNS} from public.interview_evaluations"
        " where interview_id = $1 and version = $2",
        interview_id,
        version,
    )
