"""The socket ticket book on its own, with a clock the test moves: a ticket works once, for
its interview and role, until ``ttl_s`` has passed and never after. The server-level check
(a server started with a one-second ``OPENHIRE_TICKET_TTL``) is in test_interviews_http.py."""

from __future__ import annotations

import asyncio
import uuid

from server.auth.tickets import LocalTicketBook


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_ticket_works_until_its_ttl_has_passed() -> None:
    clock = Clock()
    book = LocalTicketBook(ttl_s=30.0, clock=clock)
    interview, user = uuid.uuid4(), uuid.uuid4()
    at_expiry = await book.issue(interview, user, "candidate")
    clock.now += 30.0
    ticket = await book.redeem(at_expiry)
    assert ticket is not None
    assert (ticket.interview_id, ticket.user_id, ticket.role) == (interview, user, "candidate")
    assert ticket.expires_at == clock.now

    late = await book.issue(interview, user, "watcher")
    clock.now += 30.001
    assert await book.redeem(late) is None
    # Refused for good: the clock going no further does not bring it back.
    assert await book.redeem(late) is None


async def test_an_expired_ticket_is_refused_even_if_never_tried() -> None:
    clock = Clock()
    book = LocalTicketBook(ttl_s=5.0, clock=clock)
    tickets = [await book.issue(uuid.uuid4(), uuid.uuid4(), "candidate") for _ in range(3)]
    clock.now += 60.0
    assert [await book.redeem(t) for t in tickets] == [None, None, None]


async def test_a_ticket_works_once() -> None:
    book = LocalTicketBook(ttl_s=30.0, clock=Clock())
    value = await book.issue(uuid.uuid4(), uuid.uuid4(), "watcher")
    assert await book.redeem(value) is not None
    assert await book.redeem(value) is None
    assert await book.redeem(None) is None
    assert await book.redeem("") is None
    assert await book.redeem("not-a-ticket") is None


async def test_expired_tickets_are_swept_once_the_book_is_large() -> None:
    clock = Clock()
    book = LocalTicketBook(ttl_s=1.0, clock=clock)
    stale = [await book.issue(uuid.uuid4(), uuid.uuid4(), "candidate") for _ in range(1024)]
    clock.now += 2.0
    fresh = await book.issue(uuid.uuid4(), uuid.uuid4(), "candidate")
    # The memory of a busy server stays bounded: the expired ones are gone, the new one works.
    assert len(book._tickets) == 1
    assert await book.redeem(stale[0]) is None
    assert await book.redeem(fresh) is not None


# --- several nodes: tickets in Redis ----------------------------------------------------------


async def test_a_ticket_from_one_node_opens_a_socket_on_another_once(redis_url: str) -> None:
    """Two nodes' books on one Redis: issued by one, redeemed by the other, and when both
    try the same ticket at the same moment exactly one gets it."""
    import redis.asyncio as aioredis

    from server.cluster.tickets import RedisTicketBook

    first, second = (aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in "ab")
    try:
        node_a, node_b = RedisTicketBook(first, 30.0), RedisTicketBook(second, 30.0)
        interview, user = uuid.uuid4(), uuid.uuid4()
        value = await node_a.issue(interview, user, "watcher")
        ticket = await node_b.redeem(value)
        assert ticket is not None
        assert (ticket.interview_id, ticket.user_id, ticket.role) == (interview, user, "watcher")
        assert await node_a.redeem(value) is None
        raced = await node_a.issue(interview, user, "candidate")
        results = await asyncio.gather(*(b.redeem(raced) for b in (node_a, node_b) * 5))
        assert sum(r is not None for r in results) == 1
        for junk in (None, "", "not-a-ticket", "x" * 500):
            assert await node_b.redeem(junk) is None
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_redis_ticket_expires_with_its_ttl(redis_url: str) -> None:
    import redis.asyncio as aioredis

    from server.cluster.tickets import RedisTicketBook

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        book = RedisTicketBook(client, ttl_s=0.3)
        value = await book.issue(uuid.uuid4(), uuid.uuid4(), "candidate")
        await asyncio.sleep(0.6)
        assert await book.redeem(value) is None
    finally:
        await client.aclose()
