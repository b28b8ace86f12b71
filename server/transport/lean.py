"""asyncio's Queue and Event, the parts a live socket uses, in lists: memory per idle socket.

A CPython ``collections.deque`` allocates a 64-slot block as it is made (about 760 bytes with
its header), so an ``asyncio.Event`` costs that much and an ``asyncio.Queue`` four times over
(three deques and an Event), whatever they hold. A live socket holds several for its whole
life, mostly empty: uvicorn's receive queue and its "writable" event, and the writer's
``closed``. Here the same operations sit on lists, which cost nothing until used.

- ``Flag``: ``asyncio.Event``'s ``set``, ``clear``, ``is_set`` and ``wait``.
- ``LeanQueue``: ``asyncio.Queue``'s ``put_nowait``, ``get``, ``empty`` and ``qsize``, unbounded.
- ``LeanWebSocketProtocol``: uvicorn's sans-I/O WebSocket protocol with those two in place of
  its queue and event (the options in server/serving.py name it). If a uvicorn release no
  longer has them as this expects, it leaves the protocol as uvicorn made it (and
  tests/test_lean.py fails). It also leaves reading on for a message the app is already
  waiting for (below, ``send_receive_event_to_app``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

T = TypeVar("T")


def _wake_one(waiters: list[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


class Flag:
    """``asyncio.Event`` without its deque."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanQueue(Generic[T]):
    """An unbounded ``asyncio.Queue`` without its deques: items and waiting getters in lists,
    each item to one getter, in order."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] = []

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def awaited(self) -> bool:
        """Empty, with a getter waiting that has not been handed an item yet: the next item
        put goes straight to it."""
        return not self._items and any(not getter.done() for getter in self._getters)

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        _wake_one(self._getters)

    async def get(self) -> T:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._items:
                    _wake_one(self._getters)  # it was woken for an item: pass the turn on
                raise
        return self._items.pop(0)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, its receive queue a ``LeanQueue`` and its
    ``writable`` event a ``Flag`` (about 3.8 KB less per socket)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self.queue) is asyncio.Queue and self.queue.empty():
            self.queue = LeanQueue()  # type: ignore[assignment]
        if type(self.writable) is asyncio.Event:
            writable = Flag()
            if self.writable.is_set():
                writable.set()
            self.writable = writable  # type: ignore[assignment]

    def send_receive_event_to_app(self) -> None:
        """uvicorn pauses reading after every message it queues and resumes once the app has
        taken it: two ``epoll_ctl`` calls and two selector updates a message, about a fifth of
        the event loop's time at 1,000 interviews (docs/benchmarks.md). A message the app is
        already waiting for is handed over with reading left on; any other (the app busy, or
        a second message from the same read) pauses reading as before, so that a socket still
        holds at most the messages of one read beyond what its app has taken."""
        queue = self.queue
        if self.read_paused or not (isinstance(queue, LeanQueue) and queue.awaited()):
            super().send_receive_event_to_app()
            return
        # Marked paused, uvicorn's method does not pause; it is unmarked at once after.
        self.read_paused = True
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = False
