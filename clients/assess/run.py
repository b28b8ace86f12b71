"""Running simulated interviews: in process, or over the real socket protocol.

In process, a persona is interviewed by the real parts without a server: the session state
machine (``InterviewSession``, which decides when to follow up and when the interview ends),
the scripted interviewer's question planning, and its scorer. That is fast enough to run every
persona, job, bank and seed on each change. Over sockets, the same persona is interviewed by a
running server (any interviewer it is configured with) through ``CandidateSession``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from clients.assess.jobs import Bank, JobSpec
from clients.assess.personas import Answer, Candidate
from clients.interview_client import CandidateSession
from server.interviewer.base import Criterion, JobBrief, QuestionRequest, Turn
from server.interviewer.planning import next_question
from server.interviewer.scoring import score_interview
from server.protocol.messages import Answer as AnswerMessage
from server.protocol.messages import End, QuestionDone
from server.sessions.actions import Persist, RequestEvaluation, RequestQuestion, SendCandidate
from server.sessions.session import (
    InterviewSession,
    SessionConfig,
)


@dataclass
class Interviewed:
    """One finished simulated interview."""

    job: JobSpec
    persona: str
    bank: Bank
    seed: int
    evaluation: dict[str, Any]
    questions: dict[str, str] = field(default_factory=dict)  # question id -> question
    answers: dict[str, Answer] = field(default_factory=dict)  # question id -> answer

    def turns(self) -> tuple[Turn, ...]:
        """The answered main questions as the scorer takes them, in the order asked."""
        return tuple(
            Turn(qid, "main", n, q, self.answers[qid].text, "answered", "interviewer")
            for n, (qid, q) in enumerate(self.questions.items(), start=1)
            if qid in self.answers
        )

    @property
    def overall(self) -> float:
        return float(self.evaluation["overall_score"])

    def score(self, criterion: str) -> float:
        criteria = self.evaluation["criteria"]
        return float(next(c["score"] for c in criteria if c["name"] == criterion))

    def score_of_kind(self, kind: str) -> float | None:
        """The mean score of the rubric's criteria of one kind (as the job spec states it)."""
        scores = [self.score(n) for n, _, _, k in self.job.rubric if k == kind]
        return sum(scores) / len(scores) if scores else None


def job_brief(job: JobSpec, question_count: int, follow_ups: int) -> JobBrief:
    return JobBrief(
        title=job.title,
        description=job.description,
        required_skills=job.required_skills,
        custom_questions=(job.custom_question,),
        rubric=tuple(Criterion(n, d, w) for n, d, w, _ in job.rubric),
        question_count=question_count,
        follow_ups_per_question=follow_ups,
    )


def interview_in_process(
    job: JobSpec,
    persona: str,
    bank: Bank,
    seed: int,
    *,
    question_count: int = 4,
    follow_ups: int = 1,
) -> Interviewed:
    brief = job_brief(job, question_count, follow_ups)
    config = SessionConfig(
        question_count=question_count,
        follow_ups_per_question=follow_ups,
        answer_time_limit_s=300,
        total_time_limit_s=3600,
    )
    session = InterviewSession(interview_id=str(uuid.uuid4()), config=config)
    candidate = Candidate(job, persona, bank, seed)
    result = Interviewed(job, persona, bank, seed, evaluation={})
    # Time stands still: nothing here depends on it, and no timer ever fires.
    now = 1_700_000_000.0
    actions = session.connect_candidate(now)
    messages = 0
    while actions:
        action = actions.pop(0)
        if isinstance(action, Persist):
            actions += session.committed(action.entry.offset)
        elif isinstance(action, RequestQuestion):
            request = QuestionRequest(brief, session.transcript(), action.kind, action.index)
            actions += session.question_ready(action.question_id, next_question(request), now)
        elif isinstance(action, SendCandidate) and isinstance(action.message, QuestionDone):
            done = action.message
            answer = candidate.answer(done.text)
            messages += 1
            result.questions[done.question_id] = done.text
            if answer is None:
                actions += session.receive_candidate(End(type="end", client_id=f"c{messages}"), now)
            else:
                result.answers[done.question_id] = answer
                message = AnswerMessage(
                    type="answer",
                    client_id=f"c{messages}",
                    question_id=done.question_id,
                    text=answer.text,
                )
                actions += session.receive_candidate(message, now)
        elif isinstance(action, RequestEvaluation):
            proctoring = session.proctoring_summary(now)
            evaluation = score_interview(brief, session.transcript(), proctoring)
            result.evaluation = evaluation.model_dump(mode="json")
            break
    return result


async def interview_over_sockets(
    recruiter: httpx.AsyncClient,
    candidate_http: httpx.AsyncClient,
    job: JobSpec,
    persona: str,
    bank: Bank,
    seed: int,
    *,
    question_count: int = 4,
    follow_ups: int = 1,
    extra_time_percent: int | None = None,
    proctoring: tuple[str, ...] = (),
) -> tuple[str, Interviewed]:
    """A whole interview over the public API and the candidate socket; returns the interview
    id and the result, with the evaluation as the recruiter reads it over HTTP.

    ``proctoring`` signals are sent before each answer (the fairness tests use them).
    """
    created = await recruiter.post("/jobs", json=job.payload(question_count, follow_ups))
    created.raise_for_status()
    application = await candidate_http.post(
        f"/jobs/{created.json()['id']}/applications", files={"cover_letter": (None, "Hello")}
    )
    application.raise_for_status()
    body: dict[str, Any] = {}
    if extra_time_percent is not None:
        body["extra_time_percent"] = extra_time_percent
    scheduled = await recruiter.post(
        f"/applications/{application.json()['id']}/interviews", json=body
    )
    scheduled.raise_for_status()
    interview_id = scheduled.json()["id"]
    candidate = Candidate(job, persona, bank, seed)
    result = Interviewed(job, persona, bank, seed, evaluation={})
    async with await CandidateSession.open(candidate_http, interview_id) as session:
        while True:
            message = await session.receive(30)
            if message["type"] == "interview.ended":
                break
            if message["type"] != "question.done":
                continue
            answer = candidate.answer(message["text"])
            result.questions[message["question_id"]] = message["text"]
            for signal in proctoring:
                ack = await session.proctor(signal)
                assert ack["type"] == "ack", ack
            if answer is None:
                await session.end()
                continue
            result.answers[message["question_id"]] = answer
            ack = await session.answer(message["question_id"], answer.text)
            assert ack["type"] == "ack", ack
    read = await recruiter.get(f"/interviews/{interview_id}")
    read.raise_for_status()
    result.evaluation = read.json()["evaluation"]
    return interview_id, result
