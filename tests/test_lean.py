"""server/transport/lean.py: Flag and LeanQueue behave as the asyncio.Event and asyncio.Queue
operations they replace (order, one item per getter, a cancelled getter passing its turn on),
and the served WebSocket protocol really has them in place of uvicorn's."""

from __future__ import annotations

import asyncio

from uvicorn.config import Config
from uvicorn.server import ServerState

from server.serving import UVICORN_OPTIONS
from server.transport.lean import Flag, LeanQueue, LeanWebSocketProtocol


async def test_a_flag_wakes_every_waiter_when_set_and_waits_again_once_cleared() -> None:
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters) and not flag.is_set()
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    assert await flag.wait()  # set: at once
    flag.clear()
    again = asyncio.create_task(flag.wait())
    await asyncio.sleep(0.01)
    assert not again.done()
    again.cancel()
    await asyncio.gather(again, return_exceptions=True)
    flag.set()  # the cancelled waiter is gone: nothing left to wake
    assert flag.is_set()


async def test_a_queue_hands_each_item_to_one_getter_in_order() -> None:
    queue: LeanQueue[int] = LeanQueue()
    assert queue.empty() and queue.qsize() == 0
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0.01)
    for i in range(4):
        queue.put_nowait(i)
    got = await asyncio.wait_for(asyncio.gather(*getters), 1)
    assert sorted(got) == [0, 1, 2]
    assert queue.qsize() == 1 and await queue.get() == 3
    assert queue.empty()


async def test_a_getter_cancelled_after_being_woken_passes_the_item_on() -> None:
    queue: LeanQueue[str] = LeanQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    queue.put_nowait("only")  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == "only"  # the item is not lost
    assert first.cancelled()


def test_the_served_websocket_protocol_has_the_lean_queue_and_flag() -> None:
    # Fails when a uvicorn release no longer names its receive queue and writable event as
    # LeanWebSocketProtocol expects (it then keeps uvicorn's, and the memory per socket rises).
    assert UVICORN_OPTIONS["ws"] is LeanWebSocketProtocol
    config = Config(app=lambda scope, receive, send: None, **UVICORN_OPTIONS)
    config.load()
    loop = asyncio.new_event_loop()
    try:
        protocol = LeanWebSocketProtocol(config, ServerState(), {}, _loop=loop)
    finally:
        loop.close()
    assert isinstance(protocol.queue, LeanQueue)
    assert isinstance(protocol.writable, Flag) and protocol.writable.is_set()
