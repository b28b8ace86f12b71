"""server/transport/lean.py: Flag and LeanQueue behave as the asyncio.Event and asyncio.Queue
operations they replace (order, one item per getter, a cancelled getter passing its turn on),
and the served WebSocket protocol really has them in place of uvicorn's."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
import websockets
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


class _Counting(LeanWebSocketProtocol):
    """The served protocol, counting how often it pauses reading."""

    instances: list[_Counting] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pauses = 0
        _Counting.instances.append(self)

    def connection_made(self, transport: Any) -> None:
        pause = transport.pause_reading

        def counted() -> None:
            self.pauses += 1
            pause()

        transport.pause_reading = counted
        super().connection_made(transport)


@contextmanager
def _served(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    options = {**UVICORN_OPTIONS, "ws": _Counting, "log_level": "critical", "lifespan": "off"}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    """Echoes each message at once; after a "sleep" message, takes nothing for 2 s."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "sleep":
            await asyncio.sleep(2)
            continue
        await send({"type": "websocket.send", "text": message.get("text") or ""})


async def test_a_message_the_app_awaits_is_handed_over_without_pausing_reading() -> None:
    _Counting.instances.clear()
    with _served(_echo) as url:
        async with websockets.connect(url) as ws:
            for i in range(50):
                await ws.send(f"m{i}")
                assert await asyncio.wait_for(ws.recv(), 5) == f"m{i}"
    (protocol,) = _Counting.instances
    # uvicorn alone pauses after every message (50 here); the app was always waiting.
    assert protocol.pauses == 0


async def test_reading_still_pauses_while_the_app_is_busy_and_nothing_is_lost() -> None:
    _Counting.instances.clear()
    with _served(_echo) as url:
        async with websockets.connect(url) as ws:
            await ws.send("sleep")
            sent = [f"m{i}" for i in range(200)]
            for text in sent:
                await ws.send(text)
            (protocol,) = _Counting.instances
            # While the app sleeps, the server reads a message it cannot hand over, and
            # stops reading.
            for _ in range(150):
                if protocol.read_paused:
                    break
                await asyncio.sleep(0.01)
            assert protocol.read_paused and protocol.pauses >= 1
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in sent]
            assert got == sent
            # The app caught up and waits again: reading is on.
            assert not protocol.read_paused
