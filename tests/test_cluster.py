"""Several nodes behind HAProxy, on Redis and one PostgreSQL 15 (issue 17,
docs/deploy-cluster.md): tickets and tokens across nodes, one fenced owner per live interview,
takeover after a death, a pause and a drain, watchers on nodes that do not own the interview,
Redis lost and restarted. The load test across nodes is in tests/test_cluster_load.py."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets

from clients.interview_client import SUBPROTOCOL, fetch_ticket, ws_url
from tests.cluster_harness import Cluster, haproxy_config
from tests.conftest import OPENHIRE, ServerProcess, free_port
from tests.live_helpers import LONG_ANSWER, Interview, close_clients, new_interview
from tests.notify_helpers import Person, apply, open_stream, person, post_job
from tests.notify_helpers import ticket as notify_ticket

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        made.start()
        yield made
    finally:
        made.stop()


def restart_if_down(cluster: Cluster) -> None:
    """A test that killed or stopped a node leaves it for the next to start again."""
    for node in cluster.nodes:
        if node.proc is not None and node.proc.poll() is not None:
            node.proc = None
        if node.proc is None:
            node.start()
    cluster.wait_balanced()


async def owner_of(cluster: Cluster, interview_id: str) -> str | None:
    import redis.asyncio as aioredis

    assert cluster.redis is not None
    client = aioredis.Redis.from_url(cluster.redis.url, decode_responses=True)
    try:
        holder: str | None = await client.get(f"openhire:lease:{interview_id}")
        return holder
    finally:
        await client.aclose()


async def log_of(cluster: Cluster, interview_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(cluster.database_url)
    try:
        rows = await conn.fetch(
            'select "offset", kind, data::text as data, client_id from public.interview_events'
            ' where interview_id = $1 order by "offset"',
            uuid.UUID(interview_id),
        )
    finally:
        await conn.close()
    return [{**dict(r), "data": orjson.loads(r["data"])} for r in rows]


def assert_dense_and_unique(log: list[dict[str, Any]]) -> None:
    assert [e["offset"] for e in log] == list(range(1, len(log) + 1))
    ids = [e["client_id"] for e in log if e["client_id"] is not None]
    assert len(ids) == len(set(ids)), ids


class Candidate:
    """A candidate socket on one node, reading in the background."""

    def __init__(self, ws: websockets.ClientConnection, ready: dict[str, Any]) -> None:
        self.ws = ws
        self.ready = ready
        self.frames: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, base_url: str, interview: Interview, ticket: dict[str, Any] | None = None
    ) -> Candidate:
        if ticket is None:
            ticket = await fetch_ticket(interview.candidate, interview.id)
        ws = await websockets.connect(
            ws_url(base_url, ticket["url"]),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            open_timeout=30,
        )
        ready = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ready["type"] == "session.ready", ready
        return cls(ws, ready)

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                self.frames.append(orjson.loads(raw))
        self.closed.set()

    async def wait_for(self, predicate: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such frame; got {[f.get('type') for f in self.frames]}")

    async def question(self, timeout: float = 30) -> str:
        frame = await self.wait_for(lambda f: f["type"] == "question.done", timeout)
        return str(frame["question_id"])

    async def ack(self, client_id: str, timeout: float = 30) -> int:
        frame = await self.wait_for(
            lambda f: f["type"] == "ack" and f["client_id"] == client_id, timeout
        )
        return int(frame["offset"])

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def close_code_of(url: str) -> int | None:
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 30)
    return ws.close_code


# --- start-up ------------------------------------------------------------------------------


def test_a_node_whose_redis_does_not_answer_exits_with_one_line(
    cluster: Cluster, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    node = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=cluster.database_url,
        env_overrides={"REDIS_URL": f"redis://:secret-pw@127.0.0.1:{port}/0"},
    )
    result = subprocess.run(
        [*OPENHIRE, "serve"], env=node.env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"openhire: Redis at 127.0.0.1:{port} (REDIS_URL) is not reachable")
    assert "secret-pw" not in result.stderr


def test_redis_without_a_shared_database_is_refused(tmp_path: Path) -> None:
    node = ServerProcess(data_dir=tmp_path / "data", env_overrides={"REDIS_URL": "redis://x"})
    result = subprocess.run(
        [*OPENHIRE, "serve"], env=node.env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "REDIS_URL is set" in result.stderr and "DATABASE_URL" in result.stderr


def test_the_documented_haproxy_configuration_is_the_one_run() -> None:
    config = haproxy_config([9001, 9002, 9003], 9000)
    for needed in (
        "option httpchk GET /readyz",
        "timeout tunnel",
        "on-marked-down shutdown-sessions",
        "option redispatch",
        "bind 127.0.0.1:9000",
        "server node3 127.0.0.1:9003 check",
    ):
        assert needed in config


# --- across nodes --------------------------------------------------------------------------


async def test_tokens_and_tickets_work_across_nodes_once(cluster: Cluster) -> None:
    """Signed up through the balancer, a token from one node is good on every node (one
    signing key), and a ticket issued by one node opens a socket on another, once."""
    a, b, c = cluster.nodes
    interview = await new_interview(a)
    try:
        for node in (b, c):
            me = await interview.recruiter.get(node.url + "/users/me")
            assert me.status_code == 200
        ticket = await fetch_ticket(interview.recruiter, interview.id)  # from node a
        url = ws_url(b.url, ticket["url"] + "&since=0")
        async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
            ready = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ready["type"] == "session.ready" and ready["role"] == "watcher"
        assert await close_code_of(ws_url(c.url, ticket["url"])) == 4001
    finally:
        await close_clients(interview)


async def test_a_notification_stream_follows_its_ticket_across_nodes(cluster: Cluster) -> None:
    """A stream ticket issued by one node opens the stream on another, and is handed back
    there (in Redis) for the reconnect, which a third node serves from the last event id: a
    notification made on any node reaches the stream, with no gap and no duplicate."""
    a, b, c = cluster.nodes
    recruiter = await person(a, "recruiter")
    first, second = await person(a, "candidate"), await person(a, "candidate")
    job_id = await post_job(recruiter)
    on = {
        n.url: Person(
            recruiter.id,
            httpx.AsyncClient(base_url=n.url, headers=recruiter.http.headers),
            recruiter.name,
        )
        for n in (b, c)
    }
    try:
        stream_url = (await notify_ticket(recruiter))["url"]  # issued by node a
        async with open_stream(on[b.url], url=stream_url) as stream:  # served by node b
            await stream.started()  # subscribed on node b, from now on
            await apply(first, job_id)  # made on node a: PostgreSQL's NOTIFY reaches node b
            await stream.until(lambda events: len(events) == 1)
            last_id = stream.last_id
        assert stream.kinds() == ["application.created"] and last_id is not None
        await apply(second, job_id)  # made while no stream is open
        # The browser's reconnect: the same URL, on whichever node the balancer picks.
        async with open_stream(on[c.url], url=stream_url, last_event_id=last_id) as again:
            await again.until(lambda events: len(events) == 1)
            await again.idle(1.0)
        assert again.ready == {"after": int(last_id)}
        assert again.kinds() == ["application.created"]
        assert again.events[0].data["seq"] > int(last_id)
    finally:
        for who in (recruiter, first, second, *on.values()):
            await who.http.aclose()


async def test_a_dead_owners_interview_is_taken_over_and_nothing_acked_is_lost(
    cluster: Cluster,
) -> None:
    """The candidate answers on node a; a watcher follows on node c; node a is killed; the
    candidate reconnects on node b, which takes the interview over once a's lease has run out
    (within the lease), and the watcher on c sees every entry once, across the move."""
    restart_if_down(cluster)
    a, b, c = cluster.nodes
    interview = await new_interview(cluster)  # type: ignore[arg-type]
    watcher_frames: list[dict[str, Any]] = []
    try:
        candidate = await Candidate.open(a.url, interview)
        assert await owner_of(cluster, interview.id) == "node0"
        ticket = await fetch_ticket(interview.recruiter, interview.id)
        watcher = await websockets.connect(
            ws_url(c.url, ticket["url"]),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        )

        async def watch() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in watcher:
                    watcher_frames.append(orjson.loads(raw))

        watching = asyncio.create_task(watch())
        question = await candidate.question()
        await candidate.send(
            {"type": "answer", "client_id": "a1", "question_id": question, "text": LONG_ANSWER}
        )
        acked_at = await candidate.ack("a1")
        # The ticket first: only the socket's wait for the interview is timed.
        ticket = await fetch_ticket(interview.candidate, interview.id)
        a.kill()
        killed = time.monotonic()
        candidate2 = await Candidate.open(b.url, interview, ticket)
        took = time.monotonic() - killed
        assert candidate2.ready["resumed"] is True
        assert candidate2.ready["last_client_id"] == "a1"
        assert took <= cluster.lease_s + 2.0, took
        assert await owner_of(cluster, interview.id) == "node1"
        question2 = await candidate2.question()
        await candidate2.send(
            {"type": "answer", "client_id": "a2", "question_id": question2, "text": LONG_ANSWER}
        )
        second = await candidate2.ack("a2")
        assert second > acked_at
        # Two questions, both answered at length: the interview ends.
        await candidate2.wait_for(lambda f: f["type"] == "interview.ended", 60)
        await asyncio.wait_for(watching, 30)
        assert watcher.close_code == 1000
        log = await log_of(cluster, interview.id)
        assert_dense_and_unique(log)
        assert [e["offset"] for e in log if e["client_id"] in ("a1", "a2")] == [acked_at, second]
        events = [f["offset"] for f in watcher_frames if f["type"] == "event"]
        assert events == [e["offset"] for e in log]  # every entry once, in order
        await candidate.close()
        await candidate2.close()
    finally:
        await close_clients(interview)
        restart_if_down(cluster)


# --- the fence -------------------------------------------------------------------------------


async def test_postgresql_refuses_a_write_from_an_older_epoch(cluster: Cluster) -> None:
    """The fence itself, on the shared database: once a new owner has raised the epoch, a
    batch written under the old one is refused whole (StaleOwner), and nothing of it stored;
    the new owner's writes go through."""
    from server.errors import StaleOwner
    from server.sessions.actions import LogEntry
    from server.store.blobs import LocalBlobStore
    from server.store.interview_log import Append, InterviewLog

    interview = await new_interview(cluster)  # type: ignore[arg-type]

    async def jsonb(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )

    pool = await asyncpg.create_pool(cluster.database_url, min_size=1, max_size=2, init=jsonb)
    try:
        interview_id = uuid.UUID(interview.id)
        log = InterviewLog(pool, LocalBlobStore(Path("/nonexistent")))  # type: ignore[arg-type]
        old = await log.take_over(interview_id, "old-node")
        new = await log.take_over(interview_id, "new-node")
        assert new == old + 1

        def entry(offset: int, client_id: str) -> LogEntry:
            at = datetime.now(UTC)
            sender = f"candidate:{uuid.uuid4()}"
            return LogEntry(offset, "proctor", {"signal": "paste"}, at, client_id, sender)

        with pytest.raises(StaleOwner):
            await log.append(
                [
                    Append(interview_id, entry(1, "stale-1"), epoch=old),
                    Append(interview_id, entry(2, "stale-2"), epoch=old),
                ]
            )
        assert await log_of(cluster, interview.id) == []
        await log.append([Append(interview_id, entry(1, "fresh-1"), epoch=new)])
        assert [e["client_id"] for e in await log_of(cluster, interview.id)] == ["fresh-1"]
    finally:
        await pool.close()
        await close_clients(interview)


