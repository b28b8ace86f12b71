"""The UDP port range of the server's ICE host candidates (OPENHIRE_RTC_PORT_MIN/MAX).

Neither aiortc nor aioice has a port range setting: aioice binds each host candidate's socket
with ``loop.create_datagram_endpoint(local_addr=(address, 0))``, so the kernel picks any
ephemeral port. ``restrict_ports`` gives aioice's module a loop whose
``create_datagram_endpoint`` binds such a request to a free port of the range instead (tried in
random order; ``OSError`` when every port is taken, and the peer then has no host candidate for
that address). Only aioice's own module sees that loop: nothing else in the process changes.

What it does not cover: the sockets aioice opens towards a TURN server (client sockets, their
ports are the kernel's), and mDNS. A firewall rule for the range is then enough for host and
server-reflexive candidates; TURN relays need their own.
"""

from __future__ import annotations

import asyncio
import random
import types
from typing import Any

import aioice.ice


class _RangeLoop:
    """The running loop, with ephemeral UDP binds moved into ``ports``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ports: range) -> None:
        self._loop = loop
        self._ports = ports

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(
        self, protocol_factory: Any, local_addr: tuple[str, int] | None = None, **kwargs: Any
    ) -> Any:
        if local_addr is None or local_addr[1] != 0:
            return await self._loop.create_datagram_endpoint(
                protocol_factory, local_addr=local_addr, **kwargs
            )
        host = local_addr[0]
        ports = list(self._ports)
        random.shuffle(ports)
        for port in ports:
            try:
                return await self._loop.create_datagram_endpoint(
                    protocol_factory, local_addr=(host, port), **kwargs
                )
            except OSError:
                continue
        raise OSError(f"no free UDP port in {self._ports.start}..{self._ports.stop - 1}")


class _AsyncioInRange(types.ModuleType):
    """``asyncio`` as aioice's module sees it: the same, but for ``get_running_loop``."""

    def __init__(self, ports: range) -> None:
        super().__init__("asyncio")
        self._ports = ports

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    def get_running_loop(self) -> Any:
        return _RangeLoop(asyncio.get_running_loop(), self._ports)


def restrict_ports(low: int | None, high: int | None) -> None:
    """Bind host candidates within ``low..high`` (both included); None: any port again."""
    if low is None or high is None:
        aioice.ice.asyncio = asyncio  # type: ignore[attr-defined]
    else:
        aioice.ice.asyncio = _AsyncioInRange(range(low, high + 1))  # type: ignore[attr-defined]
