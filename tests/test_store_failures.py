"""An ack means stored, whatever the database does: faults injected into the real writer.

Against a real server and its real PostgreSQL, a trigger on ``interview_events`` (installed by
the test) fails chosen inserts with chosen SQLSTATEs: permanent ones (the event is refused for
good), transient ones (serialization failure, deadlock, too many connections, asyncpg's
``AdminShutdownError`` 57P01 and ``CrashShutdownError`` 57P02, cannot connect now), and a real
lost connection (the backend terminates itself). Over seeded random runs, the client ids the
candidate got an ack for are exactly those stored, at the acked offsets, and offsets are dense.

The one fault a trigger cannot make, a connection lost after the commit (the reply never
arrives), is made by a subclass of asyncpg's real connection under the real EventWriter.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from clients.interview_client import CandidateSession
from server.sessions.actions import LogEntry, Persist, Screenshot
from server.sessions.persistence import EventWriter
from server.store.blobs import BlobStore, LocalBlobStore
from server.store.database import _init_connection
from server.store.interview_log import InterviewLog
from tests.live_helpers import LONG_ANSWER, close_clients, jpeg, new_interview, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

PERMANENT = ["22P05", "23514", "P0001"]  # untranslatable character, check violation, raised
TRANSIENT = ["40001", "40P01", "53300", "57P01", "57P02", "57P03", "terminate"]

INSTALL = """
create table public.test_faults (
  key text primary key, sqlstate text not null, times int not null, seq text not null
);
create function public.test_fault() returns trigger language plpgsql as $$
declare
  fault record;
begin
  select * into fault from public.test_faults
   where key = coalesce(new.client_id, 'kind:' || new.kind);
  -- nextval is not rolled back with the failed insert: it counts the attempts.
  if not found or nextval(fault.seq) > fault.times then
    return new;
  end if;
  if fault.sqlstate = 'terminate' then
    perform pg_terminate_backend(pg_backend_pid());
    perform pg_sleep(10);  -- the termination lands here
  end if;
  raise exception 'injected fault % on %', fault.sqlstate, coalesce(new.client_id, new.kind)
    using errcode = fault.sqlstate;
end $$;
create trigger test_fault before insert on public.interview_events
  for each row execute function public.test_fault();
