"""The offline scorer: scores an interview against its rubric with no network and no model.

It reads every answer sentence by sentence (``reading``), weighs what each sentence can count
for — prose rather than a list of keywords, relevant to the job and to its question, said for
the first time, not addressed to the scorer (``transcript``, ``vocabulary``) — scores each
criterion from the sentences that show what it looks at (``criteria``), quotes the ones that
show it best (``evidence``), and writes strengths and concerns that quote the candidate
(``feedback``). docs/assessment.md explains the whole, and its limits next to a model.

The same transcript always gives the same evaluation, and no proctoring signal is an input to
any score: the summary is only recorded beside the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.interviewer.base import (
    CriterionScore,
    Evaluation,
    JobBrief,
    ProctoringSummary,
    Turn,
)
from server.interviewer.evaluation import (
    overall_score,
    proctoring_concerns,
    proctoring_record,
    recommendation_for,
    rubric_record,
    rubric_version,
    verify_evaluation,
)
from server.interviewer.scoring.criteria import (
    kinds,
    quality,
    rationale,
    score_of,
    skills_credited,
)
from server.interviewer.scoring.evidence import choose_evidence
from server.interviewer.scoring.feedback import concerns, strengths
from server.interviewer.scoring.transcript import ReadTranscript, read_transcript
from server.interviewer.scoring.vocabulary import JobVocabulary

__all__ = ["MODEL", "SCORER_VERSION", "SCRIPT_VERSION", "criterion_scores", "score_interview"]

# Bump with any change that can change a score, a quote, a strength or a concern: it is
# recorded on every evaluation, so scores written by different versions can be told apart.
SCORER_VERSION = "offline-2"
# The scripted interviewer's questions (its "prompt").
SCRIPT_VERSION = "scripted-1"
MODEL = "scripted-v1"


def criterion_scores(job: JobBrief, transcript: Sequence[Turn]) -> list[CriterionScore]:
    """Every rubric criterion scored, in rubric order, with its evidence and rationale."""
    return _criterion_scores(job, read_transcript(JobVocabulary.of(job), transcript))


def _criterion_scores(job: JobBrief, read: ReadTranscript) -> list[CriterionScore]:
    readings = kinds(job.rubric)
    evidence = choose_evidence(readings, read)
    scores = []
    for reading, quotes in zip(readings, evidence, strict=True):
        q = quality(reading, read)
        scores.append(
            CriterionScore(
                name=reading.criterion.name,
                weight=reading.criterion.weight,
                score=score_of(q.value),
                rationale=rationale(reading, q, read),
                evidence=quotes,
            )
        )
    return scores


def score_interview(
    job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
) -> Evaluation:
    """The whole evaluation. ``proctoring`` is recorded and noted, never scored."""
    vocabulary = JobVocabulary.of(job)
    read = read_transcript(vocabulary, transcript)
    criteria = _criterion_scores(job, read)
    credited = skills_credited(read)
    overall = overall_score(criteria)
    evaluation = Evaluation(
        criteria=criteria,
        overall_score=overall,
        strengths=strengths(read, criteria, credited),
        concerns=[
            *concerns(read, [s.name for s in vocabulary.required], credited),
            *proctoring_concerns(proctoring),
        ],
        recommendation=recommendation_for(overall),
        proctoring=proctoring_record(proctoring),
        rubric_version=rubric_version(job.rubric),
        rubric=rubric_record(job.rubric),
        prompt_version=SCRIPT_VERSION,
        model=MODEL,
        interviewer="scripted",
        scorer_version=SCORER_VERSION,
    )
    # The quotes are taken from the answers, so this only guards against a future bug.
    return verify_evaluation(evaluation, transcript)
