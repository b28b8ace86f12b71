"""argon2id password hashes, on threads of their own, a bounded number at a time.

Each hash or check takes argon2's 64 MiB of memory and tens of milliseconds of a core. Run
without a bound, 24 concurrent log-ins took the server from 79 MB to 1.65 GB, and they
shared anyio's default thread pool with blob writes, so a candidate's screenshot ack waited
behind them. Here at most ``concurrency`` run at once, on an executor of their own (nothing
else runs there, and they borrow nothing from the default pool); up to ``queue`` more wait
their turn; past that a request is answered 503 ``server_busy`` with ``Retry-After`` at once,
never held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import ServerBusy

T = TypeVar("T")

_hasher = PasswordHasher()
# Verified against when an account does not exist, so that a wrong email and a wrong password
# take the same time and cannot be told apart.
_DUMMY_HASH = _hasher.hash("openhire-dummy-password")


class PasswordHashing:
    def __init__(self, concurrency: int, queue: int) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError(f"need concurrency >= 1 and queue >= 0, got {concurrency}, {queue}")
        self.concurrency = concurrency
        self.queue = queue
        self._admitted = 0
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="password-hash")

    @property
    def admitted(self) -> int:
        """Hashes running or waiting now."""
        return self._admitted

    async def hash(self, password: str) -> str:
        return await self._run(_hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no stored hash (no such account), checked against
        a dummy hash all the same, and False."""
        return await self._run(_check, stored_hash, password)

    def close(self) -> None:
        # Running hashes finish in their threads; nothing waits for them.
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: str | None) -> T:
        if self._admitted >= self.concurrency + self.queue:
            raise ServerBusy(
                "too many sign-ins at once; try again in a moment",
                headers={"Retry-After": "1"},
            )
        self._admitted += 1
        try:
            loop = asyncio.get_running_loop()
            # A request that goes away cancels its future: a queued check is then never run,
            # and a running one ends in its thread; the pool's size bounds what runs at once.
            return await loop.run_in_executor(self._executor, fn, *args)
        finally:
            self._admitted -= 1


def _check(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
