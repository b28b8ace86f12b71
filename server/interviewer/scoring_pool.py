"""Where the scripted scorer runs: worker processes, so that scoring never holds the GIL the
interviews' event loop needs.

``score_interview`` is pure Python: about 17 ms for an interview of 30 answers, about as much
CPU as the rest of those answers' server work together. In a thread it still holds the interpreter's
lock while it runs, so every socket of the process waits behind each evaluation (a profile at
saturation put a third of the server's samples in it; docs/benchmarks.md). ``ScoringPool``
runs it in ``processes`` worker processes instead (``OPENHIRE_SCORING_PROCESSES``), started
with the server (``start``), by ``spawn`` (a fork of a process with threads can deadlock); with
``0`` it runs in a thread, as before. The results are the same either way: the worker runs the
same function on a pickled copy of the same inputs.

A worker that dies (killed, out of memory) breaks the executor; the evaluation that saw it is
scored again in a new one. Should that one die too (workers that cannot start at all: spawn
runs the parent's ``__main__`` again in each worker, which a program read from standard input
does not survive), the pool scores in a thread from then on, and logs ``scoring_pool_unusable``:
slower, and no evaluation lost.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import anyio.to_thread
import structlog

from server.interviewer.base import Evaluation, JobBrief, ProctoringSummary, Turn
from server.interviewer.scoring import score_interview

log = structlog.get_logger(__name__)


def _start_worker() -> None:
    # Ctrl-C in a terminal signals the whole process group: the server shuts its pool down
    # itself, so a worker must not die of it first (and print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker holds both ends of its task queue's pipe (spawn passes both), so a server that
    # dies without shutting the pool down (SIGKILL, a crash) would never send it EOF: it
    # watches the server's process instead and ends with it.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True).start()


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


class ScoringPool:
    def __init__(self, processes: int = 0) -> None:
        if processes < 0:
            raise ValueError(f"processes must be 0 or more, got {processes}")
        self.processes = processes
        # True with no processes, or once workers proved unable to run (below).
        self.in_thread = processes == 0
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def _pool(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("the scoring pool is closed")
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        return self._executor

    def start(self) -> None:
        """Start the workers now (they take a second or so to import), without waiting for
        them; without this the first evaluation starts them."""
        if not self.in_thread:
            self._pool().submit(os.getpid)

    async def score(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        turns = tuple(transcript)
        if not self.in_thread:
            loop = asyncio.get_running_loop()
            for attempt in (1, 2):
                executor = self._pool()
                try:
                    return await loop.run_in_executor(
                        executor, score_interview, job, turns, proctoring
                    )
                except BrokenProcessPool:
                    log.warning("scoring_pool_broken", processes=self.processes, attempt=attempt)
                    if self._executor is executor:
                        self._executor = None
                        executor.shutdown(wait=False, cancel_futures=True)
            # Two pools in a row died under this evaluation: workers cannot run here (one that
            # cannot start, say). Score in this process from now on rather than fail them.
            log.error("scoring_pool_unusable", processes=self.processes)
            self.in_thread = True
        return await anyio.to_thread.run_sync(score_interview, job, turns, proctoring)

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (none before ``start`` or the first evaluation, or in a
        thread)."""
        if self._executor is None:
            return []
        # The executor keeps no public list of its workers.
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    async def aclose(self) -> None:
        """Stop the workers, after the evaluations they are running; idempotent."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            stop = functools.partial(executor.shutdown, wait=True, cancel_futures=True)
            await anyio.to_thread.run_sync(stop)
