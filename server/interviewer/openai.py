"""The OpenAI-backed interviewer: streamed questions, structured evaluations, careful retries.

It speaks Chat Completions, the widest-supported surface across OpenAI-compatible servers
(``OPENAI_BASE_URL``): streaming for questions, structured output (a strict JSON schema through
``chat.completions.parse``) for the evaluation.

Failures are classified, and only transient ones are retried, here rather than in the client
(``max_retries=0``) so one policy covers both the request and the stream:

- transient: connection errors, timeouts, 408, 409, 429 (except an exhausted quota), 5xx, an
  error event in the stream. Retried with exponential backoff and jitter (honouring
  ``Retry-After``) up to ``max_attempts``, then InterviewerUnavailable.
- permanent: 400, 401, 403, 404, 422, an exhausted quota, a refusal. InterviewerFailed at once.
- invalid structured output: the model is asked once more with the problems listed, then
  InterviewerFailed. Quotes that are not verbatim get the same one extra chance, then are dropped.

A question stream that breaks after chunks were yielded raises InterviewerUnavailable: the
candidate has already seen part of a question, so starting over silently would garble it.

The recruiter's custom questions are asked word for word, without a model call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TypeVar

import httpx2
import pydantic
import structlog
from openai import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    AsyncOpenAI,
    ContentFilterFinishReasonError,
    LengthFinishReasonError,
)
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, Field

from server.config import Settings
from server.errors import InterviewerError, InterviewerFailed, InterviewerUnavailable
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
from server.interviewer.evaluation import (
    overall_score,
    proctoring_concerns,
    proctoring_record,
    rubric_version,
    unverified_evidence,
    verify_evaluation,
)
from server.interviewer.prompts import (
    PROMPT_VERSION,
    correction_message,
    evaluation_messages,
    question_messages,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

_PERMANENT_429_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


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


class _EmptyQuestion(Exception):
    """The stream ended without a single character of question."""


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
        self.retry_base_delay_s = retry_base_delay_s
        self.retry_max_delay_s = retry_max_delay_s
        self.words_per_chunk = words_per_chunk
        self._random = random.Random()
        # Retries are ours (see the module docstring), so the client's own are off.
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            http_client=http_client,
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
            try:
                stream = await self._client.chat.completions.create(
                    model=self.model, messages=messages, stream=True
                )
                async with stream:
                    async for event in stream:
                        if not event.choices:
                            continue
                        text = event.choices[0].delta.content
                        if not started and text:
                            text = text.lstrip()
                        if text:
                            started = True
                            yield text
                if not started:
                    raise _EmptyQuestion
                return
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
            # One more chance, with the problems spelled out; after that, invalid output fails
            # and quotes that are still not verbatim are dropped.
            log.info("interviewer.evaluation_reasked", model=self.model, problems=len(problems))
            first = draft
            if first is not None:
                messages.append({"role": "assistant", "content": first.model_dump_json()})
            messages.append(correction_message(problems))
            draft, problems = await self._draft_evaluation(job, turns, messages)
            # A valid first draft whose quotes were off beats an invalid second one.
            draft = draft or first
            if draft is None:
                raise InterviewerFailed(
                    "the model's evaluation was invalid twice: " + "; ".join(problems)
                )
        assert draft is not None
        criteria = _criteria(job, draft)
        evaluation = Evaluation(
            criteria=criteria,
            overall_score=overall_score(criteria),
            strengths=draft.strengths,
            concerns=[*draft.concerns, *proctoring_concerns(proctoring)],
            recommendation=draft.recommendation,
            proctoring=proctoring_record(proctoring),
            rubric_version=rubric_version(job.rubric),
            prompt_version=self.prompt_version,
            model=self.model,
            interviewer="openai",
        )
        return verify_evaluation(evaluation, turns)

    async def _draft_evaluation(
        self,
        job: JobBrief,
        transcript: tuple[Turn, ...],
        messages: list[ChatCompletionMessageParam],
    ) -> tuple[EvaluationDraft | None, list[str]]:
        """Ask for an evaluation. Returns the draft (None when unusable) and its problems."""
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
            raise InterviewerFailed("the evaluation was blocked by a content filter") from exc
        except InterviewerError:
            raise
        except Exception as exc:
            log.warning("interviewer.failed", what="evaluation", model=self.model, error=repr(exc))
            raise InterviewerFailed(f"the evaluation request failed: {_describe(exc)}") from exc
        if not completion.choices:
            return None, ["the reply had no choices"]
        message = completion.choices[0].message
        if message.refusal:
            raise InterviewerFailed(f"the model refused to evaluate: {message.refusal[:200]}")
        draft = message.parsed
        if draft is None:
            return None, ["the reply was empty"]
        problems = _rubric_problems(job, draft)
        if problems:
            return None, problems
        scored = _criteria(job, draft)
        problems = [
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
        """Raise if ``exc`` is permanent or the attempts are spent; else wait before the next."""
        if not is_transient(exc):
            log.warning("interviewer.failed", what=what, model=self.model, error=repr(exc))
            raise InterviewerFailed(f"the {what} request failed: {_describe(exc)}") from exc
        if attempt >= self.max_attempts:
            log.warning(
                "interviewer.unavailable",
                what=what,
                model=self.model,
                attempts=attempt,
                error=repr(exc),
            )
            raise InterviewerUnavailable(
                f"the {what} request failed {attempt} times: {_describe(exc)}"
            ) from exc
        delay = self.retry_delay(attempt, exc)
        log.info(
            "interviewer.retry",
            what=what,
            attempt=attempt,
            delay_s=round(delay, 3),
            error=repr(exc),
        )
        await asyncio.sleep(delay)

    def retry_delay(self, attempt: int, exc: Exception | None = None) -> float:
        """Exponential backoff with jitter (half to all of the step), at least Retry-After."""
        step = min(self.retry_max_delay_s, self.retry_base_delay_s * 2.0 ** (attempt - 1))
        delay = step * (0.5 + self._random.random() / 2)
        if isinstance(exc, APIStatusError):
            retry_after = _retry_after(exc)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.retry_max_delay_s))
        return delay


def is_transient(exc: BaseException) -> bool:
    """Whether the same request may succeed if sent again."""
    if isinstance(exc, _EmptyQuestion | APIConnectionError):  # timeouts included
        return True
    if isinstance(exc, APIStatusError):
        if exc.status_code == 429:
            return exc.code not in _PERMANENT_429_CODES
        return exc.status_code in (408, 409) or exc.status_code >= 500
    if isinstance(exc, APIResponseValidationError):
        return False
    # Any other APIError is an error event inside a stream: the server's trouble, not ours.
    # Anything else is unexpected (a malformed reply, a bug): not worth repeating.
    return isinstance(exc, APIError)


def _retry_after(exc: APIStatusError) -> float | None:
    raw = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: rare from these APIs, and the backoff still applies


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"[:300]
    if isinstance(exc, _EmptyQuestion):
        return "the model returned an empty question"
    return (str(exc) or type(exc).__name__)[:300]


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
