"""`openhire assess`: interview every simulated candidate and print how they were scored.

By default in process (the real session rules, question planning and offline scorer; a few
seconds), over every job, persona, bank and seed. ``--server URL`` plays the same interviews
over the socket protocol against a running server instead (signing up a recruiter and a
candidate per job), whatever interviewer it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence

import httpx

from clients.assess.expectations import evidence_problems, feedback_problems, ranking_problems
from clients.assess.jobs import JOBS, Bank
from clients.assess.personas import PERSONAS
from clients.assess.run import Interviewed, interview_in_process, interview_over_sockets

BANKS: tuple[Bank, ...] = ("tuning", "held_out")
SHORT = {
    "strong_hire": "SH",
    "hire": "H",
    "lean_hire": "LH",
    "lean_no_hire": "LNH",
    "no_hire": "NH",
}


def run_in_process(
    jobs: Sequence[str],
    personas: Sequence[str],
    banks: Sequence[Bank],
    seeds: int,
    question_count: int,
) -> list[Interviewed]:
    return [
        interview_in_process(job, persona, bank, seed, question_count=question_count)
        for job in JOBS
        if job.key in jobs
        for bank in banks
        for seed in range(seeds)
        for persona in personas
    ]


async def run_over_sockets(
    url: str,
    jobs: Sequence[str],
    personas: Sequence[str],
    banks: Sequence[Bank],
    seeds: int,
    question_count: int,
) -> list[Interviewed]:
    async def signup(client: httpx.AsyncClient, role: str) -> str:
        resp = await client.post(
            "/auth/signup",
            json={
                "email": f"assess-{role}-{uuid.uuid4().hex[:10]}@example.test",
                "password": "correct horse battery",
                "full_name": f"Assess {role}",
                "role": role,
            },
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    results = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as anon:
        recruiter_token = await signup(anon, "recruiter")
    recruiter = httpx.AsyncClient(
        base_url=url, timeout=30, headers={"Authorization": f"Bearer {recruiter_token}"}
    )
    try:
        for job in JOBS:
            if job.key not in jobs:
                continue
            for bank in banks:
                for seed in range(seeds):
                    for persona in personas:
                        async with httpx.AsyncClient(base_url=url, timeout=30) as anon:
                            token = await signup(anon, "candidate")
                        async with httpx.AsyncClient(
                            base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
                        ) as candidate:
                            _, result = await interview_over_sockets(
                                recruiter,
                                candidate,
                                job,
                                persona,
                                bank,
                                seed,
                                question_count=question_count,
                            )
                        results.append(result)
    finally:
        await recruiter.aclose()
    return results


def table(results: Sequence[Interviewed]) -> str:
    """One row per persona: overall score (mean, range) per bank, recommendations, and the mean
    score of each kind of criterion, over every job and seed."""
    rows = [
        "| persona | interviews | overall (tuning) | overall (held-out) | recommendations |"
        " technical | problem solving | communication | general |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_persona: dict[str, list[Interviewed]] = defaultdict(list)
    for r in results:
        by_persona[r.persona].append(r)
    for persona in PERSONAS:
        group = by_persona.get(persona)
        if not group:
            continue

        def overall(bank: str, group: list[Interviewed] = group) -> str:
            scores = [r.overall for r in group if r.bank == bank]
            if not scores:
                return "-"
            mean = statistics.fmean(scores)
            return f"{mean:.2f} ({min(scores):.2f}-{max(scores):.2f})"

        counts = Counter(r.evaluation["recommendation"] for r in group)
        recommendations = " ".join(f"{SHORT[k]} {counts[k]}" for k in SHORT if counts[k])

        def kind(name: str, group: list[Interviewed] = group) -> str:
            scores = [s for r in group if (s := r.score_of_kind(name)) is not None]
            return f"{statistics.fmean(scores):.2f}" if scores else "-"

        rows.append(
            f"| {persona} | {len(group)} | {overall('tuning')} | {overall('held_out')} |"
            f" {recommendations} | {kind('technical')} | {kind('problem_solving')} |"
            f" {kind('communication')} | {kind('general')} |"
        )
    return "\n".join(rows)


def problems(results: Sequence[Interviewed]) -> list[str]:
    found = ranking_problems(results)
    for r in results:
        found += evidence_problems(r) + feedback_problems(r)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openhire assess", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", default=",".join(j.key for j in JOBS))
    parser.add_argument("--personas", default=",".join(PERSONAS))
    parser.add_argument("--banks", default=",".join(BANKS))
    parser.add_argument("--seeds", type=int, default=5, help="phrasings per persona (default 5)")
    parser.add_argument("--questions", type=int, default=5, help="main questions per interview")
    parser.add_argument("--show", type=int, default=50, help="problems to list (default 50)")
    parser.add_argument("--server", help="play the interviews over sockets against this server")
    args = parser.parse_args(argv)
    jobs = args.jobs.split(",")
    personas = args.personas.split(",")
    banks: list[Bank] = [b for b in BANKS if b in args.banks.split(",")]
    if args.server:
        results = asyncio.run(
            run_over_sockets(args.server, jobs, personas, banks, args.seeds, args.questions)
        )
    else:
        results = run_in_process(jobs, personas, banks, args.seeds, args.questions)
    print(table(results))
    found = problems(results)
    print(f"\n{len(results)} interviews, {len(found)} problems")
    for problem in found[: args.show]:
        print(f"- {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
