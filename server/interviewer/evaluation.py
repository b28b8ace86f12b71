"""Checks every evaluation goes through, whichever interviewer wrote it.

The model (or the heuristics) propose scores and quotes; the numbers that matter are computed
here: quotes that are not verbatim in the candidate's answer are dropped, and the overall score is
the weighted mean of the criteria scores, never taken on trust.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from server.interviewer.base import (
    Criterion,
    CriterionScore,
    Evaluation,
    Evidence,
    ProctoringSummary,
    Recommendation,
    RubricEntry,
    Turn,
)

# Lower bounds of the overall score for each recommendation, best first.
RECOMMENDATION_THRESHOLDS: tuple[tuple[float, Recommendation], ...] = (
    (4.5, "strong_hire"),
    (3.75, "hire"),
    (3.0, "lean_hire"),
    (2.25, "lean_no_hire"),
)


def rubric_version(rubric: Iterable[Criterion]) -> str:
    """A short hash of the rubric that changes whenever a name, description or weight does."""
    canonical = json.dumps(
        [[c.name, c.description, c.weight] for c in rubric],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def rubric_record(rubric: Iterable[Criterion]) -> list[RubricEntry]:
    """The rubric as an evaluation records it."""
    return [RubricEntry(name=c.name, description=c.description, weight=c.weight) for c in rubric]


def overall_score(criteria: Sequence[CriterionScore]) -> float:
    """The weighted mean of the scores, rounded to two decimals (1.0 with no criteria)."""
    total = sum(c.weight for c in criteria if c.weight > 0)
    if total <= 0:
        return 1.0
    mean = sum(c.score * c.weight for c in criteria if c.weight > 0) / total
    return round(min(5.0, max(1.0, mean)), 2)


def recommendation_for(score: float) -> Recommendation:
    for threshold, recommendation in RECOMMENDATION_THRESHOLDS:
        if score >= threshold:
            return recommendation
    return "no_hire"


def answers_by_question(transcript: Iterable[Turn]) -> dict[str, str]:
    return {t.question_id: t.answer for t in transcript if t.answer is not None and t.answered}


def is_verbatim(evidence: Evidence, answers: dict[str, str]) -> bool:
    """Whether the quote appears, character for character, in that question's answer."""
    quote = evidence.quote.strip()
    answer = answers.get(evidence.question_id)
    return bool(quote) and answer is not None and quote in answer


def unverified_evidence(
    criteria: Iterable[CriterionScore], transcript: Iterable[Turn]
) -> list[tuple[str, Evidence]]:
    """(criterion name, evidence) for every quote not found in the answer it points to."""
    answers = answers_by_question(transcript)
    return [(c.name, e) for c in criteria for e in c.evidence if not is_verbatim(e, answers)]


def verify_evaluation(evaluation: Evaluation, transcript: Iterable[Turn]) -> Evaluation:
    """Drop evidence that is not verbatim in the transcript and recompute the overall score."""
    answers = answers_by_question(transcript)
    criteria = [
        c.model_copy(
            update={
                "evidence": [
                    e.model_copy(update={"quote": e.quote.strip()})
                    for e in c.evidence
                    if is_verbatim(e, answers)
                ]
            }
        )
        for c in evaluation.criteria
    ]
    return evaluation.model_copy(
        update={"criteria": criteria, "overall_score": overall_score(criteria)}
    )


def proctoring_record(summary: ProctoringSummary) -> dict[str, Any]:
    """The summary as stored in ``Evaluation.proctoring``."""
    record = dataclasses.asdict(summary)
    record["counts"] = dict(sorted(summary.counts.items()))
    record["gaps"] = [dataclasses.asdict(gap) for gap in summary.gaps]
    return record


def proctoring_concerns(summary: ProctoringSummary) -> list[str]:
    """Proctoring facts worth a reviewer's attention, stated without a verdict."""
    concerns: list[str] = []
    # Periods, not signals: switching tabs sends both "hidden" and "blur", one time away.
    away = summary.times_away
    if away:
        concerns.append(
            f"Proctoring: left the interview window {away} time{'s' if away != 1 else ''} "
            f"({summary.total_time_away_s:.0f} s away in total, "
            f"longest {summary.longest_time_away_s:.0f} s)."
        )
    # A lost connection is stated as a fact, not as time away; reloads and the server's own
    # restarts are no concern of the candidate's and are only listed in the gaps.
    drops = [gap.duration_s for gap in summary.gaps if gap.kind == "network_drop"]
    if drops:
        concerns.append(
            f"Proctoring: the connection dropped {len(drops)} time{'s' if len(drops) != 1 else ''}"
            f" ({sum(drops):.0f} s offline in total, longest {max(drops):.0f} s); the answer"
            " clock was paused while offline."
        )
    pastes = summary.counts.get("paste", 0)
    if pastes:
        concerns.append(f"Proctoring: pasted text {pastes} time{'s' if pastes != 1 else ''}.")
    exits = summary.counts.get("fullscreen_exit", 0)
    if exits:
        concerns.append(f"Proctoring: left full screen {exits} time{'s' if exits != 1 else ''}.")
    if not summary.camera_available:
        concerns.append("Proctoring: no camera was available during the interview.")
    return concerns
