"""Slow down, then refuse, repeated failed log-ins for one account or one address.

Failures are counted in a sliding window, per email and per client address. Past
``slow_after`` failures each further attempt is delayed (doubling, capped); past
``block_after`` it is refused with 429 until the window has moved on. A successful log-in
clears the account's count. The counts live in this process; behind several servers each
keeps its own, which still bounds guessing per server.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from server.errors import RateLimited

_MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    window_s: float = 900.0
    slow_after: int = 3
    block_after: int = 10
    block_after_ip: int = 50
    max_delay_s: float = 2.0


class LoginThrottle:
    def __init__(self, policy: LoginPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        window = self._failures.get(key)
        if window is None:
            return deque()
        while window and window[0] <= now - self.policy.window_s:
            window.popleft()
        if not window:
            del self._failures[key]
        return window

    def check(self, email: str, address: str) -> float:
        """Raise RateLimited if refused; otherwise return the delay to apply, in seconds."""
        by_account = self._recent(f"email:{email}")
        by_address = self._recent(f"addr:{address}")
        # A block lifts once enough of its failures have left the window to fall below the
        # limit; Retry-After is when every block that applies has lifted.
        lifts = [
            window[len(window) - limit] + self.policy.window_s
            for window, limit in (
                (by_account, self.policy.block_after),
                (by_address, self.policy.block_after_ip),
            )
            if len(window) >= limit
        ]
        if lifts:
            retry = max(1, int(max(lifts) - self._clock()) + 1)
            raise RateLimited(
                "too many failed log-ins; try again later",
                details={"retry_after_s": retry},
                headers={"Retry-After": str(retry)},
            )
        excess = len(by_account) - self.policy.slow_after + 1
        if excess <= 0:
            return 0.0
        return float(min(self.policy.max_delay_s, 0.25 * 2 ** (excess - 1)))

    def record_failure(self, email: str, address: str) -> None:
        if len(self._failures) > _MAX_KEYS:
            # Bounded memory under a spray of distinct keys: forget the oldest half.
            for key in list(self._failures)[: _MAX_KEYS // 2]:
                del self._failures[key]
        now = self._clock()
        for key in (f"email:{email}", f"addr:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, email: str) -> None:
        self._failures.pop(f"email:{email}", None)
