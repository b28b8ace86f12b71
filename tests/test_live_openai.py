"""Live interviews with the OpenAI interviewer, end to end over real sockets: a real server
subprocess whose real ``openai`` client talks over loopback to the fake OpenAI-compatible server
of tests/fake_openai.py, running in this process. The fake's replies are planned per test, in
the order the server asks: each question (streamed), then the evaluation (structured output)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from clients.interview_client import CandidateSession
from server.interviewer.base import Criterion
from server.interviewer.evaluation import rubric_version
from server.interviewer.prompts import PROMPT_VERSION
from tests.conftest import DatabaseBackend, ServerProcess, running_server
from tests.fake_openai import FakeOpenAI, Reply, serve_fake_openai
from tests.live_helpers import LONG_ANSWER, Interview, close_clients, new_interview, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

MODEL = "test-model"
API_KEY = "test-key"

QUESTION_1 = ["Tell me ", "about a ", "Kubernetes ", "upgrade ", "you ran."]
FOLLOW_UP = ["What was ", "the hardest ", "part of ", "that upgrade?"]
QUESTION_2 = ["How do you ", "make a ", "release ", "pipeline faster?"]

# Thin (under 25 words): it gets a follow-up. The other two do not.
ANSWER_1 = "I upgraded our Kubernetes clusters from 1.24 to 1.28 last spring, without downtime."
ANSWER_2 = (
    "The ingress controller was the hardest part: its annotations changed between versions, so "
    "I wrote a Python script that rewrote every manifest and diffed the rendered output before "
    "anything was applied to production."
)
ANSWER_3 = LONG_ANSWER

DRAFT: dict[str, Any] = {
    "criteria": [
        {
            "name": "Technical depth",
            "score": 4,
            "rationale": "A real upgrade, with versions, and tooling written for it.",
            "evidence": [
                {"question_id": "q1", "quote": "from 1.24 to 1.28 last spring, without downtime"},
                {"question_id": "q2", "quote": "I wrote a Python script"},
            ],
        },
        {
            "name": "Problem solving",
            "score": 4,
            "rationale": "Checked the rendered output before applying it.",
            "evidence": [
                {
                    "question_id": "q2",
                    "quote": "diffed the rendered output before anything was applied to production",
                }
            ],
        },
        {
            "name": "Communication",
            "score": 3,
            "rationale": "Concrete, with numbers.",
            "evidence": [
                {"question_id": "q3", "quote": "cut release time from two hours to ten minutes"}
            ],
        },
    ],
    "strengths": ["Upgraded production clusters without downtime."],
    "concerns": ["Said little about testing the upgrade."],
    "recommendation": "hire",
}


def paraphrased(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft with one quote that is not what the candidate said."""
    changed = copy.deepcopy(draft)
    changed["criteria"][1]["evidence"][0]["quote"] = "diffed the output before applying anything"
    return changed


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def openai_server(
    fake_server: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
) -> Iterator[ServerProcess]:
    """One server for the module (as make_server would start it), configured for OpenAI."""
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("openai") / "data",
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=fake_server.base_url,
        OPENHIRE_MODEL=MODEL,
    ) as srv:
        yield srv


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_server.reset()
    yield fake_server
    fake_server.check()