async def test_a_paused_owner_never_writes_after_the_takeover(cluster: Cluster) -> None:
    """Node a owns the interview and is paused (SIGSTOP) while the candidate's answer waits
    unread in its socket. The candidate goes to node b, which takes the interview over once
    a's lease has run out, and goes on. Then a wakes (SIGCONT) and reads the answer: its write
    is refused (a's epoch is old), so nothing of a's is stored after b began, nothing of it is
    acked, and a drops the interview."""
    restart_if_down(cluster)
    a, b, _c = cluster.nodes
    interview = await new_interview(cluster)  # type: ignore[arg-type]
    try:
        stale = await Candidate.open(a.url, interview)
        question = await stale.question()
        cluster.pause(a)
        try:
            # Sent to the paused node: it will read it only when it wakes.
            await stale.send(
                {"type": "answer", "client_id": "zombie", "question_id": question,
                 "text": "written by a node that has lost the interview"}
            )  # fmt: skip
            fresh = await Candidate.open(b.url, interview)
            assert await owner_of(cluster, interview.id) == "node1"
            await fresh.send({"type": "proctor", "client_id": "p1", "signal": "paste"})
            await fresh.ack("p1")
        finally:
            cluster.resume(a)
        # a wakes: whatever it does, it writes nothing more.
        await asyncio.wait_for(stale.closed.wait(), 30)
        assert not any(f["type"] == "ack" and f["client_id"] == "zombie" for f in stale.frames)
        await fresh.send({"type": "proctor", "client_id": "p2", "signal": "paste"})
        await fresh.ack("p2")
        log = await log_of(cluster, interview.id)
        assert_dense_and_unique(log)
        assert "zombie" not in [e["client_id"] for e in log]
        output = a.output()
        assert "session.fenced" in output or "cluster.lease_lost" in output
        await fresh.close()
        await stale.close()
    finally:
        await close_clients(interview)


