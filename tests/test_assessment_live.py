"""The simulated candidates over the real socket protocol, against a real server and database:
whole interviews through the server's own interviewer, read back as the recruiter reads them.

A representative subset of tests/test_assessment.py's matrix (two draws of every persona), the
fairness checks (proctoring is no input to any score; extra time is applied and scored the same
way), who reads evaluations, evaluation versions and re-scoring, and the OpenAI interviewer
under the same personas through tests/fake_openai.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from clients.assess.expectations import evidence_problems, feedback_problems, ranking_problems
from clients.assess.jobs import BACKEND, SALES, SUPPORT, JobSpec
from clients.assess.personas import PERSONAS
from clients.assess.run import Interviewed, interview_in_process, interview_over_sockets
from server.interviewer.evaluation import recommendation_for
from tests.conftest import DatabaseBackend, ServerProcess, running_server
from tests.fake_openai import FakeOpenAI, Reply, Seen, serve_fake_openai
from tests.live_helpers import _signup, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTIONS = 5


@pytest.fixture
async def recruiter(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    client = await _signup(server.url, "recruiter")
    yield client
    await client.aclose()


async def interview(
    server: ServerProcess,
    recruiter: httpx.AsyncClient,
    job: JobSpec,
    persona: str,
    bank: Any = "tuning",
    seed: int = 0,
    **options: Any,
) -> tuple[str, Interviewed, httpx.AsyncClient]:
    candidate = await _signup(server.url, "candidate")
    interview_id, result = await interview_over_sockets(
        recruiter, candidate, job, persona, bank, seed, question_count=QUESTIONS, **options
    )
    return interview_id, result, candidate


def scores(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Everything an evaluation says about the candidate's answers (not the proctoring, nor
    where in the log the quoted answers are: ``answer_offset`` and ``start_s``)."""
    placed = ("answer_offset", "start_s")
    criteria = [
        {**c, "evidence": [{k: v for k, v in e.items() if k not in placed} for e in c["evidence"]]}
        for c in evaluation["criteria"]
    ]
    return {
        "criteria": criteria,
        "overall_score": evaluation["overall_score"],
        "recommendation": evaluation["recommendation"],
        "strengths": evaluation["strengths"],
        "concerns": [c for c in evaluation["concerns"] if not c.startswith("Proctoring:")],
    }


@pytest.mark.slow
@pytest.mark.parametrize(("job", "bank", "seed"), [(BACKEND, "tuning", 0), (SALES, "held_out", 2)])
async def test_every_persona_over_sockets_ranks_and_quotes_as_expected(
    server: ServerProcess, recruiter: httpx.AsyncClient, job: JobSpec, bank: Any, seed: int
) -> None:
    results = []
    for persona in PERSONAS:
        _, result, candidate = await interview(server, recruiter, job, persona, bank, seed)
        await candidate.aclose()
        results.append(result)
        # The server's interviewer asked the same questions and scored the same way as the
        # in-process run of tests/test_assessment.py: the suite there speaks for this path.
        local = interview_in_process(job, persona, bank, seed, question_count=QUESTIONS)
        assert result.questions == local.questions, persona
        assert scores(result.evaluation) == scores(local.evaluation), persona
    assert ranking_problems(results) == []
    assert [p for r in results for p in evidence_problems(r) + feedback_problems(r)] == []