"""


async def plant(conn: asyncpg.Connection[Any], key: str, sqlstate: str, times: int) -> None:
    seq = f"test_fault_{uuid.uuid4().hex[:12]}"
    await conn.execute(f"create sequence public.{seq}")
    await conn.execute(
        "insert into public.test_faults (key, sqlstate, times, seq) values ($1, $2, $3, $4)"
        " on conflict (key) do update set sqlstate = $2, times = $3, seq = $4",
        key,
        sqlstate,
        times,
        f"public.{seq}",
    )


async def one_run(server: Any, admin: asyncpg.Connection[Any], seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    iv = await new_interview(
        server, question_count=30, follow_ups_per_question=0, answer_time_limit_s=600
    )
    acked: dict[str, int] = {}
    refused: dict[str, str] = {}
    stats = {"permanent": 0, "transient": 0}
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = (await session.next_question())["question_id"]
        if rng.random() < 0.5:
            # A server event fails for good once: the question being asked next.
            await plant(admin, "kind:question", rng.choice(PERMANENT), 1)
        for burst in range(rng.randint(4, 8)):
            futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
            for n in range(rng.randint(1, 4)):
                cid = f"s{seed}-{burst}-{n}"
                roll = rng.random()
                if roll < 0.2:
                    await plant(admin, cid, rng.choice(PERMANENT), 1000)
                    stats["permanent"] += 1
                elif roll < 0.5:
                    await plant(admin, cid, rng.choice(TRANSIENT), rng.randint(1, 2))
                    stats["transient"] += 1
                if rng.random() < 0.3:
                    message = {"type": "answer", "question_id": question, "text": LONG_ANSWER}
                else:
                    message = {"type": "proctor", "signal": rng.choice(["paste", "tab_hidden"])}
                futures[cid] = asyncio.get_running_loop().create_future()
                session.acks[cid] = futures[cid]
                await session.ws.send(orjson.dumps({**message, "client_id": cid}).decode())
            for cid, future in futures.items():
                reply = await asyncio.wait_for(future, 30)
                if reply["type"] == "ack":
                    acked[cid] = reply["offset"]
                else:
                    refused[cid] = reply["code"]
            # The question to answer next: the last one asked (again, after a failure).
            while not session.messages.empty():
                message = session.messages.get_nowait()
                if message["type"] == "question.done":
                    question = message["question_id"]
        await session.close()

        events = await stored_events(server, iv.id)
        context = f"seed {seed}"
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1)), context
        stored = {e["client_id"]: e["offset"] for e in events if e["client_id"] is not None}
        assert stored == acked, context
        # Refused: an error, never an ack, never stored. Permanent faults are internal_error;
        # messages sent behind one are forgotten with it (overloaded: resend).
        assert not set(refused) & set(stored), context
        assert set(refused.values()) <= {"internal_error", "overloaded", "stale_question"}
        # A reconnecting candidate is told the last message stored, at the last offset.
        back = await CandidateSession.open(iv.candidate, iv.id)
        assert back.ready is not None
        candidate_ids = [e["client_id"] for e in events if e["client_id"] is not None]
        assert back.ready["last_client_id"] == (candidate_ids[-1] if candidate_ids else None)
        assert back.ready["offset"] >= events[-1]["offset"]
        await back.close()
        stats["refused"] = len(refused)
        stats["acked"] = len(acked)
        return stats
    finally:
        await close_clients(iv)


async def test_acked_client_ids_are_exactly_the_stored_ones_whatever_fails(make_server: Any):
    srv = make_server()
    srv.start()
    admin = await asyncpg.connect(srv.dsn)
    try:
        await admin.execute(INSTALL)
        totals: dict[str, int] = {}
        for seed in range(8):
            for key, value in (await one_run(srv, admin, seed)).items():
                totals[key] = totals.get(key, 0) + value
        # The runs did hit both kinds of fault, and some messages got through.
        assert totals["permanent"] >= 3 and totals["transient"] >= 5, totals
        assert totals["acked"] >= 20 and totals["refused"] >= 3, totals
        # The two errors asyncpg raises when PostgreSQL shuts down, each planted on a message
        # sent alone: in the random runs a planted message may be forgotten, unwritten, behind
        # a permanent failure, so they are not sure to fire there.
        iv = await new_interview(srv, question_count=3, answer_time_limit_s=600)
        try:
            session = await CandidateSession.open(iv.candidate, iv.id)
            await session.next_question()
            acked: dict[str, int] = {}
            for sqlstate in ("57P01", "57P02"):
                cid = f"shutdown-{sqlstate}"
                await plant(admin, cid, sqlstate, 1)
                reply = await session.request(
                    {"type": "proctor", "signal": "paste", "client_id": cid}
                )
                assert reply["type"] == "ack", reply
                acked[cid] = reply["offset"]
            await session.close()
            events = await stored_events(srv, iv.id)
            stored = {e["client_id"]: e["offset"] for e in events if e["client_id"] is not None}
            assert stored == acked
        finally:
            await close_clients(iv)
        log = srv.output()
        assert "event_writer.retrying" in log and "session.event_forgotten" in log
        assert "AdminShutdownError" in log and "CrashShutdownError" in log
    finally:
        await admin.close()


async def test_a_permanent_failure_of_an_answer_leaves_the_question_open(make_server: Any):
    srv = make_server()
    srv.start()
    admin = await asyncpg.connect(srv.dsn)
    iv = await new_interview(srv)
    try:
        await admin.execute(INSTALL)
        await plant(admin, "doomed", "22P05", 1000)
        session = await CandidateSession.open(iv.candidate, iv.id)
        question = await session.next_question()
        await session.proctor("paste")  # everything before it is committed
        before = await stored_events(srv, iv.id)
        reply = await session.answer(question["question_id"], LONG_ANSWER, client_id="doomed")
        assert (reply["type"], reply["code"]) == ("error", "internal_error")
        # The same question is asked again (the next one may have begun meanwhile: the
        # answer looked fine until the database refused it). Nothing was stored.
        async with asyncio.timeout(10):
            while (await session.next_question())["question_id"] != question["question_id"]:
                pass
        await session.proctor("window_focus")
        events = await stored_events(srv, iv.id)
        assert [e["offset"] for e in events] == list(range(1, len(events) + 1))
        assert [e["kind"] for e in events[len(before) :]] == ["proctor"]
        ack = await session.answer(question["question_id"], LONG_ANSWER, client_id="fine")
        assert ack["type"] == "ack"
        await session.close()
    finally:
        await admin.close()
        await close_clients(iv)


class RepliesLost(asyncpg.Connection):  # type: ignore[type-arg]
    """asyncpg's real connection, whose next ``lose`` writes commit and then lose their reply:
    what a connection dropped right after COMMIT looks like to the server."""

    lose = 0

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        await super().executemany(command, args, timeout=timeout)
        if RepliesLost.lose:
            RepliesLost.lose -= 1
            raise asyncpg.ConnectionDoesNotExistError("the connection was lost after the commit")


class Recorder:
    """The writer's other side (an EventSink): what it was told."""

    # A single node: no fencing epoch.
    epoch = None

    def __init__(self) -> None:
        self.committed: list[int] = []
        self.failed: list[int] = []

    def on_fenced(self) -> None:
        raise AssertionError("a single node is never fenced")

    def wants_stored(self, generation: int) -> bool:
        return True

    def on_committed(self, entries: list[LogEntry]) -> None:
        self.committed += [e.offset for e in entries]

    def on_failed(self, entry: LogEntry, generation: int, reason: str) -> None:
        self.failed.append(entry.offset)


