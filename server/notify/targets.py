"""Where a webhook may be sent, and sending it there.

A recruiter names the URL, and the server makes the request: without care, that lets anyone
with a recruiter account reach what only the server can (a cloud's metadata service at
169.254.169.254, a database's HTTP port on the private network, the server's own admin
endpoints on loopback). So a target must be ``https`` and every address its host resolves to
must be a global unicast address: not private, loopback, link-local, shared (CGNAT), multicast,
reserved or unspecified, IPv4-mapped IPv6 included. The check is made when the URL is given and
again on every attempt, at connect time: the host is resolved, every address checked, and the
connection made to the checked address itself (the URL's host stays in the Host header and in
TLS's server name, so certificates are verified as usual). A name that resolved to a public
address when it was registered and to 127.0.0.1 later (DNS rebinding) is refused then.
``OPENHIRE_WEBHOOKS_ALLOW_PRIVATE=1`` turns the address check off and allows ``http`` (tests,
local development).

An attempt has a deadline (the whole of it: resolving, connecting, sending, the answer), follows
no redirect (a 3xx is a failure, as the Standard Webhooks spec says), and reads at most
``MAX_RESPONSE_BYTES`` of the answer before it closes the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import httpx

from server.errors import OpenHireError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Reads the addresses a host name resolves to: (host, port) -> addresses.
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_CHARS = 2000
# The answer is read up to this much (and kept, for the deliveries list, much shorter).
MAX_RESPONSE_BYTES = 64 * 1024
KEPT_RESPONSE_CHARS = 300

Outcome = Literal["delivered", "failed", "timeout", "refused", "error"]


class TargetRefused(OpenHireError):
    """A webhook URL the server will not send to; the message says why, for its owner."""


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """The URL taken apart, if its form is one the server sends to; raise TargetRefused."""
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL cannot be read ({exc})") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused(f"the URL must start with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry a user name or password")
    if parts.fragment:
        raise TargetRefused("the URL must not have a fragment (#...)")
    if port == 0:
        raise TargetRefused("the URL's port must be 1 to 65535")
    return parts


def address_allowed(address: IpAddress) -> bool:
    """A global unicast address: nothing on this machine or its private networks."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_allowed(address.ipv4_mapped)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[IpAddress]:
    """Every address ``host`` has now, each one allowed; raise TargetRefused otherwise."""
    addresses: list[IpAddress]
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await resolver(host, port)
        except OSError as exc:
            raise TargetRefused(f"{host} cannot be resolved ({exc.strerror or exc})") from None
        # An IPv6 address may carry its zone ("fe80::1%eth0"): the address is what is checked.
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise TargetRefused(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            if not address_allowed(address):
                raise TargetRefused(
                    f"{host} resolves to {address}, which is not a public address"
                    " (private, loopback, link-local and reserved ranges are refused)"
                )
    return addresses


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt came to."""

    outcome: Outcome
    latency_ms: int
    status_code: int | None = None
    # For the deliveries list: what the receiver said, or what went wrong, shortened.
    detail: str | None = None
    retry_after_s: float | None = None


class WebhookSender:
    """Sends attempts, one HTTP client for the server's life (closed by the lifespan)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        allow_private: bool,
        connections: int = 32,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.timeout_s = timeout_s
        self.allow_private = allow_private
        self._resolver = resolver
        # No keep-alive: every connection is made to an address checked for that attempt, and
        # a pooled connection is keyed by address, not by the host name it was checked for.
        # trust_env off: an HTTP(S)_PROXY in the environment must not carry requests past
        # the address check.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        started = time.monotonic()

        def took() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._send(url, headers, body, took)
        except TimeoutError:
            return Answer("timeout", took(), detail=f"no answer within {self.timeout_s:g} s")
        except TargetRefused as exc:
            return Answer("refused", took(), detail=str(exc))
        except httpx.HTTPError as exc:
            return Answer("error", took(), detail=_shorten(f"{type(exc).__name__}: {exc}"))

    async def _send(
        self, url: str, headers: dict[str, str], body: bytes, took: Callable[[], int]
    ) -> Answer:
        parts = check_url(url, allow_private=self.allow_private)
        assert parts.hostname is not None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        (address, *_) = await checked_addresses(
            parts.hostname, port, allow_private=self.allow_private, resolver=self._resolver
        )
        host = f"[{address}]" if address.version == 6 else str(address)
        request_headers = {**headers, "host": parts.netloc}
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        async with self._client.stream(
            "POST",
            parts._replace(netloc=f"{host}:{port}").geturl(),
            content=body,
            headers=request_headers,
            extensions=extensions,
        ) as response:
            kept = bytearray()
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= MAX_RESPONSE_BYTES:
                    break  # the rest is not read: closing the response drops the connection
        detail = _shorten(kept.decode("utf-8", "replace")) or None
        if 200 <= response.status_code < 300:
            return Answer("delivered", took(), response.status_code, detail)
        return Answer(
            "failed",
            took(),
            response.status_code,
            detail,
            retry_after_s=_retry_after(response.headers.get("retry-after")),
        )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= KEPT_RESPONSE_CHARS else text[: KEPT_RESPONSE_CHARS - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in seconds (an HTTP date is not honoured)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None
