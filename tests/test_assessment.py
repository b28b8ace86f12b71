"""The simulated-candidate suite, in process: every persona of clients/assess, for every job,
in both banks of phrasings (the held-out one was never used to tune the scorer), interviewed by
the real session rules, question planning and offline scorer. The same interviews over sockets
are in tests/test_assessment_live.py; ``openhire assess`` prints the table."""

from __future__ import annotations

import dataclasses
import itertools
import re
from functools import cache

import pytest

from clients.assess.cli import run_in_process, table
from clients.assess.expectations import (
    evidence_problems,
    feedback_problems,
    ranking_problems,
)
from clients.assess.jobs import BACKEND, JOBS
from clients.assess.personas import PERSONAS
from clients.assess.run import Interviewed, interview_in_process, job_brief
from server.interviewer.base import ProctoringSummary, Turn
from server.interviewer.planning import salient_terms
from server.interviewer.scoring import score_interview

SEEDS = 5


@cache
def matrix() -> tuple[Interviewed, ...]:
    return tuple(run_in_process([j.key for j in JOBS], PERSONAS, ("tuning", "held_out"), SEEDS, 5))


def test_the_matrix_covers_every_job_persona_and_bank() -> None:
    results = matrix()
    assert {(r.job.key, r.persona, r.bank) for r in results} == {
        (j.key, p, b) for j in JOBS for p in PERSONAS for b in ("tuning", "held_out")
    }
    # Many phrasings: no two strong candidates of one job gave the same first answer.
    for job in JOBS:
        firsts = [
            next(iter(r.answers.values())).text
            for r in results
            if r.job is job and r.persona == "strong"
        ]
        assert len(set(firsts)) == len(firsts)
    print(table(results))


@pytest.mark.parametrize("bank", ["tuning", "held_out"])
def test_personas_rank_as_expected(bank: str) -> None:
    """strong > average > weak; terse >= average on technical depth; rambling < average;
    stuffer, canned, off-topic and injection <= weak + 0.5 and at most lean_no_hire; silent
    and "I don't know" at the floor, with no strength."""
    problems = ranking_problems([r for r in matrix() if r.bank == bank])
    assert problems == []


def test_each_criterion_cites_a_sentence_that_supports_it() -> None:
    problems = [p for r in matrix() for p in evidence_problems(r)]
    assert problems == []


def test_strengths_and_concerns_quote_the_candidate_verbatim() -> None:
    results = matrix()
    assert [p for r in results for p in feedback_problems(r)] == []
    strong = [r for r in results if r.persona == "strong"]
    assert all(any('"' in s for s in r.evaluation["strengths"]) for r in strong)
    gaming = [r for r in results if r.persona in ("stuffer", "canned", "off_topic", "injection")]
    assert all(any('"' in c for c in r.evaluation["concerns"]) for r in gaming)


def test_identical_transcripts_score_identically() -> None:
    for persona in PERSONAS:
        one = interview_in_process(BACKEND, persona, "tuning", 3)
        two = interview_in_process(BACKEND, persona, "tuning", 3)
        assert one.evaluation == two.evaluation


ONE_FIGURE = (
    "Python is my main language and the team relies on my services for billing. The slowest "
    "endpoint now answers in 90 ms.",
    "PostgreSQL holds our orders and I keep the indexes healthy with the team. A vacuum job runs "
    "every 6 hours.",
    "Kubernetes runs our services and I maintain the deployment manifests for the team. A "
    "rollout takes about 4 minutes.",
    "Incidents happen and I stay calm, find the cause and write the review with the team. The "
    "last outage lasted 20 minutes.",
    "Schemas evolve with the product and I plan migrations carefully with the team. The biggest "
    "table has 80 million rows.",
)


def test_scores_are_smooth_one_lost_digit_moves_little() -> None:
    """The old scorer's cliff: one lost digit moved a candidate from lean_hire to
    lean_no_hire. Now every single-digit deletion moves the overall score by at most 0.15."""
    brief = job_brief(BACKEND, 5, 1)
    clean = ProctoringSummary({}, 0.0, 0.0, True)
    cases = [interview_in_process(BACKEND, p, "tuning", 1).turns() for p in PERSONAS[:3]]
    # One figure per answer, no other sign of an example: each digit is its answer's only one
    # (the old scorer moved 0.25 when one went; the candidate changed recommendation).
    asked = list(interview_in_process(BACKEND, "average", "tuning", 0).questions.items())
    cases.append(
        tuple(
            Turn(qid, "main", n, question, answer, "answered", "interviewer")
            for n, ((qid, question), answer) in enumerate(zip(asked, ONE_FIGURE, strict=False), 1)
        )
    )
    worst = 0.0
    for turns in cases:
        base = score_interview(brief, turns, clean).overall_score
        for i, turn in enumerate(turns):
            text = turn.answer or ""
            for m in re.finditer(r"\d", text):
                changed = text[: m.start()] + text[m.end() :]
                edited = (*turns[:i], dataclasses.replace(turn, answer=changed), *turns[i + 1 :])
                moved = abs(score_interview(brief, edited, clean).overall_score - base)
                worst = max(worst, moved)
    print(f"worst move: {worst:.2f}")
    assert worst <= 0.15, worst


def test_quotes_stay_verbatim_in_every_interview() -> None:
    for r in matrix():
        for criterion in r.evaluation["criteria"]:
            for evidence in criterion["evidence"]:
                assert evidence["quote"] in r.answers[evidence["question_id"]].text


def test_follow_ups_quote_whole_words_the_candidate_used() -> None:
    checked = 0
    for r in matrix():
        ids = list(r.questions)
        for before, qid in itertools.pairwise(ids):
            quoted = re.search(r'"([^"]+)"', r.questions[qid])
            if not quoted or "job description" in r.questions[qid] or before not in r.answers:
                continue
            term = quoted.group(1)
            pattern = rf"(?<![\w'+#./-]){re.escape(term)}(?![\w'+#/-]|\.\w)"
            assert re.search(pattern, r.answers[before].text), (term, r.answers[before].text)
            checked += 1
    assert checked > 100


def test_a_follow_up_never_quotes_a_piece_of_a_word() -> None:
    answer = "We grew to 30M users, with p95 under 120ms on Postgres and node.js workers."
    terms = salient_terms(answer, ["PostgreSQL"])
    assert terms[0] == "Postgres"  # the required skill, under the name the candidate used
    for term in terms:
        assert re.search(rf"(?<![\w'+#./-]){re.escape(term)}(?![\w'+#/-]|\.\w)", answer), term
    assert "M" not in terms and "ms" not in terms and "js" not in terms


def test_proctoring_is_no_input_to_any_score() -> None:
    """The same transcript under any proctoring summary: the same scores, evidence, strengths
    and concerns about the answers; only the summary and its stated facts differ."""
    brief = job_brief(BACKEND, 5, 1)
    calm = ProctoringSummary({}, 0.0, 0.0, True)
    restless = ProctoringSummary(
        {"tab_hidden": 9, "window_blur": 4, "paste": 7, "fullscreen_exit": 3}, 300.0, 900.0, False
    )
    for persona in PERSONAS:
        turns = interview_in_process(BACKEND, persona, "held_out", 2).turns()
        one = score_interview(brief, turns, calm)
        two = score_interview(brief, turns, restless)
        assert one.criteria == two.criteria and one.overall_score == two.overall_score
        assert one.strengths == two.strengths and one.recommendation == two.recommendation
        assert [c for c in two.concerns if not c.startswith("Proctoring:")] == one.concerns
        assert two.proctoring["counts"]["paste"] == 7
