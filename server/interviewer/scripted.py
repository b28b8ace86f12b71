"""The scripted interviewer: deterministic questions and transparent scores, no network.

It is the embedded default, so a fresh install runs whole interviews offline, and the same
inputs always give the same questions and the same evaluation (which is what tests and
benchmarks need). Its two algorithms live in their own modules: question planning in
``server.interviewer.planning``, scoring in ``server.interviewer.scoring``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from server.interviewer._text import chunk_words
from server.interviewer.base import (
    Evaluation,
    Interviewer,
    JobBrief,
    ProctoringSummary,
    QuestionRequest,
    Turn,
)
from server.interviewer.planning import (
    description_themes,
    next_question,
    planned_questions,
    salient_term,
    salient_terms,
)
from server.interviewer.scoring import MODEL, SCRIPT_VERSION, score_interview
from server.interviewer.scoring_pool import ScoringPool

__all__ = [
    "SCRIPT_VERSION",
    "ScriptedInterviewer",
    "description_themes",
    "next_question",
    "planned_questions",
    "salient_term",
    "salient_terms",
    "score_interview",
]


class ScriptedInterviewer(Interviewer):
    name = "scripted"

    # Questions are whole before they are streamed: a few words a frame still streams, and
    # costs a third of the frames two words would (every frame goes to every watcher too).
    def __init__(self, *, words_per_chunk: int = 6, scoring_processes: int = 0) -> None:
        self.model = MODEL
        self.prompt_version = SCRIPT_VERSION
        self.words_per_chunk = words_per_chunk
        self.scoring = ScoringPool(scoring_processes)

    async def stream_question(self, request: QuestionRequest) -> AsyncGenerator[str, None]:
        # No sleeping between chunks: the caller paces the stream.
        for chunk in chunk_words(next_question(request), self.words_per_chunk):
            yield chunk

    async def evaluate(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        # Milliseconds of pure Python per interview: in worker processes (or a thread), so
        # that interviews ending do not hold every socket's event loop while they are scored.
        return await self.scoring.score(job, transcript, proctoring)

    async def aclose(self) -> None:
        await self.scoring.aclose()
