"""Who plays a load run, set up over the public HTTP API: one recruiter, their jobs, and the
candidates, each with a real account, an application and a scheduled interview.

``build_roster(url, candidates=N, jobs=1)`` gives N interviews, one per candidate. With
``jobs=J`` every candidate applies to each of J jobs: N * J interviews from N accounts, for the
modes that need many interviews but not many people (idle sockets, saturation), since a
sign-up hashes a password (argon2: 50-100 ms of server CPU) and an application does not.
``setup_held_roster`` is that for the modes that hold N sessions at once (idle, media, voice):
N seats from at most 25 candidates, announced and timed.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

ANSWER_WORDS = (
    "In my last role I owned the ingestion service, written in Python with asyncio and "
    "PostgreSQL. I profiled it, found that one query ran per message, batched the writes and "
    "cut the p99 latency from 180 ms to 25 ms, measured over two weeks of production traffic."
)


def plan(questions: int, answer_time_limit_s: int, total_time_limit_min: int) -> dict[str, Any]:
    """An interview plan with a known number of turns: no follow-ups."""
    return {
        "question_count": questions,
        "follow_ups_per_question": 0,
        "answer_time_limit_s": answer_time_limit_s,
        "total_time_limit_min": total_time_limit_min,
    }


@dataclass(frozen=True)
class Seat:
    """One candidate's interview: its id, and the candidate's access token."""

    interview_id: str
    candidate_token: str


@dataclass(frozen=True)
class Roster:
    recruiter_token: str
    seats: list[Seat]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signup(http: httpx.AsyncClient, role: str, label: str) -> str:
    resp = await http.post(
        "/auth/signup",
        json={
            "email": f"loadtest-{role}-{label}-{uuid.uuid4().hex[:10]}@example.test",
            "password": "load-test-password",
            "full_name": f"Load {role.title()} {label}",
            "role": role,
        },
    )
    resp.raise_for_status()
    token: str = resp.json()["access_token"]
    return token


async def build_roster(
    base_url: str,
    *,
    candidates: int,
    jobs: int = 1,
    interview_plan: dict[str, Any],
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
) -> Roster:
    """Sign up a recruiter and ``candidates`` candidates, post ``jobs`` jobs, apply each
    candidate to each job and schedule every application's interview."""
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:
        recruiter = await signup(http, "recruiter", "0")
        job_ids = []
        for j in range(jobs):
            job = await http.post(
                "/jobs",
                headers=auth(recruiter),
                json={
                    "title": "Senior Python Engineer" + (f" {j}" if jobs > 1 else ""),
                    "description": "Build async services with Starlette and PostgreSQL. Own the "
                    "latency of the interview pipeline. Mentor other engineers.",
                    "job_type": "full_time",
                    "location": "Berlin",
                    "remote": True,
                    "required_skills": ["python", "postgresql", "asyncio", "websockets"],
                    "interview_plan": interview_plan,
                },
            )
            job.raise_for_status()
            job_ids.append(job.json()["id"])
        gate = asyncio.Semaphore(concurrency)
        done = 0
        total = candidates * jobs

        async def interview(token: str, n: int, job_id: str) -> Seat:
            nonlocal done
            application = await http.post(
                f"/jobs/{job_id}/applications",
                headers=auth(token),
                files={"cover_letter": (None, f"Hello, I am candidate {n}.")},
            )
            application.raise_for_status()
            scheduled = await http.post(
                f"/applications/{application.json()['id']}/interviews",
                headers=auth(recruiter),
                json={},
            )
            scheduled.raise_for_status()
            done += 1
            if on_progress is not None:
                on_progress(done, total)
            return Seat(scheduled.json()["id"], token)

        async def candidate(n: int) -> list[Seat]:
            async with gate:
                token = await signup(http, "candidate", str(n))
                return [await interview(token, n, job_id) for job_id in job_ids]

        per_candidate = await asyncio.gather(*(candidate(n) for n in range(candidates)))
    # Interleave by job so that consecutive seats belong to different candidates.
    seats = [seats[j] for j in range(jobs) for seats in per_candidate]
    return Roster(recruiter, seats)


class SetupError(Exception):
    """The accounts, jobs or interviews of a run could not be set up (exit status 2)."""


def setup_roster(
    base_url: str, candidates: int, jobs: int, interview_plan: dict[str, Any], concurrency: int
) -> Roster:
    """``build_roster`` from synchronous code; a failed request is a ``SetupError``."""
    try:
        return asyncio.run(
            build_roster(
                base_url,
                candidates=candidates,
                jobs=jobs,
                interview_plan=interview_plan,
                concurrency=concurrency,
            )
        )
    except httpx.HTTPError as exc:
        raise SetupError(f"setting up the accounts and interviews failed: {exc!r}") from exc


@dataclass(frozen=True)
class HeldRoster:
    """The interviews of a mode that holds N sessions at once: exactly N seats, from
    ``accounts`` candidates applying to ``jobs`` jobs each, set up in ``setup_s`` seconds."""

    recruiter_token: str
    seats: list[Seat]
    accounts: int
    jobs: int
    setup_s: float


def setup_held_roster(
    base_url: str,
    mode: str,
    n: int,
    concurrency: int,
    say: Callable[[str], None],
    interview_plan: dict[str, Any] | None = None,
) -> HeldRoster:
    """N interviews for ``mode`` (idle, media, voice), from at most 25 candidates (a sign-up
    costs the server far more than an application), said as it starts and timed. The plan is
    ``interview_plan``, or by default one question that waits an hour for its answer: a
    session that lasts the hold."""
    accounts = min(n, 25)
    jobs = math.ceil(n / accounts)
    say(f"{mode}: setting up {n} interviews ({accounts} candidates x {jobs} jobs) ...")
    started = time.perf_counter()
    if interview_plan is None:
        interview_plan = plan(1, answer_time_limit_s=3600, total_time_limit_min=240)
    roster = setup_roster(base_url, accounts, jobs, interview_plan, concurrency)
    setup_s = time.perf_counter() - started
    return HeldRoster(roster.recruiter_token, roster.seats[:n], accounts, jobs, setup_s)
