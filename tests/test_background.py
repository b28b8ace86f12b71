"""BackgroundTask and Periodic (server/background.py): a pass runs at once and then every
interval, a failed pass is logged under its owner's event name and the next one still runs,
close cancels a pass in progress, and close is safe twice and before start."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from structlog.testing import capture_logs

from server.background import BackgroundTask, Periodic

# Bounds every wait: a test that would hang fails instead.
WITHIN_S = 5.0


async def test_the_first_pass_runs_at_once() -> None:
    ran = asyncio.Event()

    async def run_once() -> None:
        ran.set()

    # An interval far beyond the wait: only a pass made at start can be seen.
    periodic = Periodic(run_once, every_s=3600, name="test-periodic", failed_event="test.failed")
    periodic.start()
    try:
        await asyncio.wait_for(ran.wait(), WITHIN_S)
    finally:
        await periodic.close()


async def test_a_pass_runs_every_interval_after_the_last_one_ended() -> None:
    loop = asyncio.get_running_loop()
    every_s = 0.05
    passes: list[tuple[float, float]] = []  # (started, ended)
    three = asyncio.Event()

    async def run_once() -> None:
        started = loop.time()
        await asyncio.sleep(0.02)
        passes.append((started, loop.time()))
        if len(passes) == 3:
            three.set()

    periodic = Periodic(run_once, every_s=every_s, name="test-periodic", failed_event="test.failed")
    periodic.start()
    try:
        await asyncio.wait_for(three.wait(), WITHIN_S)
    finally:
        await periodic.close()
    for (_, ended), (started, _) in itertools.pairwise(passes):
        # The loop may wake a timer up to its clock's resolution early.
        assert started - ended >= every_s * 0.9


async def test_a_failed_pass_is_logged_and_the_next_one_runs() -> None:
    calls = 0
    second = asyncio.Event()

    async def run_once() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database went away")
        second.set()

    periodic = Periodic(run_once, every_s=0.01, name="test-periodic", failed_event="test.failed")
    with capture_logs() as logs:
        periodic.start()
        try:
            await asyncio.wait_for(second.wait(), WITHIN_S)
        finally:
            await periodic.close()
    assert logs == [
        {
            "event": "test.failed",
            "error": "ConnectionError: the database went away",
            "log_level": "warning",
        }
    ]


async def _closes_in_time(periodic: Periodic) -> None:
    # Not wait_for: its own cancel at the deadline would end the pass (close passes that
    # cancel on, but the pass would have ended all the same).
    closing = asyncio.create_task(periodic.close())
    done, _ = await asyncio.wait([closing], timeout=WITHIN_S)
    assert closing in done, "close did not end the pass"
    await closing


async def test_close_cancels_a_pass_in_progress_and_may_be_called_again() -> None:
    entered = asyncio.Event()
    cancelled = False

    async def run_once() -> None:
        nonlocal cancelled
        entered.set()
        try:
            await asyncio.Event().wait()  # never set: only a cancel ends it
        except asyncio.CancelledError:
            cancelled = True
            raise

    periodic = Periodic(run_once, every_s=0.01, name="test-periodic", failed_event="test.failed")
    periodic.start()
    await asyncio.wait_for(entered.wait(), WITHIN_S)
    assert periodic.running
    await _closes_in_time(periodic)
    assert cancelled
    assert not periodic.running
    await _closes_in_time(periodic)


async def test_close_before_start_is_fine_and_runs_nothing() -> None:
    ran = False

    async def run() -> None:
        nonlocal ran
        ran = True

    task = BackgroundTask(run, name="test-task")
    periodic = Periodic(run, every_s=0.01, name="test-periodic", failed_event="test.failed")
    await task.close()
    await periodic.close()
    await asyncio.sleep(0.05)
    assert not ran
    assert not task.running
    assert not periodic.running


async def test_the_task_runs_under_its_name() -> None:
    entered = asyncio.Event()

    async def run() -> None:
        entered.set()
        await asyncio.Event().wait()

    task = BackgroundTask(run, name="test-named")
    task.start()
    try:
        await asyncio.wait_for(entered.wait(), WITHIN_S)
        assert "test-named" in {t.get_name() for t in asyncio.all_tasks()}
    finally:
        await task.close()
    assert "test-named" not in {t.get_name() for t in asyncio.all_tasks()}


async def test_starting_twice_is_refused_and_closing_allows_a_new_start() -> None:
    runs = 0

    async def run() -> None:
        nonlocal runs
        runs += 1
        await asyncio.Event().wait()

    task = BackgroundTask(run, name="test-task")
    task.start()
    try:
        with pytest.raises(RuntimeError, match="test-task"):
            task.start()
        await asyncio.sleep(0)
        assert runs == 1
    finally:
        await task.close()
    task.start()
    await asyncio.sleep(0)
    await task.close()
    assert runs == 2


async def test_a_task_that_failed_raises_its_error_at_close_once() -> None:
    async def run() -> None:
        raise ValueError("broken")

    task = BackgroundTask(run, name="test-task")
    task.start()
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broken"):
        await task.close()
    await task.close()  # the error was reported; the task is no longer held


async def test_a_cancel_of_the_caller_of_close_is_passed_on() -> None:
    ending = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            ending.set()
            await asyncio.sleep(0.5)  # cleans up a while before it ends
            raise

    task = BackgroundTask(slow_to_end, name="slow")
    task.start()
    await asyncio.sleep(0)
    closing = asyncio.create_task(task.close())
    await ending.wait()
    closing.cancel()  # a shutdown's deadline, say
    done, _ = await asyncio.wait([closing], timeout=WITHIN_S)
    assert closing in done
    assert closing.cancelled()  # not swallowed as if the task's own end
