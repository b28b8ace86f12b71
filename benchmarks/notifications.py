"""Notification figures for docs/benchmarks.md (not a test: run it by hand).

    .venv/bin/python -m benchmarks.notifications [--streams 1000] [--rate 100] [--seconds 30]
        [--webhooks 3000] [--concurrency 16 64]

1. Streams: a server (its own embedded PostgreSQL in a temporary directory) with ``--streams``
   users each holding a notification stream open, as a browser's bell does. Notifications are
   committed at ``--rate`` a second for ``--seconds``, each to one user picked at random,
   through the server's own outbox (``Notifications.record``, four writer connections, as a
   busy server's handlers would), and the time from each commit's return to its event's arrival
   on its user's stream is measured on one clock (this process's). Every event must arrive,
   once.
2. Webhooks: one recruiter's endpoint on a loopback receiver (this process, answering 200 at
   once); ``--webhooks`` messages are committed in one transaction and the time until the
   server has recorded every delivery is measured, for each ``--concurrency``.

Users are written straight into the database and their tokens signed with the server's own key,
so that 1,000 argon2 sign-ups do not dominate the set-up. The stream clients are raw asyncio
connections (an HTTP client per stream would cost this process more than the server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil  # type: ignore[import-untyped,unused-ignore]

from server.auth.tokens import TokenIssuer, load_or_create_signing_key
from server.notify.notices import Notice
from server.notify.notifications import Notifications

OPENHIRE = [sys.executable, "-m", "server.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


EVENT_ID = re.compile(rb'"id":"([0-9a-f-]{36})"')


async def json_codec(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        format="text",
    )


class Server:
    def __init__(self, directory: Path, concurrency: int) -> None:
        self.data_dir = directory / f"data-{concurrency}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dsn = f"postgresql://postgres@/postgres?host={self.data_dir.resolve() / 'postgres'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENHIRE_", "DATABASE"))}
        env.update(
            OPENHIRE_DATA_DIR=str(self.data_dir),
            OPENHIRE_PORT=str(self.port),
            OPENHIRE_DEMO="0",
            OPENHIRE_LOG_LEVEL="warning",
            OPENHIRE_WEBHOOKS_ALLOW_PRIVATE="1",
            OPENHIRE_WEBHOOK_CONCURRENCY=str(concurrency),
        )
        self.log = (directory / f"server-{concurrency}.log").open("wb")
        self.proc = subprocess.Popen(
            [*OPENHIRE, "serve"], env=env, stdout=self.log, stderr=self.log
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(1200):
                if self.proc.poll() is not None:
                    break
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.url + "/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        self.log.flush()
        raise RuntimeError(f"the server did not start: {self.log.name}")

    def stop(self) -> None:
        self.proc.send_signal(2)
        self.proc.wait(60)
        self.log.close()

    def tokens(self) -> TokenIssuer:
        key = load_or_create_signing_key(self.data_dir / "jwt_signing_key.pem")
        return TokenIssuer(key, issuer="openhire", ttl_s=3600)


async def make_users(
    conn: asyncpg.Connection, count: int, role: str
) -> list[tuple[uuid.UUID, str]]:
    users = [(uuid.uuid4(), f"bench-{uuid.uuid4().hex[:12]}@example.test") for _ in range(count)]
    async with conn.transaction():
        await conn.executemany("insert into auth.users (id, email) values ($1, $2)", users)
        await conn.executemany(
            "insert into public.users (id, email, full_name, role) values ($1, $2, 'Bench', $3)",
            [(u, e, role) for u, e in users],
        )
    return users


class StreamClient:
    """One stream on a raw connection: records when each notification id arrives."""

    def __init__(self, arrivals: dict[str, float]) -> None:
        self.arrivals = arrivals
        self.ready = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, path: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer = writer
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        tail = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.monotonic()
            if b"event: ready" in chunk:
                self.ready.set()
            data = tail + chunk
            for match in EVENT_ID.finditer(data):
                self.arrivals.setdefault(match.group(1).decode(), now)
            tail = data[-60:]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


async def bench_streams(args: argparse.Namespace, directory: Path) -> None:
    server = Server(directory, 16)
    try:
        await server.ready()
        conn = await asyncpg.connect(server.dsn)
        await json_codec(conn)
        users = await make_users(conn, args.streams, "candidate")
        issuer = server.tokens()
        arrivals: dict[str, float] = {}
        clients = [StreamClient(arrivals) for _ in users]
        tasks = []
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            gate = asyncio.Semaphore(50)

            async def open_one(client: StreamClient, user: tuple[uuid.UUID, str]) -> None:
                token = issuer.issue(user[0], user[1])
                async with gate:
                    resp = await http.post(
                        "/notifications/ticket", headers={"Authorization": f"Bearer {token}"}
                    )
                    resp.raise_for_status()
                tasks.append(asyncio.create_task(client.run(server.port, resp.json()["url"])))
                await asyncio.wait_for(client.ready.wait(), 60)

            await asyncio.gather(*(open_one(c, u) for c, u in zip(clients, users, strict=True)))
        opened_s = time.monotonic() - started
        proc = psutil.Process(server.proc.pid)
        rss_open = proc.memory_info().rss
        print(
            f"{len(clients)} streams open in {opened_s:.1f} s;"
            f" server RSS {rss_open / 2**20:.0f} MiB"
        )

        committed: dict[str, float] = {}
        outbox = Notifications(None)  # type: ignore[arg-type]
        writers = [await asyncpg.connect(server.dsn) for _ in range(4)]
        for w in writers:
            await json_codec(w)
        total = int(args.rate * args.seconds)
        cpu_before = proc.cpu_times()
        t0 = time.monotonic()

        async def write(w: asyncpg.Connection, share: range) -> None:
            for n in share:
                due = t0 + n / args.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                user = random.choice(users)[0]
                async with w.transaction():
                    (stored,) = await outbox.record(
                        w, [Notice(user, "interview.expiring", payload={"n": n})]
                    )
                committed[str(stored.id)] = time.monotonic()

        await asyncio.gather(*(write(w, range(i, total, 4)) for i, w in enumerate(writers)))
        for _ in range(300):  # at most 30 s for the last ones to arrive
            if all(i in arrivals for i in committed):
                break
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - t0
        cpu_after = proc.cpu_times()
        latencies = [(arrivals[i] - c) * 1000 for i, c in committed.items() if i in arrivals]
        missing = total - len(latencies)
        stats = percentiles(latencies)
        cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed
        print(
            f"{total} notifications at {args.rate}/s to {len(clients)} streams:"
            f" commit-to-event p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms,"
            f" p99 {stats['p99']:.1f} ms, max {stats['max']:.1f} ms; missing {missing};"
            f" server CPU {cpu * 100:.0f} % of a core; RSS {proc.memory_info().rss / 2**20:.0f} MiB"
        )
        for w in writers:
            await w.close()
        for client in clients:
            client.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await conn.close()
    finally:
        server.stop()


async def receiver() -> tuple[asyncio.Server, int, list[int]]:
    count = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            count[0] += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    return server, server.sockets[0].getsockname()[1], count


async def bench_webhooks(args: argparse.Namespace, directory: Path, concurrency: int) -> None:
    server = Server(directory, concurrency)
    listener, port, received = await receiver()
    try:
        await server.ready()
        conn = await asyncpg.connect(server.dsn)
        await json_codec(conn)
        ((recruiter, email),) = await make_users(conn, 1, "recruiter")
        token = server.tokens().issue(recruiter, email)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            made = await http.post(
                "/webhooks",
                json={"url": f"http://127.0.0.1:{port}/hook", "events": ["application.created"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            made.raise_for_status()
        proc = psutil.Process(server.proc.pid)
        cpu_before = proc.cpu_times()
        t0 = time.monotonic()
        async with conn.transaction():
            await Notifications(None).record(  # type: ignore[arg-type]
                conn, [Notice(recruiter, "application.created") for _ in range(args.webhooks)]
            )
        committed_s = time.monotonic() - t0
        while True:
            done = await conn.fetchval(
                "select count(*) from openhire.webhook_deliveries where state = 'delivered'"
            )
            if done >= args.webhooks:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - t0
        cpu_after = proc.cpu_times()
        waits = await conn.fetch(
            "select extract(epoch from finished_at - created_at) * 1000 as ms"
            " from openhire.webhook_deliveries"
        )
        attempts = await conn.fetchval(
            "select percentile_cont(0.99) within group (order by latency_ms)"
            " from openhire.webhook_attempts"
        )
        stats = percentiles([float(r["ms"]) for r in waits])
        cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed
        print(
            f"webhooks, concurrency {concurrency}: {args.webhooks} messages (queued in"
            f" {committed_s:.2f} s) delivered in {elapsed:.1f} s = {args.webhooks / elapsed:.0f}/s;"
            f" queued-to-delivered p50 {stats['p50'] / 1000:.1f} s, p99"
            f" {stats['p99'] / 1000:.1f} s; attempt p99 {attempts:.0f} ms; received"
            f" {received[0]}; server CPU {cpu * 100:.0f} % of a core"
        )
        await conn.close()
    finally:
        listener.close()
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[16, 64])
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    # Kept when something fails: the servers' logs are in it.
    directory = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    if args.streams:
        await bench_streams(args, directory)
    for concurrency in args.concurrency:
        await bench_webhooks(args, directory, concurrency)
    shutil.rmtree(directory, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end", file=sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
