"""The checks a model's scores go through before anyone sees them.

A model proposes a score, a rationale and quotes for each criterion; the server keeps a score
only when its evidence holds: every quote must be found, character for character, in the answer
it names. A criterion that loses some of its quotes keeps its score and says so
(``quotes_removed``); one that loses all of them, or that the model did not score at all, is
scored by the offline scorer instead and marked ``rescored`` — never silently kept. So the final
evaluation always has every rubric criterion, in rubric order.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.interviewer.base import CriterionScore, JobBrief, Turn
from server.interviewer.evaluation import answers_by_question, is_verbatim
from server.interviewer.scoring import SCORER_VERSION, criterion_scores

# Bump when the checks change; recorded on every model's evaluation as its scorer_version.
CHECKS_VERSION = f"checks-2+{SCORER_VERSION}"


def check_criteria(
    job: JobBrief, transcript: Sequence[Turn], proposed: Sequence[CriterionScore]
) -> list[CriterionScore]:
    answers = answers_by_question(transcript)
    by_name = {c.name: c for c in proposed}
    offline: dict[str, CriterionScore] = {}

    def rescored(name: str, why: str) -> CriterionScore:
        if not offline:
            offline.update((c.name, c) for c in criterion_scores(job, transcript))
        fallback = offline[name]
        return fallback.model_copy(
            update={"verification": "rescored", "rationale": f"{why} {fallback.rationale}"}
        )

    checked = []
    for criterion in job.rubric:
        score = by_name.get(criterion.name)
        if score is None:
            checked.append(
                rescored(criterion.name, "The model did not score this criterion; scored offline:")
            )
            continue
        kept = [
            e.model_copy(update={"quote": e.quote.strip()})
            for e in score.evidence
            if is_verbatim(e, answers)
        ]
        dropped = len(score.evidence) - len(kept)
        if not dropped:
            checked.append(score.model_copy(update={"evidence": kept}))
        elif kept:
            plural = "s" if dropped > 1 else ""
            note = f"({dropped} quote{plural} not found in the transcript removed.)"
            checked.append(
                score.model_copy(
                    update={
                        "evidence": kept,
                        "verification": "quotes_removed",
                        "rationale": f"{score.rationale} {note}",
                    }
                )
            )
        else:
            checked.append(
                rescored(
                    criterion.name,
                    f"The model scored {score.score:g}, but none of its quotes is in the "
                    "transcript; scored offline instead:",
                )
            )
    return checked