@asynccontextmanager
async def own_writer(
    server: Any,
    blobs: BlobStore,
    connection_class: type[asyncpg.Connection[Any]] = asyncpg.Connection,
) -> AsyncIterator[tuple[Any, EventWriter]]:
    """A scheduled interview (its log is the test's to write) and a real EventWriter of the
    test's own, over a pool of ``connection_class`` and ``blobs``; all closed after."""
    iv = await new_interview(server)
    pool = await asyncpg.create_pool(
        server.dsn, min_size=1, max_size=2, init=_init_connection, connection_class=connection_class
    )
    writer = EventWriter(InterviewLog(pool, blobs))
    writer.start()
    try:
        yield iv, writer
    finally:
        await writer.close(5)
        await pool.close()
        await close_clients(iv)


async def test_a_commit_whose_reply_was_lost_is_reported_once_and_not_written_twice(
    server: Any, tmp_path: Any
) -> None:
    async with own_writer(server, LocalBlobStore(tmp_path), RepliesLost) as (iv, writer):
        sink = Recorder()
        sender = f"candidate:{uuid.uuid4()}"
        at = datetime.now(UTC)
        RepliesLost.lose = 1
        for offset in (1, 2, 3):
            entry = LogEntry(offset, "proctor", {"signal": "paste"}, at, f"lost-{offset}", sender)
            writer.submit(uuid.UUID(iv.id), Persist(entry), sink)
        assert await writer.drain(30)
        # Retried, found committed, reported once: no duplicate, no failure, no gap.
        assert RepliesLost.lose == 0
        assert (sorted(sink.committed), sink.failed) == ([1, 2, 3], [])
        stored = [(e["offset"], e["client_id"]) for e in await stored_events(server, iv.id)]
        assert stored == [(1, "lost-1"), (2, "lost-2"), (3, "lost-3")]


class GatedBlobs(LocalBlobStore):
    """The real local store, whose writes wait for ``gate`` and whose first ``fail`` writes
    raise; it records the keys of each write."""

    def __init__(self, root: Any, fail: int = 0) -> None:
        super().__init__(root)
        self.gate = asyncio.Event()
        self.fail = fail
        self.writes: list[list[str]] = []

    async def put_many(self, blobs: Any, *, within_s: float | None = None) -> None:
        self.writes.append([key for key, _, _ in blobs])
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise OSError("injected: the disk is full")
        await super().put_many(blobs, within_s=within_s)


def shot(offset: int, sender: str) -> Persist:
    image = jpeg()
    data = {"content_type": "image/jpeg", "size_bytes": len(image), "width": 320, "height": 240}
    entry = LogEntry(offset, "screenshot", data, datetime.now(UTC), f"shot-{offset}", sender)
    return Persist(entry, screenshot=Screenshot(image, "image/jpeg"))


