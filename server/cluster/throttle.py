"""The log-in throttle's counts in Redis, shared by every node (``server.auth.throttle`` has
the rules and the in-memory version; this one gives the same answers).

Each key of the local version is here a sorted set of failure times and one of attempts in
flight, scored by time; the account's next turn is a plain value. ``reserve`` and ``settle``
are each one Lua script, so that the check and the count are one atomic step for the whole
cluster: concurrent attempts on several nodes cannot all pass before the first failure counts.
An attempt in flight whose node died before settling it stops counting after
``PENDING_MAX_S``. Emails are hashed in key names: Redis holds no address in clear.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.auth.throttle import LoginPolicy, LoginThrottle, Outcome, Reservation, _refused
from server.errors import ClusterUnavailable

# An attempt is settled within a request's life; one not settled by then was lost with its node.
PENDING_MAX_S = 60.0

_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local pending_max = tonumber(ARGV[11])
for _, k in ipairs({KEYS[1], KEYS[3], KEYS[5]}) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - window)
end
for _, k in ipairs({KEYS[2], KEYS[4]}) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - pending_max)
end
local pair_fail = redis.call('ZCARD', KEYS[1])
local pair_count = pair_fail + redis.call('ZCARD', KEYS[2])
local addr_fail = redis.call('ZCARD', KEYS[3])
local addr_count = addr_fail + redis.call('ZCARD', KEYS[4])
local lift = nil
local function consider(fkey, nfail, count, limit)
  if count >= limit then
    local at
    if nfail >= limit then
      local item = redis.call('ZRANGE', fkey, nfail - limit, nfail - limit, 'WITHSCORES')
      at = tonumber(item[2]) + window
    else
      at = now + 1
    end
    if lift == nil or at > lift then lift = at end
  end
end
consider(KEYS[1], pair_fail, pair_count, tonumber(ARGV[3]))
consider(KEYS[3], addr_fail, addr_count, tonumber(ARGV[4]))
if lift ~= nil then return {'refused', tostring(lift - now)} end
local excess = pair_count - tonumber(ARGV[5]) + 1
local delay = 0
if excess > 0 then delay = math.min(tonumber(ARGV[6]), 0.25 * 2 ^ (excess - 1)) end
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[7]) and pair_fail > 0 then
  local turn = tonumber(redis.call('GET', KEYS[6]) or '0')
  if turn < now then turn = now end
  if turn - now > tonumber(ARGV[9]) then
    return {'refused', tostring(turn - now - tonumber(ARGV[9]))}
  end
  redis.call('SET', KEYS[6], tostring(turn + tonumber(ARGV[8])), 'PX', math.ceil(window * 1000))
  if turn - now > delay then delay = turn - now end
end
for _, k in ipairs({KEYS[2], KEYS[4]}) do
  redis.call('ZADD', k, now, ARGV[10])
  redis.call('PEXPIRE', k, math.ceil(pending_max * 1000))
end
return {'ok', tostring(delay)}
"""

_SETTLE = """
local now = tonumber(ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
if ARGV[2] == 'failure' then
  -- One member per failure, even for attempts settled under the same id.
  local member = ARGV[3] .. '@' .. ARGV[1] .. '@' .. redis.call('INCR', 'openhire:login:seq')
  for _, k in ipairs({KEYS[1], KEYS[3], KEYS[5]}) do
    redis.call('ZADD', k, now, member)
    redis.call('PEXPIRE', k, math.ceil(tonumber(ARGV[4]) * 1000))
  end
elseif ARGV[2] == 'success' then
  redis.call('DEL', KEYS[1])
end
return 1
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keys(email: str, address: str) -> list[str]:
    account, where = _digest(email), _digest(address)
    return [
        f"openhire:login:pair:{account}:{where}:f",
        f"openhire:login:pair:{account}:{where}:p",
        f"openhire:login:addr:{where}:f",
        f"openhire:login:addr:{where}:p",
        f"openhire:login:acct:{account}:f",
        f"openhire:login:acct:{account}:t",
    ]


class RedisLoginThrottle(LoginThrottle):
    """``clock``: wall-clock seconds (every node's clock is assumed in step, as NTP keeps
    them; a test passes its own)."""

    def __init__(
        self,
        client: aioredis.Redis,
        policy: LoginPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)

    async def reserve(self, email: str, address: str) -> Reservation:
        p = self.policy
        attempt = secrets.token_hex(8)
        try:
            verdict, value = await self._reserve(
                keys=_keys(email, address),
                args=[
                    repr(self._clock()),
                    p.window_s,
                    p.block_after,
                    p.block_after_ip,
                    p.slow_after,
                    p.max_delay_s,
                    p.account_slow_after,
                    p.account_interval_s,
                    p.account_max_wait_s,
                    attempt,
                    PENDING_MAX_S,
                ],
            )
        except RedisError:
            raise ClusterUnavailable("log-ins cannot be checked now; try again shortly") from None
        wait = float(value)
        if verdict in ("refused", b"refused"):  # whether or not the client decodes replies
            raise _refused(wait)
        return Reservation(email=email, address=address, delay_s=max(0.0, wait), id=attempt)

    async def settle(self, reservation: Reservation, outcome: Outcome) -> None:
        keys = _keys(reservation.email, reservation.address)
        try:
            await self._settle(
                keys=keys[:5],
                args=[repr(self._clock()), outcome, reservation.id, self.policy.window_s],
            )
        except RedisError:
            # The attempt stops counting as in flight after PENDING_MAX_S; a failure that could
            # not be recorded is not counted (Redis was gone for everyone alike).
            return
