"""The scripted scorer in worker processes (server/interviewer/scoring_pool.py): the same
evaluation as in the server's own process, scored in another process, surviving a killed
worker, and closed with the server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from clients.assess.jobs import BACKEND
from clients.assess.personas import PERSONAS
from clients.assess.run import interview_in_process, job_brief
from clients.interview_client import CandidateSession
from server.config import ConfigurationError, Settings
from server.interviewer import ScriptedInterviewer, create_interviewer
from server.interviewer.base import JobBrief, ProctoringSummary, Turn
from server.interviewer.scoring import score_interview
from server.interviewer.scoring_pool import ScoringPool
from tests.conftest import DatabaseBackend, ServerProcess, running_server
from tests.live_helpers import LONG_ANSWER, close_clients, new_interview

CLEAN = ProctoringSummary({}, 0.0, 0.0, True)


def interview(persona: str) -> tuple[JobBrief, tuple[Turn, ...]]:
    return job_brief(BACKEND, 5, 1), interview_in_process(BACKEND, persona, "held_out", 1).turns()


async def test_workers_score_as_the_server_itself_would_in_another_process() -> None:
    pool = ScoringPool(1)
    try:
        assert pool.worker_pids() == []  # nothing started before start or an evaluation
        for persona in PERSONAS[:3]:
            job, turns = interview(persona)
            scored = await pool.score(job, turns, CLEAN)
            assert scored.model_dump() == score_interview(job, turns, CLEAN).model_dump()
        (pid,) = pool.worker_pids()
        assert pid != os.getpid()
    finally:
        await pool.aclose()
    assert pool.worker_pids() == []
    with pytest.raises(RuntimeError, match="closed"):
        await pool.score(*interview(PERSONAS[0]), CLEAN)


async def test_start_starts_the_worker_the_evaluations_then_use() -> None:
    pool = ScoringPool(1)
    try:
        pool.start()
        (started,) = pool.worker_pids()
        job, turns = interview(PERSONAS[2])
        assert (await pool.score(job, turns, CLEAN)).model_dump() == score_interview(
            job, turns, CLEAN
        ).model_dump()
        assert pool.worker_pids() == [started]
    finally:
        await pool.aclose()
    thread = ScoringPool(0)
    thread.start()  # nothing to start
    assert thread.worker_pids() == []


async def test_a_killed_worker_is_replaced_and_the_evaluation_still_comes() -> None:
    pool = ScoringPool(1)
    try:
        job, turns = interview(PERSONAS[0])
        expected = score_interview(job, turns, CLEAN).model_dump()
        assert (await pool.score(job, turns, CLEAN)).model_dump() == expected
        (first,) = pool.worker_pids()
        os.kill(first, signal.SIGKILL)
        assert (await pool.score(job, turns, CLEAN)).model_dump() == expected
        (second,) = pool.worker_pids()
        assert second != first
    finally:
        await pool.aclose()


async def test_with_no_processes_it_scores_in_a_thread_of_this_process() -> None:
    pool = ScoringPool(0)
    job, turns = interview(PERSONAS[1])
    assert (await pool.score(job, turns, CLEAN)).model_dump() == score_interview(
        job, turns, CLEAN
    ).model_dump()
    assert pool.worker_pids() == []
    await pool.aclose()


def test_the_setting_chooses_the_processes_and_refuses_a_negative_count() -> None:
    def made(**env: str) -> ScriptedInterviewer:
        interviewer = create_interviewer(Settings.from_env(env, dotenv=False))
        assert isinstance(interviewer, ScriptedInterviewer)
        return interviewer

    assert made().scoring.processes == 1
    assert made(OPENHIRE_SCORING_PROCESSES="0").scoring.processes == 0
    assert made(OPENHIRE_SCORING_PROCESSES="3").scoring.processes == 3
    with pytest.raises(ConfigurationError, match="OPENHIRE_SCORING_PROCESSES must be 0 or more"):
        made(OPENHIRE_SCORING_PROCESSES="-1")
    with pytest.raises(ValueError, match="0 or more"):
        ScoringPool(-1)


def scoring_workers(pid: int, marker: str = "multiprocessing.spawn") -> list[int]:
    """The processes ``pid`` spawned to score (multiprocessing's spawned workers; with
    ``marker="multiprocessing"`` its resource tracker too)."""
    found = []
    for child in psutil.Process(pid).children():
        with contextlib.suppress(psutil.Error):
            if marker in " ".join(child.cmdline()):
                found.append(child.pid)
    return sorted(found)


def gone(pid: int, within_s: float = 20) -> bool:
    """Whether ``pid`` ends within ``within_s`` (a zombie, ended and not yet reaped, counts)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


async def score_one_interview(srv: ServerProcess) -> None:
    iv = await new_interview(srv)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            while (message := await session.receive(15))["type"] != "interview.ended":
                assert message["type"] != "_closed", message
                if message["type"] == "question.done":
                    ack = await session.answer(message["question_id"], LONG_ANSWER)
                    assert ack["type"] == "ack", ack
        for _ in range(300):
            got = (await iv.recruiter.get(f"/interviews/{iv.id}")).json()
            if got["evaluation"] is not None:
                break
            await asyncio.sleep(0.1)
        assert got["evaluation"]["interviewer"] == "scripted", got
    finally:
        await close_clients(iv)


async def test_the_server_scores_in_its_worker_and_stops_it_when_it_stops(
    database_backend: DatabaseBackend, tmp_path: Path
) -> None:
    with running_server(database_backend, tmp_path / "data", check_exit=True) as srv:
        assert srv.proc is not None
        pid = srv.proc.pid
        (worker,) = scoring_workers(pid)  # started with the server, before it was ready
        await score_one_interview(srv)
        assert scoring_workers(pid) == [worker]
        await score_one_interview(srv)
        assert scoring_workers(pid) == [worker]  # the same worker scores the next one
        helpers = scoring_workers(pid, "multiprocessing")
    assert all(gone(p) for p in helpers)


async def test_a_killed_server_leaves_no_scoring_worker_behind(
    database_backend: DatabaseBackend, tmp_path: Path
) -> None:
    with running_server(database_backend, tmp_path / "data") as srv:
        assert srv.proc is not None
        await score_one_interview(srv)
        assert len(scoring_workers(srv.proc.pid)) == 1
        helpers = scoring_workers(srv.proc.pid, "multiprocessing")
        srv.kill()
        # The worker watches the server's process and ends with it (and the resource tracker
        # with its last user).
    assert all(gone(p) for p in helpers)


def test_workers_that_cannot_start_leave_the_scoring_to_a_thread() -> None:
    """Spawn runs the parent's ``__main__`` again in each worker: a program read from standard
    input has none to run, so no worker ever starts. The evaluation still comes, scored in the
    server's process, and the pool stays in that mode rather than spawning again each time."""
    program = """
import asyncio
from clients.assess.personas import PERSONAS
from server.interviewer.scoring import score_interview
from server.interviewer.scoring_pool import ScoringPool
from tests.test_scoring_pool import CLEAN, interview

async def main():
    pool = ScoringPool(1)
    pool.start()
    job, turns = interview(PERSONAS[0])
    for _ in range(2):
        got = await pool.score(job, turns, CLEAN)
        assert got.model_dump() == score_interview(job, turns, CLEAN).model_dump()
    print("in_thread", pool.in_thread, "workers", pool.worker_pids())
    await pool.aclose()

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-"],
        input=program,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("in_thread True workers []"), done.stdout
    assert done.stdout.count("scoring_pool_broken") == 2  # two tries, then no more spawning
    assert "scoring_pool_unusable" in done.stdout
