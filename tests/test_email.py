"""Email, with OPENHIRE_SMTP_URL set, to a local SMTP server (aiosmtpd): a candidate is emailed
when an interview is scheduled (with the link) and when it is about to expire; an SMTP server
that is down fails nothing; with the URL unset nothing is queued or sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import ServerProcess, free_port
from tests.notify_helpers import Person, apply, person, post_job, schedule

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def people() -> AsyncIterator[Any]:
    made: list[Person] = []

    async def make(server: ServerProcess, role: str, name: str | None = None) -> Person:
        made.append(await person(server, role, name))
        return made[-1]

    yield make
    for p in made:
        await p.http.aclose()


async def emailed(inbox: Inbox, count: int, timeout: float = 20) -> list[Any]:
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < count:
        assert time.monotonic() < deadline, [m["Subject"] for m in inbox.messages]
        await asyncio.sleep(0.1)
    return inbox.messages


async def outbox(server: ServerProcess) -> list[Any]:
    conn = await asyncpg.connect(server.dsn)
    try:
        return list(
            await conn.fetch("select attempts, sent_at, last_error from openhire.email_outbox")
        )
    finally:
        await conn.close()


@pytest.mark.slow
async def test_candidates_are_emailed_when_scheduled_and_before_expiry(
    make_server: Any, smtp: tuple[Inbox, int], people: Any
) -> None:
    inbox, port = smtp
    srv = make_server(
        OPENHIRE_SMTP_URL=f"smtp://127.0.0.1:{port}?from=OpenHire%20%3Chire%40example.test%3E",
        OPENHIRE_PUBLIC_URL="https://hire.example.test",
        OPENHIRE_EXPIRY_CHECK_INTERVAL="0.3",
        OPENHIRE_EXPIRY_REMINDER="3",
    )
    srv.start()
    recruiter = await people(srv, "recruiter")
    candidate = await people(srv, "candidate", "Erin Example")
    email_address = (await candidate.http.get("/users/me")).json()["email"]
    application = await apply(candidate, await post_job(recruiter, "Mail Engineer"))
    interview = await schedule(recruiter, application, expires_in_s=6)
    scheduled, reminder = await emailed(inbox, 2)
    assert [e.rcpt_tos for e in inbox.envelopes] == [[email_address], [email_address]]
    assert scheduled["From"] == "OpenHire <hire@example.test>"
    assert scheduled["To"] == f"Erin Example <{email_address}>"
    assert scheduled["Subject"] == "Your interview for Mail Engineer is ready"
    link = f"https://hire.example.test/#/interviews/{interview}/room"
    assert link in scheduled.get_content() and "Hello Erin Example" in scheduled.get_content()
    assert reminder["Subject"] == "Your interview for Mail Engineer expires soon"
    assert link in reminder.get_content()
    # The recruiter's notifications are not emailed.
    await asyncio.sleep(4)
    assert len(inbox.messages) == 2
    assert [(r["attempts"], r["sent_at"] is not None) for r in await outbox(srv)] == [
        (1, True),
        (1, True),
    ]


async def test_an_smtp_server_that_is_down_fails_nothing(make_server: Any, people: Any) -> None:
    srv = make_server(OPENHIRE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    srv.start()
    recruiter = await people(srv, "recruiter")
    candidate = await people(srv, "candidate")
    await schedule(recruiter, await apply(candidate, await post_job(recruiter)))
    deadline = time.monotonic() + 15
    while not (rows := [r for r in await outbox(srv) if r["attempts"]]):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    (row,) = rows
    assert row["sent_at"] is None and "SMTP" in row["last_error"]
    assert (await candidate.http.get("/notifications")).json()["items"][0]["kind"] == (
        "interview.scheduled"
    )


async def test_without_smtp_nothing_is_queued(server: ServerProcess, people: Any) -> None:
    recruiter = await people(server, "recruiter")
    candidate = await people(server, "candidate")
    interview = await schedule(recruiter, await apply(candidate, await post_job(recruiter)))
    conn = await asyncpg.connect(server.dsn)
    try:
        queued = await conn.fetchval(
            "select count(*) from openhire.email_outbox o join public.notifications n"
            " on n.id = o.notification_id where n.interview_id = $1",
            uuid.UUID(interview),
        )
    finally:
        await conn.close()
    assert queued == 0


@pytest.mark.parametrize(
    "url", ["http://mail.example.test", "smtp://", "smtp://mail.example.test?from=nobody"]
)
async def test_a_bad_smtp_url_stops_the_server_with_one_line(make_server: Any, url: str) -> None:
    srv = make_server(OPENHIRE_SMTP_URL=url)
    with pytest.raises(RuntimeError, match="openhire: OPENHIRE_SMTP_URL"):
        await asyncio.to_thread(srv.start)
