"""Slow down, then refuse, repeated failed log-ins (and sign-up probes) without letting an
attacker lock anyone out.

Failures are counted in a sliding window under three keys:

- the pair (account, client address): past ``slow_after`` failures each further attempt is
  delayed (doubling, capped); past ``block_after`` the pair is refused with 429 until the
  window has moved on. A locked pair never blocks the same account from another address, so
  ten wrong passwords from an attacker's address do not lock the owner out.
- the client address: past ``block_after_ip`` failures, whatever the accounts, it is refused.
  IPv6 addresses are counted per /64, the block one subscriber is usually given.
- the account, across addresses, against guessing spread over many addresses: past
  ``account_slow_after`` failures, attempts on it from addresses that have themselves failed
  against it are spaced ``account_interval_s`` apart (a short wait, or a 429 with a Retry-After
  of a few seconds), never locked. An address that has not failed on the account (its owner,
  typically) is not spaced.

An attempt is *reserved* before the password is checked, and counts against every limit while
it is in flight: concurrent attempts cannot all pass the check before the first failure is
recorded. The reservation is then settled as a success (the pair's count is cleared), a
failure (counted), or void (the attempt never reached a verdict: a 503, say).

``LoginThrottle`` is the interface; ``LocalLoginThrottle`` keeps the counts in this process.
Behind several servers, ``server.cluster.throttle.RedisLoginThrottle`` keeps them in Redis, so
that the limits hold for the whole cluster (one test suite runs against both).
"""

from __future__ import annotations

import abc
import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from server.errors import RateLimited

_MAX_KEYS = 100_000

Outcome = Literal["success", "failure", "void"]


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    window_s: float = 900.0
    slow_after: int = 3
    block_after: int = 10
    block_after_ip: int = 50
    max_delay_s: float = 2.0
    account_slow_after: int = 100
    account_interval_s: float = 1.0
    # An attempt that would wait longer than this for its turn on a spaced account is refused
    # (429, Retry-After) rather than held open.
    account_max_wait_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Reservation:
    """One attempt, counted while in flight; wait ``delay_s`` before checking the password."""

    email: str
    address: str
    delay_s: float
    # Names the in-flight attempt where the counts are shared (Redis), so that settling it
    # releases this attempt and no other.
    id: str = ""


class LoginThrottle(abc.ABC):
    @abc.abstractmethod
    async def reserve(self, email: str, address: str) -> Reservation:
        """Count an attempt on ``email`` from ``address``, atomically with the check that it
        is allowed; raise RateLimited (429, Retry-After) if it is not."""

    @abc.abstractmethod
    async def settle(self, reservation: Reservation, outcome: Outcome) -> None:
        """End an attempt: every reservation is settled exactly once."""


def address_key(host: str) -> str:
    """The address as counted: an IPv6 address by its /64 (one subscriber's block), anything
    else as given."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(slots=True)
class _Window:
    failures: deque[float] = field(default_factory=deque)
    pending: int = 0
    # For an account: the earliest time the next spaced attempt may run.
    next_turn: float = 0.0

    @property
    def count(self) -> int:
        return len(self.failures) + self.pending


class LocalLoginThrottle(LoginThrottle):
    """The counts in this process's memory. ``reserve`` and ``settle`` never await, so each is
    atomic on the event loop."""

    def __init__(self, policy: LoginPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    async def reserve(self, email: str, address: str) -> Reservation:
        return self.reserve_now(email, address)

    async def settle(self, reservation: Reservation, outcome: Outcome) -> None:
        self.settle_now(reservation, outcome)

    def reserve_now(self, email: str, address: str) -> Reservation:
        now = self._clock()
        policy = self.policy
        pair = self._window(_pair_key(email, address), now)
        by_address = self._window(f"addr:{address}", now)
        account = self._window(f"acct:{email}", now)
        # A block lifts once enough of its failures have left the window to fall below the
        # limit; Retry-After is when every block that applies has lifted. A block that only
        # in-flight attempts complete lifts as they end: a second, then look again.
        lifts = [
            (
                window.failures[len(window.failures) - limit] + policy.window_s
                if len(window.failures) >= limit
                else now + 1
            )
            for window, limit in ((pair, policy.block_after), (by_address, policy.block_after_ip))
            if window.count >= limit
        ]
        if lifts:
            raise _refused(max(lifts) - now)
        excess = pair.count - policy.slow_after + 1
        delay = 0.0 if excess <= 0 else min(policy.max_delay_s, 0.25 * 2 ** (excess - 1))
        if len(account.failures) >= policy.account_slow_after and pair.failures:
            turn = max(now, account.next_turn)
            if turn - now > policy.account_max_wait_s:
                raise _refused(turn - now - policy.account_max_wait_s)
            account.next_turn = turn + policy.account_interval_s
            delay = max(delay, turn - now)
        self._make_room()
        pair.pending += 1
        by_address.pending += 1
        self._windows[_pair_key(email, address)] = pair
        self._windows[f"addr:{address}"] = by_address
        if account.failures:
            self._windows[f"acct:{email}"] = account
        return Reservation(email=email, address=address, delay_s=delay)

    def settle_now(self, reservation: Reservation, outcome: Outcome) -> None:
        now = self._clock()
        pair_key = _pair_key(reservation.email, reservation.address)
        account_key = f"acct:{reservation.email}"
        keys = (pair_key, f"addr:{reservation.address}")
        for key in keys:
            window = self._windows.get(key)
            # Forgotten meanwhile (see _make_room): nothing left to release.
            if window is not None:
                window.pending = max(0, window.pending - 1)
        if outcome == "failure":
            for key in (*keys, account_key):
                self._windows.setdefault(key, _Window()).failures.append(now)
        elif outcome == "success":
            pair = self._windows.get(pair_key)
            if pair is not None:
                pair.failures.clear()
        for key in (*keys, account_key):
            self._window(key, now)

    def _window(self, key: str, now: float) -> _Window:
        """The key's window with what has left it dropped; a fresh one, not stored, if none."""
        window = self._windows.get(key)
        if window is None:
            return _Window()
        failures = window.failures
        while failures and failures[0] <= now - self.policy.window_s:
            failures.popleft()
        if not failures and not window.pending and window.next_turn <= now:
            del self._windows[key]
        return window

    def _make_room(self) -> None:
        if len(self._windows) > _MAX_KEYS:
            # Bounded memory under a spray of distinct keys: forget the oldest half.
            for key in list(self._windows)[: _MAX_KEYS // 2]:
                del self._windows[key]


def _pair_key(email: str, address: str) -> str:
    return f"pair:{email}\x00{address}"


def _refused(wait_s: float) -> RateLimited:
    retry = max(1, math.ceil(wait_s))
    return RateLimited(
        "too many failed attempts; try again later",
        details={"retry_after_s": retry},
        headers={"Retry-After": str(retry)},
    )
