"""The tasks a long-lived part of the server owns for its whole life: started once (by the
lifespan, as a rule), cancelled and awaited at shutdown.

``BackgroundTask`` is one such task. ``Periodic`` runs a pass every ``every_s`` seconds in one:
the first pass at once, each next one ``every_s`` after the last ended; a pass that fails is
logged (its owner's event name, with the error) and the next one runs all the same.

An owner whose shutdown does more than cancel (drain a queue first, wait for its own attempts
after) keeps that part itself, around ``close``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class BackgroundTask:
    """One owned task: ``start`` runs ``run()`` under ``name``; ``close`` cancels it and waits
    for it to end. Closing is safe before ``start`` and more than once."""

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], *, name: str) -> None:
        self._run = run
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is not None:
            # A second task would be one nobody closes.
            raise RuntimeError(f"the {self.name} task is already started")
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        """Cancel the task and wait for it to end. A task that had already failed raises its
        error here."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # The task's own end is expected; a cancel of the caller's, while it waited, is
            # passed on (its caller, a shutdown's deadline say, must see it).
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise


class Periodic:
    """``run_once()`` at once, then every ``every_s`` seconds after each pass ends, until
    ``close``. A pass that raises is logged as ``failed_event`` (``error``: its type and
    message) and the next one runs on time: whatever failed (the database went away, mostly)
    may be back by then."""

    def __init__(
        self,
        run_once: Callable[[], Awaitable[object]],
        *,
        every_s: float,
        name: str,
        failed_event: str,
    ) -> None:
        self._run_once = run_once
        self.every_s = every_s
        self.failed_event = failed_event
        self._task = BackgroundTask(self._run, name=name)

    @property
    def running(self) -> bool:
        return self._task.running

    def start(self) -> None:
        self._task.start()

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._run_once()
            except Exception as exc:
                log.warning(self.failed_event, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.every_s)
