"""SocketWriter (server/transport/writer.py), over a stand-in socket whose sends can be held:
frames go out in order, a close goes out after what was queued before it, a peer too slow
to keep up is closed with 4008 and loses what was queued, and a replay (send_wait) waits for
room instead."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocketState

from server.protocol.messages import QuestionDelta
from server.transport.writer import SocketWriter


class HeldSocket:
    """Records what is sent; each send waits while ``gate`` is clear."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None
        self.application_state = WebSocketState.CONNECTED
        self.gate = asyncio.Event()
        self.gate.set()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        self.application_state = WebSocketState.DISCONNECTED


def _writer(socket: HeldSocket, max_queue: int) -> SocketWriter:
    return SocketWriter(socket, "watcher", max_queue=max_queue)  # type: ignore[arg-type]


async def test_frames_go_out_in_order_then_the_close() -> None:
    socket = HeldSocket()
    writer = _writer(socket, 8)
    for i in range(5):
        writer.send_text(f"f{i}")
        if i == 2:
            await asyncio.sleep(0)  # some while the writer waits, some in one go
    writer.close(1000, "done")
    writer.send_text("after the close")  # dropped
    await writer.wait_closed(5)
    assert socket.sent == [f"f{i}" for i in range(5)]
    assert socket.closed_with == (1000, "done")
    assert writer.close_code == 1000


async def test_a_peer_too_slow_is_closed_with_4008_and_what_was_queued_dropped() -> None:
    socket = HeldSocket()
    socket.gate.clear()
    writer = _writer(socket, 4)
    writer.send_text("first")
    await asyncio.sleep(0)  # the writer takes it and waits on the socket
    for i in range(4):
        writer.send_text(f"queued {i}")  # fills the queue
    writer.send_text("one too many")
    socket.gate.set()
    await writer.wait_closed(5)
    assert socket.sent == ["first"]
    assert socket.closed_with is not None and socket.closed_with[0] == 4008


async def test_send_wait_waits_for_room_and_loses_nothing() -> None:
    socket = HeldSocket()
    socket.gate.clear()
    writer = _writer(socket, 2)
    messages = [QuestionDelta(question_id="q1", text=str(i)) for i in range(10)]

    async def replay() -> None:
        for m in messages:
            await writer.send_wait(m)

    task = asyncio.create_task(replay())
    await asyncio.sleep(0.05)
    assert not task.done()  # held: the queue is full and the socket does not move
    socket.gate.set()
    await asyncio.wait_for(task, 5)
    writer.close(1000, "done")
    await writer.wait_closed(5)
    assert [QuestionDelta.model_validate_json(f).text for f in socket.sent] == [
        str(i) for i in range(10)
    ]


async def test_a_replay_waiting_for_room_ends_when_the_socket_does() -> None:
    socket: Any = HeldSocket()
    socket.gate.clear()
    writer = _writer(socket, 1)
    writer.send_text("stuck")
    await asyncio.sleep(0)
    writer.send_text("fills the queue")
    waiting = asyncio.create_task(writer.send_wait(QuestionDelta(question_id="q1", text="x")))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await writer.aclose()  # the peer went away: the writer stops
    await asyncio.wait_for(waiting, 5)  # and the replay does not hang


async def test_an_idle_writer_holds_no_task_and_wakes_for_the_next_frame() -> None:
    socket = HeldSocket()
    before = len(asyncio.all_tasks())
    writer = _writer(socket, 8)
    assert len(asyncio.all_tasks()) == before  # nothing queued: no task
    writer.send_text("a")
    assert len(asyncio.all_tasks()) == before + 1
    await asyncio.sleep(0.01)
    assert socket.sent == ["a"]
    assert len(asyncio.all_tasks()) == before  # drained: the task ended
    writer.send_text("b")
    writer.send_text("c")
    await asyncio.sleep(0.01)
    assert socket.sent == ["a", "b", "c"]
    await writer.aclose()  # the peer went away while the writer was idle
    assert writer.closed.is_set()
    writer.send_text("late")  # dropped: the socket is done
    await asyncio.sleep(0.01)
    assert socket.sent == ["a", "b", "c"]
    assert len(asyncio.all_tasks()) == before
