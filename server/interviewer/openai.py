"""The OpenAI-backed interviewer: streamed questions, structured evaluations, careful retries.

It speaks Chat Completions, the widest-supported surface across OpenAI-compatible servers
(``OPENAI_BASE_URL``): streaming for questions, structured output (a strict JSON schema through
``chat.completions.parse``) for the evaluation.

Failures are classified, and only transient ones are retried, here rather than in the client
(``max_retries=0``) so one policy covers both the request and the stream:

- transient: connection errors, timeouts, 408, 409, 429 (except an exhausted quota), 5xx, an
  error event in the stream, a question stream with no text. Retried with exponential backoff
  and jitter (honouring ``Retry-After``) up to ``max_attempts``, then InterviewerUnavailable.
- permanent: 400, 401, 403, 404, 422, an exhausted quota, a refusal, output stopped by the
  content filter, a question stopped at the length limit. InterviewerFailed at once: the same
  request would be refused, filtered or cut off again.
- invalid structured output (an evaluation cut off at the length limit included): the model is
  asked once more with the problems listed, then InterviewerFailed. Quotes that are not
  verbatim and criteria missing, unknown or doubled get the same one extra chance; then
  ``check_criteria`` settles them: a criterion keeps its score only with evidence found in the
  transcript (quotes that were not are removed, and it says so), one left with none, or not
  scored at all, is scored by the offline scorer and marked "rescored". The final evaluation
  always has every rubric criterion, and its recommendation follows from the scores in code.

A question stream that breaks after chunks were yielded raises InterviewerUnavailable: the
candidate has already seen part of a question, so starting over silently would garble it. A
question that ends cut off (``length``), filtered (``content_filter``) or refused is never
finished as if it were whole: InterviewerFailed. What the provider said (a refusal, an error
message) goes to the server's log only; the session tells the candidate a fixed sentence.

The recruiter's custom questions are asked word for word, without a model call.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TypeVar

import anyio.to_thread
import httpx2
import pydantic
import structlog
from openai import (
    APIError,
    ContentFilterFinishReasonError,
    LengthFinishReasonError,
)
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, Field

from server.config import Settings
from server.errors import (
    InterviewerError,
    InterviewerFailed,
    InterviewerFailure,
    InterviewerUnavailable,
    OpenHireError,
)
from server.interviewer._text import chunk_words, next_custom_question
from server.interviewer.base import (
    CriterionScore,
    Evaluation,
    Evidence,
    Interviewer,
    JobBrief,
    ProctoringSummary,
    QuestionRequest,
    Recommendation,
    Turn,
)
from server.interviewer.checks import CHECKS_VERSION, check_criteria
from server.interviewer.evaluation import (
    overall_score,
    proctoring_concerns,
    proctoring_record,
    recommendation_for,
    rubric_record,
    rubric_version,
    unverified_evidence,
)
from server.interviewer.prompts import (
    PROMPT_VERSION,
    correction_message,
    evaluation_messages,
    question_messages,
)
from server.openai_retry import Backoff, after_failure, describe, openai_client
from server.openai_retry import is_transient as api_is_transient

log = structlog.get_logger(__name__)

T = TypeVar("T")


class CriterionDraft(BaseModel):
    """One criterion as the model scores it; the weight comes from the rubric, not the model."""

    name: str
    score: int = Field(ge=1, le=5)
    rationale: str
    evidence: list[Evidence]


class EvaluationDraft(BaseModel):
    """The part of an Evaluation the model writes: the structured-output schema."""

    criteria: list[CriterionDraft]
    strengths: list[str]
    concerns: list[str]
    recommendation: Recommendation


class _EmptyQuestion(OpenHireError):
    """The stream ended without a single character of question."""

    def __str__(self) -> str:
        return "the model returned an empty question"


class _UnfinishedQuestion(OpenHireError):
    """The model stopped short of a whole question: asking again would end the same way."""

    def __init__(self, message: str, why: InterviewerFailure) -> None:
        super().__init__(message)
        self.why: InterviewerFailure = why


class OpenAIInterviewer(Interviewer):
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        max_attempts: int = 4,
        retry_base_delay_s: float = 0.5,
        retry_max_delay_s: float = 8.0,
        timeout_s: float = 60.0,
        words_per_chunk: int = 2,
    ) -> None:
        """``http_client``, when given, is owned by the interviewer and closed by aclose()."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.prompt_version = PROMPT_VERSION
        self.max_attempts = max_attempts
        self.words_per_chunk = words_per_chunk
        # The one retry rule of OpenAI-compatible APIs (server/openai_retry.py).
        self.retry_delay = Backoff(retry_base_delay_s, retry_max_delay_s)
        # Retries are ours (see the module docstring), so the client's own are off.
        self._client = openai_client(
            api_key=api_key, base_url=base_url, timeout_s=timeout_s, http_client=http_client
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIInterviewer:
        if not settings.openai_api_key:
            raise ValueError("OPENAI_API_KEY is not set")
        return cls(
            api_key=settings.openai_api_key,
            model=settings.model,
            base_url=settings.openai_base_url,
        )

    async def aclose(self) -> None:
        await self._client.close()

    def with_model(self, model: str) -> OpenAIInterviewer:
        """The same interviewer with another model, sharing this one's client (a recruiter's
        re-score with another model). The copy is never closed: this one owns the client."""
        other = copy.copy(self)
        other.model = model
        return other

    # Questions

    async def stream_question(self, request: QuestionRequest) -> AsyncGenerator[str, None]:
        custom = next_custom_question(request)
        if custom is not None:
            for chunk in chunk_words(custom, self.words_per_chunk):
                yield chunk
            return
        messages = question_messages(request)
        attempt = 0
        while True:
            attempt += 1
            started = False
            finish_reason: str | None = None
            refusal = ""
            try:
                stream = await self._client.chat.completions.create(
                    model=self.model, messages=messages, stream=True
                )
                async with stream:
                    async for event in stream:
                        if not event.choices:
                            continue
                        choice = event.choices[0]
                        finish_reason = choice.finish_reason or finish_reason
                        if choice.delta.refusal:
                            # Never shown: read (bounded) for the log, then refused as a whole.
                            refusal = (refusal + choice.delta.refusal)[:500]
                            continue
                        text = choice.delta.content
                        if not started and text:
                            text = text.lstrip()
                        if text and not refusal:
                            started = True
                            yield text
                if refusal:
                    raise _UnfinishedQuestion(
                        f"the model refused to ask a question: {refusal}", "refusal"
                    )
                if finish_reason == "length":
                    raise _UnfinishedQuestion(
                        "the question was cut off at the length limit", "length"
                    )
                if finish_reason == "content_filter":
                    raise _UnfinishedQuestion(
                        "the question was stopped by the content filter", "content_filter"
                    )
                if not started:
                    raise _EmptyQuestion
                return
            except _UnfinishedQuestion as exc:
                log.warning(
                    "interviewer.question_unfinished",
                    model=self.model,
                    after_text=started,
                    reason=str(exc),
                )
                raise InterviewerFailed(str(exc), why=exc.why) from exc
            except Exception as exc:
                # Anything, even an unexpected error (a malformed chunk), ends as one of ours:
                # the session must get a clear InterviewerError, never hang on a stray one.
                if started:
                    log.warning("interviewer.stream_broken", model=self.model, error=repr(exc))
                    raise InterviewerUnavailable(
                        "the question stream broke off after it had started"
                    ) from exc
                await self._after_failure("question", exc, attempt)

    # Evaluation

    async def evaluate(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        turns = tuple(transcript)
        messages = evaluation_messages(job, turns)
        draft, problems = await self._draft_evaluation(job, turns, messages)
        if problems:
            # One more chance, with the problems spelled out; after that, invalid output fails,
            # and what is still wrong with a valid draft is settled by check_evaluation.
            log.info("interviewer.evaluation_reasked", model=self.model, problems=len(problems))
            first = draft
            if first is not None:
                messages.append({"role": "assistant", "content": first.model_dump_json()})
            messages.append(correction_message(problems))
            draft, problems = await self._draft_evaluation(job, turns, messages)
            # A valid first draft beats an invalid second one.
            draft = draft or first
            if draft is None:
                raise InterviewerFailed(
                    "the model's evaluation was invalid twice: " + "; ".join(problems),
                    why="invalid_output",
                )
        assert draft is not None
        proposed = _criteria(job, draft)
        # Run in a thread for the same reason as the scripted interviewer's evaluation: the
        # offline scorer is pure Python, and it rescores what the model's evidence cannot back.
        criteria = await anyio.to_thread.run_sync(check_criteria, job, turns, proposed)
        overall = overall_score(criteria)
        rescored = [c.name for c in criteria if c.verification == "rescored"]
        concerns = list(draft.concerns)
        if rescored:
            concerns.append(
                "Evidence check: scored offline because the model's scores could not be backed by "
                f"quotes from the transcript: {', '.join(rescored)}."
            )
        return Evaluation(
            criteria=criteria,
            overall_score=overall,
            strengths=draft.strengths,
            concerns=[*concerns, *proctoring_concerns(proctoring)],
            # From the scores, in code: never the model's word (an answer can try to talk it
            # into "strong_hire"), and the same thresholds as the offline scorer.
            recommendation=recommendation_for(overall),
            proctoring=proctoring_record(proctoring),
            rubric_version=rubric_version(job.rubric),
            rubric=rubric_record(job.rubric),
            prompt_version=self.prompt_version,
            model=self.model,
            interviewer="openai",
            scorer_version=CHECKS_VERSION,
        )

    async def _draft_evaluation(
        self,
        job: JobBrief,
        transcript: tuple[Turn, ...],
        messages: list[ChatCompletionMessageParam],
    ) -> tuple[EvaluationDraft | None, list[str]]:
        """Ask for an evaluation. Returns the draft (None when it does not fit the schema) and
        its problems (criteria missing, unknown or doubled; quotes not verbatim)."""
        try:
            completion = await self._retrying(
                "evaluation",
                lambda: self._client.chat.completions.parse(
                    model=self.model, messages=messages, response_format=EvaluationDraft
                ),
            )
        except pydantic.ValidationError as exc:
            return None, [f"the reply did not match the schema: {_summarize(exc)}"]
        except LengthFinishReasonError:
            return None, ["the reply was cut off at the length limit; keep rationales short"]
        except ContentFilterFinishReasonError as exc:
            raise InterviewerFailed(
                "the evaluation was blocked by a content filter", why="content_filter"
            ) from exc
        except InterviewerError:
            raise
        except Exception as exc:
            log.warning("interviewer.failed", what="evaluation", model=self.model, error=repr(exc))
            raise InterviewerFailed(f"the evaluation request failed: {describe(exc)}") from exc
        if not completion.choices:
            return None, ["the reply had no choices"]
        message = completion.choices[0].message
        if message.refusal:
            raise InterviewerFailed(
                f"the model refused to evaluate: {message.refusal[:200]}", why="refusal"
            )
        draft = message.parsed
        if draft is None:
            return None, ["the reply was empty"]
        problems = _rubric_problems(job, draft)
        scored = _criteria(job, draft)
        problems += [
            f'criterion "{name}": the quote "{e.quote}" is not in the answer to {e.question_id}'
            for name, e in unverified_evidence(scored, transcript)
        ]
        return draft, problems

    # Retries

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except APIError as exc:
                await self._after_failure(what, exc, attempt)

    async def _after_failure(self, what: str, exc: Exception, attempt: int) -> None:
        """Raise if ``exc`` is permanent or the attempts are spent; else wait before the next
        (server/openai_retry.py)."""
        await after_failure(
            exc,
            attempt,
            attempts=self.max_attempts,
            delay=self.retry_delay,
            call=f"the {what} request",
            failed=InterviewerFailed,
            unavailable=InterviewerUnavailable,
            log_as="interviewer.",
            transient=is_transient,
            what=what,
            model=self.model,
        )


def is_transient(exc: BaseException | None) -> bool:
    """Whether the same request may succeed if sent again: an empty question is worth asking
    again, and otherwise the shared rule (server/openai_retry.py)."""
    return isinstance(exc, _EmptyQuestion) or api_is_transient(exc)


def _summarize(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return shown + more


def _rubric_problems(job: JobBrief, draft: EvaluationDraft) -> list[str]:
    expected = {c.name.strip().casefold(): c.name for c in job.rubric}
    seen: dict[str, int] = {}
    problems = []
    for criterion in draft.criteria:
        key = criterion.name.strip().casefold()
        if key not in expected:
            problems.append(f'"{criterion.name}" is not a rubric criterion')
        seen[key] = seen.get(key, 0) + 1
    problems.extend(
        f'"{expected[k]}" was scored {n} times' for k, n in seen.items() if n > 1 and k in expected
    )
    problems.extend(f'"{name}" was not scored' for key, name in expected.items() if key not in seen)
    return problems


def _criteria(job: JobBrief, draft: EvaluationDraft) -> list[CriterionScore]:
    """The draft's scores in rubric order, under the rubric's names and weights."""
    by_name = {c.name.strip().casefold(): c for c in draft.criteria}
    scores = []
    for criterion in job.rubric:
        scored = by_name.get(criterion.name.strip().casefold())
        if scored is None:
            continue
        scores.append(
            CriterionScore(
                name=criterion.name,
                weight=criterion.weight,
                score=scored.score,
                rationale=scored.rationale,
                evidence=scored.evidence,
            )
        )
    return scores