@pytest.mark.parametrize("fail", [0, 1], ids=["stored-ahead", "stage-failed"])
async def test_no_entry_is_committed_before_its_screenshot_is_stored(
    server: Any, tmp_path: Any, fail: int
) -> None:
    blobs = GatedBlobs(tmp_path, fail=fail)
    async with own_writer(server, blobs) as (iv, writer):
        sink = Recorder()
        sender = f"candidate:{uuid.uuid4()}"
        writer.submit(uuid.UUID(iv.id), shot(1, sender), sink)
        entry = LogEntry(2, "proctor", {"signal": "paste"}, datetime.now(UTC), "after", sender)
        writer.submit(uuid.UUID(iv.id), Persist(entry), sink)
        # The blob stage has the screenshot and is held: nothing is committed, not even the
        # entry behind it (the log keeps its order).
        assert not await writer.drain(0.5)
        assert blobs.writes == [[f"screenshots/{iv.id}/000001.jpg"]]
        assert sink.committed == [] and await stored_events(server, iv.id) == []
        blobs.gate.set()
        assert await writer.drain(30)
        assert (sink.committed, sink.failed) == ([1, 2], [])
        assert [e["offset"] for e in await stored_events(server, iv.id)] == [1, 2]
        assert (tmp_path / "screenshots" / iv.id / "000001.jpg").read_bytes() == jpeg()
        # Stored ahead: written once. The stage failed: the writer wrote it again itself
        # before committing.
        assert len(blobs.writes) == 1 + fail


class HeldCommits(asyncpg.Connection):  # type: ignore[type-arg]
    """asyncpg's real connection, whose writes wait while ``held`` is clear."""

    held: asyncio.Event | None = None

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        if HeldCommits.held is not None:
            await HeldCommits.held.wait()
        await super().executemany(command, args, timeout=timeout)


async def test_screenshots_are_stored_while_the_batch_before_them_commits(
    server: Any, tmp_path: Any
) -> None:
    held = HeldCommits.held = asyncio.Event()
    try:
        async with own_writer(server, LocalBlobStore(tmp_path), HeldCommits) as (iv, writer):
            try:
                sink = Recorder()
                sender = f"candidate:{uuid.uuid4()}"
                at = datetime.now(UTC)
                entry = LogEntry(1, "proctor", {"signal": "paste"}, at, "first", sender)
                writer.submit(uuid.UUID(iv.id), Persist(entry), sink)
                await asyncio.sleep(0.2)  # the writer is in the first batch's commit, held
                writer.submit(uuid.UUID(iv.id), shot(2, sender), sink)
                blob = tmp_path / "screenshots" / iv.id / "000002.jpg"
                for _ in range(100):  # the blob stage writes it meanwhile
                    if blob.exists():
                        break
                    await asyncio.sleep(0.05)
                assert blob.read_bytes() == jpeg()
                assert sink.committed == []
                held.set()
                assert await writer.drain(30)
                assert (sink.committed, sink.failed) == ([1, 2], [])
                assert [e["offset"] for e in await stored_events(server, iv.id)] == [1, 2]
            finally:
                held.set()  # so that the writer can drain and close
    finally:
        HeldCommits.held = None


async def test_an_interview_waiting_for_its_screenshot_does_not_hold_back_another(
    server: Any, tmp_path: Any
) -> None:
    """An interview whose screenshot's blob is not stored yet waits, from that screenshot on;
    another interview's entries, submitted after it, are committed meanwhile."""
    blobs = GatedBlobs(tmp_path)
    other = await new_interview(server)
    try:
        async with own_writer(server, blobs) as (waiting, writer):
            try:
                held, free = Recorder(), Recorder()
                sender = f"candidate:{uuid.uuid4()}"
                at = datetime.now(UTC)
                writer.submit(uuid.UUID(waiting.id), shot(1, sender), held)
                after = LogEntry(2, "proctor", {"signal": "paste"}, at, "after-shot", sender)
                writer.submit(uuid.UUID(waiting.id), Persist(after), held)
                for offset in (1, 2):  # submitted after the held screenshot
                    entry = LogEntry(
                        offset, "proctor", {"signal": "paste"}, at, f"other-{offset}", sender
                    )
                    writer.submit(uuid.UUID(other.id), Persist(entry), free)
                for _ in range(400):
                    if free.committed == [1, 2]:
                        break
                    await asyncio.sleep(0.05)
                assert free.committed == [1, 2]
                assert [e["offset"] for e in await stored_events(server, other.id)] == [1, 2]
                # The waiting interview: nothing of it, not even the entry after the
                # screenshot, which has no blob of its own; both still count as queued.
                assert held.committed == [] and await stored_events(server, waiting.id) == []
                assert writer.queued == 2
                blobs.gate.set()
                assert await writer.drain(30)
                assert (held.committed, held.failed) == ([1, 2], [])
                assert [e["offset"] for e in await stored_events(server, waiting.id)] == [1, 2]
            finally:
                blobs.gate.set()
    finally:
        await close_clients(other)