# --- draining and Redis trouble ---------------------------------------------------------------


async def test_a_stopping_node_hands_its_interviews_over(cluster: Cluster) -> None:
    """Node a is stopped (SIGINT, a deploy): its candidate gets 1012, reconnects through the
    balancer to another node, which takes the interview over without waiting for a lease
    (a released it once its writes were committed); nothing acked is lost."""
    restart_if_down(cluster)
    a = cluster.nodes[0]
    interview = await new_interview(cluster)  # type: ignore[arg-type]
    try:
        candidate = await Candidate.open(a.url, interview)
        await candidate.send({"type": "proctor", "client_id": "p1", "signal": "paste"})
        first = await candidate.ack("p1")
        stopping = asyncio.create_task(asyncio.to_thread(a.stop))
        await asyncio.wait_for(candidate.closed.wait(), 30)
        assert candidate.ws.close_code == 1012
        await stopping
        # The ticket first: only the socket's wait for the interview is timed.
        ticket = await fetch_ticket(interview.candidate, interview.id)
        started = time.monotonic()
        again = await Candidate.open(cluster.url, interview, ticket)
        took = time.monotonic() - started
        assert again.ready["resumed"] is True and again.ready["last_client_id"] == "p1"
        assert took < cluster.lease_s, took  # released, not waited out
        owner = await owner_of(cluster, interview.id)
        assert owner in ("node1", "node2")
        await again.send({"type": "proctor", "client_id": "p2", "signal": "paste"})
        assert await again.ack("p2") > first
        log = await log_of(cluster, interview.id)
        assert_dense_and_unique(log)
        causes = [e["data"].get("cause") for e in log if e["kind"] == "connection"]
        assert "server_restart" in causes
        await again.close()
        await candidate.close()
    finally:
        await close_clients(interview)
        restart_if_down(cluster)