async def read_question(
    session: CandidateSession,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The question.delta messages then the question.done of the next question; anything
    else (an error, the end) fails the test."""
    deltas: list[dict[str, Any]] = []
    while True:
        message = await session.receive(15)
        if message["type"] == "question.delta":
            deltas.append(message)
        elif message["type"] == "question.done":
            assert {d["question_id"] for d in deltas} <= {message["question_id"]}
            return deltas, message
        elif message["type"] != "time.warning":
            raise AssertionError(f"expected a question, got {message}")


async def receive_the_end(session: CandidateSession) -> dict[str, Any]:
    """interview.ended (nothing else may come before it), then the socket closes with 1000."""
    ended = await session.receive(15)
    assert ended["type"] == "interview.ended", ended
    closed = await session.receive(20)
    assert closed == {"type": "_closed", "code": 1000}
    return ended


async def answers_by_question(server: ServerProcess, iv: Interview) -> dict[str, str]:
    return {
        e["data"]["question_id"]: e["data"]["text"]
        for e in await stored_events(server, iv.id)
        if e["kind"] == "answer"
    }


async def test_a_whole_interview_with_the_openai_interviewer(
    openai_server: ServerProcess, fake: FakeOpenAI
) -> None:
    iv = await new_interview(openai_server)  # two main questions, a follow-up to thin answers
    fake.plan(
        Reply(chunks=QUESTION_1),
        Reply(chunks=FOLLOW_UP),
        Reply(chunks=QUESTION_2),
        # The first evaluation quotes the candidate loosely: it is asked again, and corrected.
        Reply.structured(paraphrased(DRAFT)),
        Reply.structured(DRAFT),
    )
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            asked = []
            for chunks, answer in [
                (QUESTION_1, ANSWER_1),
                (FOLLOW_UP, ANSWER_2),
                (QUESTION_2, ANSWER_3),
            ]:
                deltas, done = await read_question(session)
                # Streamed as the model wrote it, its pieces coalesced into at most one frame
                # per 50 ms (docs/protocol.md), adding up to the whole question.
                assert 1 <= len(deltas) <= len(chunks)
                assert "".join(d["text"] for d in deltas) == done["text"] == "".join(chunks)
                assert done["source"] == "interviewer"
                asked.append((done["question_id"], done["kind"], done["index"]))
                ack = await session.answer(done["question_id"], answer)
                assert ack["type"] == "ack", ack
            ended = await receive_the_end(session)
            assert ended["reason"] == "all_questions_answered"
        assert asked == [("q1", "main", 1), ("q2", "follow_up", 1), ("q3", "main", 2)]

        # What the server asked the model.
        assert len(fake.requests) == 5
        for seen in fake.requests:
            assert seen.body["model"] == MODEL
            assert seen.headers["authorization"] == f"Bearer {API_KEY}"
        assert [seen.streamed for seen in fake.requests] == [True, True, True, False, False]
        first, follow_up, second, evaluation, again = fake.requests
        assert ANSWER_1 not in first.text
        # The follow-up is written from what the candidate just said.
        assert ANSWER_1 in follow_up.messages[-1]["content"]
        assert "".join(QUESTION_1) in follow_up.text
        assert ANSWER_1 in second.text and ANSWER_2 in second.text
        assert evaluation.body["response_format"]["type"] == "json_schema"
        for answer in (ANSWER_1, ANSWER_2, ANSWER_3):
            assert answer in evaluation.text
        assert "diffed the output before applying anything" in again.messages[-1]["content"]

        # The evaluation stored on the interview is the model's, checked and completed.
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert (got["state"], got["state_reason"]) == ("completed", "all_questions_answered")
        stored = got["evaluation"]
        job = (await iv.recruiter.get(f"/jobs/{iv.job_id}")).json()
        rubric = [
            Criterion(c["name"], c["description"], c["weight"])
            for c in job["interview_plan"]["rubric"]
        ]
        assert [(c["name"], c["weight"], c["score"]) for c in stored["criteria"]] == [
            ("Technical depth", 0.4, 4),
            ("Problem solving", 0.35, 4),
            ("Communication", 0.25, 3),
        ]
        assert [(c.name, c.weight) for c in rubric] == [
            (c["name"], c["weight"]) for c in stored["criteria"]
        ]
        assert stored["overall_score"] == 3.75  # 0.4 * 4 + 0.35 * 4 + 0.25 * 3
        answers = await answers_by_question(openai_server, iv)
        assert answers == {"q1": ANSWER_1, "q2": ANSWER_2, "q3": ANSWER_3}
        quotes = [(e["question_id"], e["quote"]) for c in stored["criteria"] for e in c["evidence"]]
        expected = [
            (e["question_id"], e["quote"]) for c in DRAFT["criteria"] for e in c["evidence"]
        ]
        assert quotes == expected
        for question_id, quote in quotes:
            assert quote in answers[question_id]
        assert stored["strengths"] == DRAFT["strengths"]
        assert stored["concerns"] == DRAFT["concerns"]
        assert stored["recommendation"] == "hire"
        assert stored["proctoring"]["counts"] == {}
        assert stored["interviewer"] == "openai"
        assert stored["model"] == MODEL
        assert stored["prompt_version"] == PROMPT_VERSION
        assert stored["rubric_version"] == rubric_version(rubric)

        application = (await iv.recruiter.get(f"/applications/{iv.application_id}")).json()
        assert application["status"] == "reviewing"
        events = await stored_events(openai_server, iv.id)
        assert [e["data"] for e in events if e["kind"] == "evaluation"] == [stored]
        assert [e["data"]["text"] for e in events if e["kind"] == "question"] == [
            "".join(QUESTION_1),
            "".join(FOLLOW_UP),
            "".join(QUESTION_2),
        ]
    finally:
        await close_clients(iv)


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        ([Reply(status=401, code="invalid_api_key")], "the AI interviewer refused the request"),
        # A transient failure that does not go away: retried (4 attempts by default), then
        # the same clear end, not a hung session.
        ([Reply(status=503)] * 4, "the AI interviewer did not respond"),
    ],
    ids=["permanent", "transient-exhausted"],
)
async def test_an_interviewer_failure_ends_the_turn_with_a_clear_error_and_ends_the_interview(
    openai_server: ServerProcess, fake: FakeOpenAI, failure: list[Reply], said: str
) -> None:
    iv = await new_interview(openai_server, follow_ups_per_question=0)
    fake.plan(
        Reply(chunks=QUESTION_1),
        *failure,  # the second question
        Reply(status=401, code="invalid_api_key"),  # the evaluation
    )
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            _, done = await read_question(session)
            assert (await session.answer(done["question_id"], ANSWER_1))["type"] == "ack"
            error = await session.receive(15)
            assert error["type"] == "error", error
            assert error["code"] == "interviewer_failed"
            assert error["message"] == f"the interviewer failed: {said}"
            assert "client_id" not in error or error["client_id"] is None
            ended = await receive_the_end(session)
            assert ended["reason"] == "interviewer_failed"
        assert len(fake.requests) == 1 + len(failure) + 1

        # The recruiter's view: the candidate reads no evaluation (docs/security.md).
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert (got["state"], got["state_reason"]) == ("completed", "interviewer_failed")
        events = await stored_events(openai_server, iv.id)
        [logged] = [e["data"] for e in events if e["kind"] == "interviewer.error"]
        assert logged == {"question_id": "q2", "message": said}
        assert [e["data"]["question_id"] for e in events if e["kind"] == "question"] == ["q1"]
        # The evaluation failed too (the same bad key): recorded as such, not invented.
        assert "error" in got["evaluation"]
        assert events[-1]["kind"] == "state"
        assert events[-1]["data"] == {"state": "completed", "reason": "interviewer_failed"}
    finally:
        await close_clients(iv)


# What only the provider says: it may go to the server's log, never to the candidate.
REFUSAL = "I'm sorry, I can't help with that request (policy ref 7731)."
PROVIDER_ERROR = "Upstream overloaded: shard 17, request req_provider_8841"


@pytest.mark.parametrize(
    ("second", "shown", "said"),
    [
        (
            Reply(chunks=QUESTION_2, finish_reason="length"),
            QUESTION_2,
            "the AI interviewer's question was cut off before it was finished",
        ),
        (
            Reply(chunks=QUESTION_2[:2], finish_reason="content_filter"),
            QUESTION_2[:2],
            "the AI interviewer's question was stopped by a content filter",
        ),
        (
            Reply(refusal_chunks=[REFUSAL[:20], REFUSAL[20:]]),
            [],
            "the AI interviewer declined to write the next question",
        ),
        (
            Reply(chunks=QUESTION_2, error_after=2, error_message=PROVIDER_ERROR),
            QUESTION_2[:2],
            "the AI interviewer did not respond",
        ),
    ],
    ids=["cut-at-length", "content-filter", "refusal", "error-event-midway"],
)
async def test_a_question_the_model_did_not_finish_is_never_asked_as_if_whole(
    openai_server: ServerProcess,
    fake: FakeOpenAI,
    second: Reply,
    shown: list[str],
    said: str,
) -> None:
    iv = await new_interview(openai_server, follow_ups_per_question=0)
    fake.plan(
        Reply(chunks=QUESTION_1),
        second,  # sent once: none of these is worth asking again
        Reply(status=401, code="invalid_api_key"),  # the evaluation
    )
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            _, done = await read_question(session)
            assert (await session.answer(done["question_id"], ANSWER_1))["type"] == "ack"
            seen: list[dict[str, Any]] = []
            while (message := await session.receive(15))["type"] != "error":
                seen.append(message)
            # What streamed out before the stop, and no question.done: the part is not a question.
            assert all(m["type"] == "question.delta" for m in seen), seen
            assert "".join(m["text"] for m in seen) == "".join(shown)
            assert message["code"] == "interviewer_failed"
            # One plain sentence for what happened: nothing of the provider's, nothing else.
            assert message["message"] == f"the interviewer failed: {said}"
            ended = await receive_the_end(session)
            assert ended["reason"] == "interviewer_failed"
        assert len(fake.requests) == 3

        # The recruiter's view: the candidate reads no evaluation (docs/security.md).
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert (got["state"], got["state_reason"]) == ("completed", "interviewer_failed")
        events = await stored_events(openai_server, iv.id)
        assert [e["data"]["question_id"] for e in events if e["kind"] == "question"] == ["q1"]
        [logged] = [e["data"] for e in events if e["kind"] == "interviewer.error"]
        assert logged == {"question_id": "q2", "message": said}
        # The provider's words reach neither the candidate nor the interview's record.
        everything = str([message, seen, got, events])
        for provider_text in (REFUSAL[:20], REFUSAL[20:], PROVIDER_ERROR):
            assert provider_text not in everything
    finally:
        await close_clients(iv)


async def test_transient_failures_are_retried_and_the_candidate_just_sees_the_question(
    openai_server: ServerProcess, fake: FakeOpenAI
) -> None:
    iv = await new_interview(openai_server, question_count=1, follow_ups_per_question=0)
    draft = {
        **DRAFT,
        "criteria": [{**c, "evidence": []} for c in DRAFT["criteria"]],
    }
    fake.plan(
        Reply(status=500),
        # An error event before any text: nothing was shown, so the question is asked again.
        Reply(chunks=QUESTION_1, error_after=0, error_message=PROVIDER_ERROR),
        Reply(status=429, headers={"retry-after": "0"}),
        Reply(chunks=QUESTION_2),
        Reply(status=502),
        Reply.structured(draft),
    )
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            deltas, done = await read_question(session)  # no error before it
            assert "".join(d["text"] for d in deltas) == "".join(QUESTION_2)
            assert done["text"] == "".join(QUESTION_2)
            assert (done["question_id"], done["kind"], done["index"]) == ("q1", "main", 1)
            assert (await session.answer(done["question_id"], ANSWER_3))["type"] == "ack"
            ended = await receive_the_end(session)
            assert ended["reason"] == "all_questions_answered"
        # The same request, sent again until it went through.
        bodies = [seen.body for seen in fake.requests]
        assert len(bodies) == 6
        assert bodies[0] == bodies[1] == bodies[2] == bodies[3]
        assert bodies[4] == bodies[5]
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert (got["state"], got["state_reason"]) == ("completed", "all_questions_answered")
        assert got["evaluation"]["model"] == MODEL
        assert [c["score"] for c in got["evaluation"]["criteria"]] == [4, 4, 3]
        kinds = [e["kind"] for e in await stored_events(openai_server, iv.id)]
        assert "interviewer.error" not in kinds
    finally:
        await close_clients(iv)


async def test_model_output_the_database_cannot_store_is_cleaned_not_lost(
    openai_server: ServerProcess, fake: FakeOpenAI
) -> None:
    """A model may write NUL or an unpaired surrogate; PostgreSQL stores neither. The question
    and the evaluation are stored without them, instead of failing on every try."""
    iv = await new_interview(openai_server, question_count=1, follow_ups_per_question=0)
    draft = copy.deepcopy(DRAFT)
    for criterion in draft["criteria"]:
        criterion["evidence"] = [{"question_id": "q1", "quote": "cut release time"}]
    draft["strengths"] = ["Measured\u0000 the result."]
    fake.plan(
        Reply(chunks=["How do you\u0000 make ", "a release\ud800 faster?"]), Reply.structured(draft)
    )
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            _deltas, done = await read_question(session)
            assert done["text"] == "How do you make a release faster?"
            assert (await session.answer(done["question_id"], ANSWER_3))["type"] == "ack"
            await receive_the_end(session)
        got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
        assert got["state"] == "completed"
        assert got["evaluation"]["strengths"] == ["Measured the result."]
        questions = [
            e for e in await stored_events(openai_server, iv.id) if e["kind"] == "question"
        ]
        assert [q["data"]["text"] for q in questions] == ["How do you make a release faster?"]
    finally:
        await close_clients(iv)