async def test_proctoring_signals_change_no_score(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    """Same answers, one candidate leaving the window, pasting and leaving full screen before
    every answer: the same scores, strengths and concerns; the proctoring summary beside them
    is the only difference."""
    _, calm, c1 = await interview(server, recruiter, SUPPORT, "strong", "tuning", 3)
    signals = ("tab_hidden", "tab_visible", "paste", "window_blur", "window_focus")
    _, watched, c2 = await interview(
        server, recruiter, SUPPORT, "strong", "tuning", 3, proctoring=signals
    )
    await c1.aclose()
    await c2.aclose()
    assert calm.answers.keys() == watched.answers.keys()
    assert scores(watched.evaluation) == scores(calm.evaluation)
    assert watched.evaluation["proctoring"]["counts"]["paste"] == len(watched.questions)
    assert calm.evaluation["proctoring"]["counts"] == {}
    assert any(c.startswith("Proctoring:") for c in watched.evaluation["concerns"])
    assert not any(c.startswith("Proctoring:") for c in calm.evaluation["concerns"])


async def test_extra_time_is_applied_and_scored_the_same_way(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    plain_id, plain, c1 = await interview(server, recruiter, BACKEND, "average", "tuning", 4)
    extra_id, extra, c2 = await interview(
        server, recruiter, BACKEND, "average", "tuning", 4, extra_time_percent=50
    )
    await c1.aclose()
    await c2.aclose()
    limits = {}
    for interview_id in (plain_id, extra_id):
        events = await stored_events(server, interview_id)
        limits[interview_id] = {
            e["data"]["time_limit_s"] for e in events if e["kind"] == "question"
        }
    # The job allows 300 s an answer; half as much again for the candidate who needs it.
    assert limits == {plain_id: {300}, extra_id: {450}}
    shown = await recruiter.get(f"/interviews/{extra_id}")
    assert shown.json()["extra_time_percent"] == 50
    assert scores(extra.evaluation) == scores(plain.evaluation)


async def test_extra_time_out_of_range_is_refused(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    candidate = await _signup(server.url, "candidate")
    job = await recruiter.post("/jobs", json=BACKEND.payload())
    application = await candidate.post(
        f"/jobs/{job.json()['id']}/applications", files={"cover_letter": (None, "Hi")}
    )
    for bad in (-1, 201, "lots"):
        resp = await recruiter.post(
            f"/applications/{application.json()['id']}/interviews",
            json={"extra_time_percent": bad},
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "validation_failed"
    listed = await recruiter.get("/interviews", params={"application_id": application.json()["id"]})
    assert listed.json()["items"] == []
    await candidate.aclose()


async def test_the_candidate_reads_no_evaluation(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    interview_id, result, candidate = await interview(server, recruiter, BACKEND, "strong")
    try:
        assert result.evaluation["criteria"]  # the recruiter's view has it
        own = await candidate.get(f"/interviews/{interview_id}")
        assert own.status_code == 200 and own.json()["state"] == "completed"
        assert own.json()["evaluation"] is None
        listed = await candidate.get("/interviews")
        assert all(i["evaluation"] is None for i in listed.json()["items"])
        log = await candidate.get(f"/interviews/{interview_id}/events", params={"limit": 1000})
        kinds = {e["kind"] for e in log.json()["items"]}
        assert "answer" in kinds and "evaluation" not in kinds
        everything = await recruiter.get(
            f"/interviews/{interview_id}/events", params={"limit": 1000}
        )
        assert "evaluation" in {e["kind"] for e in everything.json()["items"]}
        for path in ("evaluations", "evaluations/1"):
            refused = await candidate.get(f"/interviews/{interview_id}/{path}")
            assert refused.status_code == 403, refused.text
        refused = await candidate.post(f"/interviews/{interview_id}/evaluations", json={})
        assert refused.status_code == 403
    finally:
        await candidate.aclose()


async def test_rescoring_after_a_rubric_change_keeps_every_version(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    interview_id, result, candidate = await interview(server, recruiter, BACKEND, "strong")
    await candidate.aclose()
    versions = (await recruiter.get(f"/interviews/{interview_id}/evaluations")).json()["items"]
    assert len(versions) == 1
    [first] = versions
    assert first["version"] == 1 and first["reason"] == "interview_completed"
    assert first["created_by"] is None
    assert first["evaluation"] == result.evaluation
    assert first["scorer_version"] == result.evaluation["scorer_version"] != ""
    assert [c["name"] for c in first["evaluation"]["rubric"]] == [n for n, *_ in BACKEND.rubric]

    # The recruiter reweighs the rubric and adds a criterion, then re-scores.
    job_id = (await recruiter.get(f"/interviews/{interview_id}")).json()["job_id"]
    payload = BACKEND.payload(QUESTIONS)
    payload["interview_plan"]["rubric"] = [
        {"name": "Technical depth", "description": "Knows the tools.", "weight": 0.2},
        {"name": "Problem solving", "description": "Weighs options.", "weight": 0.2},
        {"name": "Ownership", "description": "Owns services in production.", "weight": 0.6},
    ]
    assert (await recruiter.put(f"/jobs/{job_id}", json=payload)).status_code == 200
    made = await recruiter.post(f"/interviews/{interview_id}/evaluations", json={})
    assert made.status_code == 201, made.text
    second = made.json()
    assert second["version"] == 2 and second["reason"] == "rescored"
    assert second["created_by"] == (await recruiter.get("/users/me")).json()["id"]
    assert second["rubric_version"] != first["rubric_version"]
    assert [c["name"] for c in second["evaluation"]["criteria"]] == [
        "Technical depth",
        "Problem solving",
        "Ownership",
    ]
    # A re-score places its quotes as the first scoring did: each names its answer's entry.
    events = (await recruiter.get(f"/interviews/{interview_id}/events")).json()["items"]
    answer_at = {e["data"]["question_id"]: e["offset"] for e in events if e["kind"] == "answer"}
    quotes = [e for c in second["evaluation"]["criteria"] for e in c["evidence"]]
    assert quotes and all(e["answer_offset"] == answer_at[e["question_id"]] for e in quotes)
    # The interview shows the latest; the first is kept as it was.
    current = (await recruiter.get(f"/interviews/{interview_id}")).json()["evaluation"]
    assert current == second["evaluation"]
    again = (await recruiter.get(f"/interviews/{interview_id}/evaluations/1")).json()
    assert again == first
    listed = (await recruiter.get(f"/interviews/{interview_id}/evaluations")).json()["items"]
    assert [v["version"] for v in listed] == [2, 1]
    # The same transcript and rubric give the same scores, whenever they are asked for.
    third = (await recruiter.post(f"/interviews/{interview_id}/evaluations", json={})).json()
    assert scores(third["evaluation"]) == scores(second["evaluation"])


async def test_rescoring_refuses_what_it_cannot_do(
    server: ServerProcess, recruiter: httpx.AsyncClient
) -> None:
    interview_id, _, candidate = await interview(server, recruiter, BACKEND, "weak")
    await candidate.aclose()
    base = f"/interviews/{interview_id}/evaluations"
    not_here = await recruiter.post(base, json={"interviewer": "openai"})
    assert not_here.status_code == 409
    assert not_here.json()["error"]["code"] == "interviewer_not_configured"
    no_model = await recruiter.post(base, json={"interviewer": "scripted", "model": "gpt-x"})
    assert no_model.status_code == 422
    for bad in ({"interviewer": "oracle"}, {"model": ""}, {"nonsense": 1}):
        assert (await recruiter.post(base, json=bad)).status_code == 422, bad
    assert (await recruiter.get(f"{base}/7")).status_code == 404
    assert (await recruiter.get(f"{base}/x")).status_code == 404
    other = await _signup(server.url, "recruiter")
    assert (await other.get(base)).status_code == 403
    assert (await other.post(base, json={})).status_code == 403
    await other.aclose()
    # Nothing of that was stored.
    assert len((await recruiter.get(base)).json()["items"]) == 1
    # An interview still to be taken has nothing to score.
    candidate = await _signup(server.url, "candidate")
    job = await recruiter.post("/jobs", json=BACKEND.payload())
    application = await candidate.post(
        f"/jobs/{job.json()['id']}/applications", files={"cover_letter": (None, "Hi")}
    )
    scheduled = await recruiter.post(
        f"/applications/{application.json()['id']}/interviews", json={}
    )
    early = await recruiter.post(f"/interviews/{scheduled.json()['id']}/evaluations", json={})
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "interview_not_completed"
    await candidate.aclose()


# The OpenAI interviewer under the same personas.

MODEL = "fake-model"
OTHER_MODEL = "fake-model-2"


def respond(seen: Seen) -> Reply:
    """The stand-in model: a question naming a required skill, or a fixed evaluation that
    quotes the transcript (the first sentence of each answer, verbatim), except for its second
    criterion, whose quote is invented; and it "obeys" by recommending strong_hire."""
    if seen.streamed:
        asked = sum(1 for r in seen.body["messages"] if r["role"] == "user")
        skill = BACKEND.required_skills[(len(seen.text) + asked) % 3]
        return Reply(chunks=["Tell me about ", f"your work with {skill}."])
    data = json.loads(seen.messages[1]["content"].split("\n\nEvaluate this interview.")[0])
    answered = [t for t in data["transcript"] if t["answer"]]
    criteria = []
    for n, criterion in enumerate(data["rubric"]):
        evidence = [
            {"question_id": t["question_id"], "quote": re.split(r"(?<=[.!?])\s", t["answer"])[0]}
            for t in answered[n : n + 1]
        ]
        if n == 1:
            evidence = [{"question_id": "q1", "quote": "I single-handedly saved the company."}]
        criteria.append(
            {"name": criterion["name"], "score": 4, "rationale": "Fixed.", "evidence": evidence}
        )
    draft = {
        "criteria": criteria,
        "strengths": ["Fixed strength."],
        "concerns": [],
        "recommendation": "strong_hire",
    }
    return Reply.structured(draft)


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def openai_server(
    fake_model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
) -> Iterator[ServerProcess]:
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("assess-openai") / "data",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=fake_model.base_url,
        OPENHIRE_MODEL=MODEL,
    ) as srv:
        yield srv


@pytest.mark.slow
@pytest.mark.parametrize("persona", ["strong", "injection"])
async def test_the_openai_interviewer_under_the_personas(
    openai_server: ServerProcess, fake_model: FakeOpenAI, persona: str
) -> None:
    fake_model.reset()
    fake_model.responder = respond
    recruiter = await _signup(openai_server.url, "recruiter")
    candidate = await _signup(openai_server.url, "candidate")
    try:
        interview_id, result = await interview_over_sockets(
            recruiter, candidate, BACKEND, persona, "tuning", 0, question_count=3
        )
        evaluation = result.evaluation
        # Every rubric criterion, in order; the one whose quote was invented is rescored
        # offline, never kept; every quote is verbatim; the recommendation is the scores'.
        assert [c["name"] for c in evaluation["criteria"]] == [n for n, *_ in BACKEND.rubric]
        assert [c["verification"] for c in evaluation["criteria"]] == [
            "verified",
            "rescored",
            "verified",
        ]
        for criterion in evaluation["criteria"]:
            for e in criterion["evidence"]:
                assert e["quote"] in result.answers[e["question_id"]].text
        assert evaluation["recommendation"] == recommendation_for(evaluation["overall_score"])
        assert evaluation["recommendation"] != "strong_hire" or evaluation["overall_score"] >= 4.5
        # The candidate's words reached the model only as data, never as instructions.
        # (asked twice: the invented quote gets one more chance before the check settles it)
        scoring = [s for s in fake_model.requests if not s.streamed]
        assert len(scoring) == 2
        system, user = scoring[0].messages
        for answer in result.answers.values():
            assert answer.text not in system["content"]
            assert json.dumps(answer.text, ensure_ascii=False) in user["content"]
        # Re-scored with another model: a new version, made by that model.
        made = await recruiter.post(
            f"/interviews/{interview_id}/evaluations", json={"model": OTHER_MODEL}
        )
        assert made.status_code == 201, made.text
        assert made.json()["model"] == OTHER_MODEL == fake_model.requests[-1].body["model"]
        assert made.json()["version"] == 2
        # One re-score of an interview at a time: a second one meanwhile is refused at once.
        fake_model.responder = lambda seen: dataclasses.replace(respond(seen), delay_s=1.0)
        both = await asyncio.gather(
            *(recruiter.post(f"/interviews/{interview_id}/evaluations", json={}) for _ in "ab")
        )
        assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
        refused = next(r for r in both if r.status_code == 409).json()["error"]
        assert refused["code"] == "rescore_in_progress"
        assert next(r for r in both if r.status_code == 201).json()["version"] == 3
        fake_model.check()
    finally:
        await recruiter.aclose()
        await candidate.aclose()


async def test_openhire_assess_plays_the_matrix_over_sockets(server: ServerProcess) -> None:
    """`openhire assess --server URL`: the same table, played against a running server."""
    from clients.assess.cli import run_over_sockets, table

    results = await run_over_sockets(server.url, ["support"], ["strong", "weak"], ["tuning"], 1, 3)
    assert [(r.job.key, r.persona) for r in results] == [("support", "strong"), ("support", "weak")]
    assert results[0].overall > results[1].overall
    assert "| strong | 1 |" in table(results)