async def test_without_redis_new_sockets_wait_and_live_interviews_go_on(cluster: Cluster) -> None:
    """Redis goes away: a new socket is refused with 1013 (try again later) and a ticket with
    503 cluster_unavailable, while the candidate already connected keeps answering, each
    message committed and acked. Redis comes back empty (a restart): the nodes recover by
    themselves, the owner keeps its interview, and new sockets work again."""
    restart_if_down(cluster)
    assert cluster.redis is not None
    b = cluster.nodes[1]
    interview = await new_interview(cluster)  # type: ignore[arg-type]
    other = await new_interview(cluster)  # type: ignore[arg-type]
    try:
        candidate = await Candidate.open(b.url, interview)
        ticket = await fetch_ticket(other.candidate, other.id)
        cluster.redis.stop()
        try:
            await asyncio.sleep(2.5)  # a heartbeat or two notices
            assert await close_code_of(ws_url(b.url, ticket["url"])) == 1013
            refused = await other.candidate.post(f"/interviews/{other.id}/ticket")
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "cluster_unavailable"
            for n in range(3):
                await candidate.send({"type": "proctor", "client_id": f"q{n}", "signal": "paste"})
                await candidate.ack(f"q{n}")
        finally:
            cluster.redis.start()
        # Heartbeats and renewals see it back (a lease or so; longer on a loaded machine).
        deadline = time.monotonic() + 30
        await asyncio.sleep(cluster.lease_s)
        while (owner := await owner_of(cluster, interview.id)) != "node1":
            assert time.monotonic() < deadline, owner
            await asyncio.sleep(0.2)
        await candidate.send({"type": "proctor", "client_id": "after", "signal": "paste"})
        await candidate.ack("after")
        second = await Candidate.open(cluster.url, other)
        assert second.ready["type"] == "session.ready"
        log = await log_of(cluster, interview.id)
        assert_dense_and_unique(log)
        assert {"q0", "q1", "q2", "after"} <= {e["client_id"] for e in log}
        await second.close()
        await candidate.close()
    finally:
        await close_clients(interview)
        await close_clients(other)


