"""One rule for what clients may send, over HTTP and over the interview sockets alike: text
PostgreSQL cannot store (NUL, unpaired surrogates) and blank required text are refused before
anything is stored or acked, and so is a ``since`` outside 0..2**63 - 1 (422 over HTTP, an
``error`` then close code 4022 on the watcher socket). Checked against the real database."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import orjson
import pytest
import websockets

from clients.interview_client import (
    SUBPROTOCOL,
    CandidateSession,
    WatcherSession,
    fetch_ticket,
    ws_url,
)
from server.store.database import _init_connection
from tests.conftest import job_payload
from tests.live_helpers import LONG_ANSWER, close_clients, new_interview, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_OFFSET = 2**63 - 1
BLANK = "String should not be blank"
NUL = "String must not contain NUL characters"
# Malformed or out of range: the same list for HTTP and the socket.
BAD_SINCE = ["99999999999999999999", str(MAX_OFFSET + 1), "-1", "abc", "1.5", "", "0x10"]


def _random_text(rng: random.Random) -> str:
    """Up to 12 code points from anywhere in Unicode, NUL and surrogates included now and
    then, and the awkward ones (noncharacters, BOM, line separators) often."""
    awkward = [0, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFFFE, 0xFFFF, 0xFEFF, 0x2028, 0x10FFFF, 0x7F]
    points = []
    for _ in range(rng.randint(1, 12)):
        roll = rng.random()
        if roll < 0.15:
            points.append(rng.choice(awkward))
        elif roll < 0.6:
            points.append(rng.randint(0x20, 0x7E))
        else:
            points.append(rng.randint(1, 0x10FFFF))
    return "".join(map(chr, points))


async def test_the_rule_refuses_exactly_what_postgresql_cannot_store(server: Any) -> None:
    from server.protocol.text import unstorable

    conn = await asyncpg.connect(server.dsn)
    try:
        await _init_connection(conn)  # jsonb through orjson, as the server's pool does
        await conn.execute("create temporary table sample (body text, doc jsonb)")
        rng = random.Random(20261127)
        samples = ["a\x00b", "\ud800", "x\udfff", "\ufffe\uffff", "\U0010ffff", "\u2028 e\u0301"]
        samples += [_random_text(rng) for _ in range(400)]
        refused = 0
        for text in samples:
            problem = unstorable(text)
            for column, value in (("body", text), ("doc", {"text": text})):
                try:
                    async with conn.transaction():
                        back = await conn.fetchval(
                            f"insert into sample ({column}) values ($1) returning {column}", value
                        )
                except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    assert problem is not None, (text, column, exc)
                    refused += 1
                else:
                    assert problem is None, (text, column)
                    assert back == value  # stored as sent
        assert refused >= 40  # the sample did reach the refused side
        # A JSON text escaping an unpaired surrogate is refused by jsonb itself, too.
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetchval("""select '{"t": "\\ud800"}'::jsonb""")
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetchval("""select '{"t": "\\u0000"}'::jsonb""")
    finally:
        await conn.close()


async def test_blank_or_unstorable_text_is_refused_on_the_sockets_and_nothing_is_stored(
    server: Any,
) -> None:
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        question = await session.next_question()
        await session.proctor("window_focus")  # all before is committed
        before = await stored_events(server, iv.id)
        qid = question["question_id"]
        for text, words in [
            (" \n\t ", BLANK),
            ("\u00a0\u3000\u2003", BLANK),  # Unicode whitespace is blank too
            ("my answer\u0000", NUL),
            ("\u0000", NUL),
        ]:
            reply = await session.answer(qid, text)
            assert (reply["type"], reply["code"]) == ("error", "invalid"), (text, reply)
            assert reply["message"] == f"answer: text: {words}"
        # An escaped unpaired surrogate is not even JSON to the server.
        frame = '{"type": "answer", "client_id": "s1", "question_id": "%s", "text": "\\ud800"}'
        await session.ws.send(frame % qid)
        assert (await session.receive_until("error"))["code"] == "malformed"
        for text, words in (("   ", BLANK), ("Why?\u0000", NUL)):
            reply = await watcher.inject_question(text)
            assert (reply["type"], reply["code"]) == ("error", "invalid"), (text, reply)
            assert reply["message"] == f"inject_question: text: {words}"
        assert await stored_events(server, iv.id) == before
        # The question is still open; a real answer is stored trimmed, and acked.
        ack = await session.answer(qid, f"  {LONG_ANSWER}\n")
        assert ack["type"] == "ack"
        stored = {e["offset"]: e for e in await stored_events(server, iv.id)}
        assert stored[ack["offset"]]["data"]["text"] == LONG_ANSWER
        await watcher.close()
        await session.close()
    finally:
        await close_clients(iv)


async def test_http_refuses_the_same_text_with_the_same_words(server: Any) -> None:
    iv = await new_interview(server)
    try:
        for title, words in [("\u00a0\u3000\u2003", BLANK), ("Engineer\u0000", NUL)]:
            resp = await iv.recruiter.post("/jobs", json=job_payload(title=title))
            assert resp.status_code == 422, resp.text
            assert resp.json()["error"]["details"][0]["msg"] == words
    finally:
        await close_clients(iv)


async def test_since_out_of_range_gets_422_over_http_and_4022_on_the_socket(server: Any) -> None:
    iv = await new_interview(server)
    try:
        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        for since in BAD_SINCE:
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": since})
            assert resp.status_code == 422, (since, resp.text)
            assert resp.json()["error"]["code"] == "validation_failed"
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts", params={"since": since})
            assert resp.status_code == 422, (since, resp.text)

            ticket = await fetch_ticket(iv.recruiter, iv.id)
            url = ws_url(server.url, ticket["url"]) + f"&since={since}"
            async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
                error = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
                assert (error["type"], error["code"]) == ("error", "invalid"), since
                assert error["message"].startswith("since: ")
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 20)
                assert ws.close_code == 4022, since
        # The largest offset is in range: nothing after it, everywhere.
        resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": MAX_OFFSET})
        assert resp.status_code == 200 and resp.json()["items"] == []
        watcher = await WatcherSession.open(iv.recruiter, iv.id, since=MAX_OFFSET)
        assert watcher.ready is not None and watcher.ready["role"] == "watcher"
        await watcher.close()
        # The candidate's interview went on untouched.
        assert (await session.proctor("paste"))["type"] == "ack"
        await session.close()
    finally:
        await close_clients(iv)
