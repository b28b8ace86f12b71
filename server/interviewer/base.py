"""The interviewer interface: what a live session asks of an AI interviewer, and what it gets back.

A session hands the interviewer plain, immutable facts (the job, the transcript so far) and
gets back text: a question streamed in chunks, or a scored :class:`Evaluation` at the end. The
interviewer keeps no per-interview state, so a session rebuilt from its event log after a restart
can carry on with any interviewer instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, Field

from server.errors import InterviewerError, InterviewerFailed, InterviewerUnavailable

__all__ = [
    "Criterion",
    "CriterionScore",
    "Evaluation",
    "Evidence",
    "EvidenceCheck",
    "Interviewer",
    "InterviewerError",
    "InterviewerFailed",
    "InterviewerName",
    "InterviewerUnavailable",
    "JobBrief",
    "ProctoringGap",
    "ProctoringSummary",
    "QuestionKind",
    "QuestionRequest",
    "Recommendation",
    "RubricEntry",
    "Turn",
    "TurnStatus",
]

QuestionKind = Literal["main", "follow_up"]
TurnStatus = Literal["answered", "timed_out", "pending"]
TurnSource = Literal["interviewer", "recruiter"]
Recommendation = Literal["strong_hire", "hire", "lean_hire", "lean_no_hire", "no_hire"]
InterviewerName = Literal["scripted", "openai"]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One rubric criterion, as the recruiter wrote it in the job's interview plan."""

    name: str
    description: str
    weight: float


@dataclass(frozen=True, slots=True)
class JobBrief:
    """What the interviewer knows about the job: its text and its interview plan."""

    title: str
    description: str
    required_skills: tuple[str, ...]
    custom_questions: tuple[str, ...]
    rubric: tuple[Criterion, ...]
    question_count: int
    follow_ups_per_question: int


@dataclass(frozen=True, slots=True)
class Turn:
    """One question of the interview and what became of it.

    ``index`` is the number (1-based) of the main question; a follow-up carries the number of
    the main question it follows. ``answer`` is None until the candidate answers.
    """

    question_id: str
    kind: QuestionKind
    index: int
    text: str
    answer: str | None
    status: TurnStatus
    source: TurnSource

    @property
    def answered(self) -> bool:
        return self.status == "answered" and bool(self.answer and self.answer.strip())


@dataclass(frozen=True, slots=True)
class QuestionRequest:
    """Ask for the next question: main question number ``index``, or a follow-up to it."""

    job: JobBrief
    transcript: tuple[Turn, ...]
    kind: QuestionKind
    index: int


@dataclass(frozen=True, slots=True)
class ProctoringGap:
    """One stretch of the interview the candidate was not fully there, and why: ``tab_hidden``
    or ``window_blur`` (the room reported it), ``reload`` (the page was reloaded),
    ``network_drop`` (the socket was lost) or ``server_restart`` (the server stopped or
    crashed: never the candidate's doing). Times are ISO 8601; ``end`` is when it ended, or
    when the summary was made if it had not."""

    kind: str
    start: str
    end: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class ProctoringSummary:
    """The proctoring signals of one interview, summarised by the session.

    Time away counts only ``tab_hidden``/``window_blur`` gaps; disconnections only the
    candidate's own (``reload``, ``network_drop``). Overlapping periods are merged, never added
    twice, and everything is clipped to the interview's own span. A server outage is listed
    in ``gaps`` and counted nowhere else."""

    counts: dict[str, int]
    longest_time_away_s: float
    total_time_away_s: float
    camera_available: bool
    times_away: int = 0
    disconnections: int = 0
    longest_disconnected_s: float = 0.0
    total_disconnected_s: float = 0.0
    gaps: tuple[ProctoringGap, ...] = ()


class Evidence(BaseModel):
    """A verbatim quote from the candidate's answer to one question."""

    question_id: str
    quote: str


# How a criterion's evidence fared in the server's check (server.interviewer.evaluation):
# every quote was found verbatim; some were not and were removed (the score kept, and said so);
# none was, or the criterion was not scored at all, so the offline scorer scored it instead.
EvidenceCheck = Literal["verified", "quotes_removed", "rescored"]


class CriterionScore(BaseModel):
    name: str
    weight: float
    # 1 to 5: whole numbers from a model, tenths from the offline scorer (no cliff edges).
    score: Annotated[float, Field(ge=1, le=5)]
    rationale: str
    evidence: list[Evidence]
    verification: EvidenceCheck = "verified"


class RubricEntry(BaseModel):
    """One criterion of the rubric an evaluation was scored against, as it was then."""

    name: str
    description: str
    weight: float


class Evaluation(BaseModel):
    """The scored result of an interview, stored on it and shown to the recruiter."""

    criteria: list[CriterionScore]
    # Weighted mean of the criteria scores, always computed in code.
    overall_score: Annotated[float, Field(ge=1, le=5)]
    strengths: list[str]
    concerns: list[str]
    recommendation: Recommendation
    proctoring: dict[str, Any] = Field(default_factory=dict)
    # Short stable hash of the rubric criteria (name, description, weight) it was scored on.
    rubric_version: str
    prompt_version: str
    model: str
    interviewer: InterviewerName
    # The version of the server code that scored it (offline) or checked it (a model's).
    scorer_version: str = ""
    # The rubric it was scored against (rubric_version is its hash), so that two versions
    # scored against different rubrics can be compared criterion by criterion.
    rubric: list[RubricEntry] = Field(default_factory=list)


class Interviewer(ABC):
    """Asks the questions and scores the answers. Implementations must be safe to share
    between concurrent sessions: every call carries all the state it needs."""

    name: ClassVar[InterviewerName]
    model: str
    prompt_version: str

    @abstractmethod
    def stream_question(self, request: QuestionRequest) -> AsyncGenerator[str, None]:
        """Yield the next question in chunks; their concatenation is the whole question.

        An async generator: a caller that stops reading early should ``aclose()`` it (or use
        ``contextlib.aclosing``) so the connection behind it is released at once.

        Raises InterviewerUnavailable or InterviewerFailed; a stream that breaks after some
        chunks were yielded raises InterviewerUnavailable rather than starting over.
        """

    @abstractmethod
    async def evaluate(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        """Score the interview against the job's rubric with evidence quoted from answers."""

    def with_model(self, model: str) -> Interviewer:
        """The same interviewer with another model (a recruiter's re-score with another model).
        Only an interviewer backed by a model has one to change."""
        raise NotImplementedError(f"the {self.name} interviewer has no model to change")

    async def aclose(self) -> None:  # noqa: B027 - a no-op default, not an abstract method
        """Release what the interviewer holds (HTTP connections). Idempotent."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