async def test_a_recruiters_command_on_another_node_reaches_the_owner(cluster: Cluster) -> None:
    """The candidate is on node a; the recruiter watches on node c and injects a question:
    it reaches a (the owner), is asked next, and the recruiter's ack comes back to c."""
    restart_if_down(cluster)
    a, _b, c = cluster.nodes
    interview = await new_interview(cluster)  # type: ignore[arg-type]
    try:
        candidate = await Candidate.open(a.url, interview)
        assert await owner_of(cluster, interview.id) == "node0"
        first = await candidate.question()
        ticket = await fetch_ticket(interview.recruiter, interview.id)
        async with websockets.connect(
            ws_url(c.url, ticket["url"]),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ) as watcher:
            ready = orjson.loads(await asyncio.wait_for(watcher.recv(), 10))
            assert ready["type"] == "session.ready"
            await watcher.send(
                orjson.dumps(
                    {"type": "inject_question", "client_id": "r1", "text": "Why OpenHire?"}
                ).decode()
            )
            ack = None
            while ack is None:
                frame = orjson.loads(await asyncio.wait_for(watcher.recv(), 30))
                if frame["type"] == "ack":
                    ack = frame
                assert frame["type"] != "error", frame
            assert ack["client_id"] == "r1"
        await candidate.send(
            {"type": "answer", "client_id": "a1", "question_id": first, "text": LONG_ANSWER}
        )
        injected = await candidate.wait_for(
            lambda f: f["type"] == "question.done" and f["source"] == "recruiter"
        )
        assert injected["text"] == "Why OpenHire?"
        log = await log_of(cluster, interview.id)
        assert [e["offset"] for e in log if e["client_id"] == "r1"] == [ack["offset"]]
        await candidate.close()
    finally:
        await close_clients(interview)
