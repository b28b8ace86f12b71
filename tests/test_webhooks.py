"""Webhooks against a receiver on a loopback port that checks every request by the Standard
Webhooks rules (tests/notify_helpers.py, written apart from the server's signing code): events
from the real flow delivered at least once through failures, timeouts and 500s, retries spaced
as documented, secret rotation, endpoints disabled and their owners told, re-sends, SSRF
refusals at registration and at connect time, a server SIGKILLed mid-delivery, two servers on
one queue."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import pytest

from server.notify.signing import new_secret
from server.notify.targets import WebhookSender
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    running_server,
)
from tests.notify_helpers import (
    Person,
    Receiver,
    apply,
    open_stream,
    person,
    post_job,
    schedule,
    verify_standard_webhook,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIRST_RETRY_S = 0.05
TIMEOUT_S = 1.0
ENV = {
    "OPENHIRE_WEBHOOKS_ALLOW_PRIVATE": "1",
    "OPENHIRE_WEBHOOK_TIMEOUT": str(TIMEOUT_S),
    "OPENHIRE_WEBHOOK_FIRST_RETRY": str(FIRST_RETRY_S),
    "OPENHIRE_WEBHOOK_MAX_ATTEMPTS": "6",
    "OPENHIRE_EXPIRY_CHECK_INTERVAL": "0.2",
    "OPENHIRE_EXPIRY_REMINDER": "3",
}
ALL_EVENTS = [
    "application.created",
    "interview.started",
    "interview.completed",
    "interview.abandoned",
    "interview.expired",
    "evaluation.ready",
]


@pytest.fixture(scope="module")
def hook_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    with running_server(
        database_backend, tmp_path_factory.mktemp("hooks") / "data", **ENV, check_exit=True
    ) as srv:
        yield srv


@pytest.fixture
async def people(hook_server: ServerProcess) -> AsyncIterator[Any]:
    made: list[Person] = []

    async def make(role: str, server: ServerProcess | None = None) -> Person:
        made.append(await person(server or hook_server, role))
        return made[-1]

    yield make
    for p in made:
        await p.http.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def add_webhook(
    recruiter: Person, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    resp = await recruiter.http.post("/webhooks", json={"url": url, "events": events or ALL_EVENTS})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    assert body["secret"].startswith("whsec_")
    return body


async def deliveries(recruiter: Person, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    resp = await recruiter.http.get(
        f"/webhooks/{webhook_id}/deliveries", params={"limit": 100, **params}
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def settled(
    recruiter: Person, webhook_id: str, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """The webhook's deliveries once ``count`` of them are no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        items = await deliveries(recruiter, webhook_id)
        done = [d for d in items if d["state"] != "pending"]
        if len(done) >= count:
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.2)


def when(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.slow
async def test_each_event_is_delivered_through_failures_with_retries_spaced_as_documented(
    people: Any, receiver: Receiver
) -> None:
    # Each message fails 0 to 3 times before it is taken: a 500, a timeout (no answer within
    # the sender's 1 s), a 404, then a 500 again.
    failures = [500, "hang", 404, 500]
    plan: dict[str, int] = {}

    def behave(request: Any, seen: int) -> Any:
        message_id = request.headers["webhook-id"]
        fails = plan.setdefault(message_id, len(plan) % 4)
        return failures[seen] if seen < fails else 200

    receiver.behave = behave
    receiver.hang_s = TIMEOUT_S + 1
    recruiter = await people("recruiter")
    hook = await add_webhook(recruiter, receiver.url)
    job = await post_job(recruiter, "Hooked Engineer")
    applications = [await apply(await people("candidate"), job) for _ in range(8)]
    items = await settled(recruiter, hook["id"], len(applications))

    assert [d["state"] for d in items] == ["delivered"] * len(applications)
    # Every request the receiver got, failed or not, carries a valid signature.
    assert receiver.received
    for request in receiver.received:
        assert verify_standard_webhook(hook["secret"], request.headers, request.body)
        assert request.headers["content-type"] == "application/json"
    by_application = {}
    for delivery in items:
        taken = [r for r in receiver.seen(delivery["message_id"]) if r.answered == "200"]
        assert len(taken) == 1, delivery
        body = orjson.loads(taken[0].body)
        assert body["type"] == "application.created" == delivery["kind"]
        assert body["data"]["job_id"] == job and body["data"]["job_title"] == "Hooked Engineer"
        by_application[body["data"]["application_id"]] = delivery
        # As many attempts as the receiver failed it, plus the one taken, each recorded.
        fails = plan[delivery["message_id"]]
        attempts = delivery["attempts"]
        assert [a["number"] for a in attempts] == list(range(1, fails + 2))
        expected = {500: ("failed", 500), "hang": ("timeout", None), 404: ("failed", 404)}
        assert [(a["outcome"], a["status_code"]) for a in attempts] == [
            *(expected[f] for f in failures[:fails]),
            ("delivered", 200),
        ]
        assert all(a["latency_ms"] is not None for a in attempts)
        # Retry n waits at least first_retry x 3^(n-1) less the jitter's quarter.
        for n, (before, after) in enumerate(itertools.pairwise(attempts), start=1):
            waited = when(after["started_at"]) - when(before["started_at"])
            assert waited >= FIRST_RETRY_S * 3 ** (n - 1) * 0.75 - 0.005, (n, waited)
    assert set(by_application) == set(applications)


async def test_a_rotated_secret_signs_beside_the_old_one(people: Any, receiver: Receiver) -> None:
    recruiter = await people("recruiter")
    hook = await add_webhook(recruiter, receiver.url)
    test = await recruiter.http.post(f"/webhooks/{hook['id']}/test")
    assert test.status_code == 202, test.text
    await settled(recruiter, hook["id"], 1)
    rotated = await recruiter.http.post(f"/webhooks/{hook['id']}/secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"] and rotated.json()["previous_secret_until"]
    assert (await recruiter.http.post(f"/webhooks/{hook['id']}/test")).status_code == 202
    await settled(recruiter, hook["id"], 2)
    first, second = receiver.received
    assert len(first.headers["webhook-signature"].split(" ")) == 1
    assert len(second.headers["webhook-signature"].split(" ")) == 2
    # A receiver with either secret accepts the message; one with neither does not.
    assert verify_standard_webhook(hook["secret"], second.headers, second.body)
    assert verify_standard_webhook(new_secret, second.headers, second.body)
    assert not verify_standard_webhook(new_secret, first.headers, first.body)
    assert not verify_standard_webhook(new_secret, second.headers, second.body + b" ")
    assert orjson.loads(second.body)["type"] == "webhook.test"
    # The secret is shown when made and when rotated, never listed.
    listed = (await recruiter.http.get("/webhooks")).json()["items"]
    assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]


@pytest.mark.slow
async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told(
    people: Any, receiver: Receiver
) -> None:
    receiver.behave = lambda request, seen: 500
    recruiter = await people("recruiter")
    hook = await add_webhook(recruiter, receiver.url, ["application.created"])
    job = await post_job(recruiter)
    async with open_stream(recruiter) as stream:
        await stream.started()  # subscribed, from now on
        await apply(await people("candidate"), job)
        await stream.until(lambda e: "webhook.disabled" in stream.kinds())
    (delivery,) = await settled(recruiter, hook["id"], 1)
    assert delivery["state"] == "failed" and len(delivery["attempts"]) == 6
    assert delivery["last_status"] == 500 and "500" in delivery["last_error"]
    got = (await recruiter.http.get(f"/webhooks/{hook['id']}")).json()
    assert got["enabled"] is False and "6 attempts" in got["disabled_reason"]
    told = next(e.data for e in stream.events if e.data["kind"] == "webhook.disabled")
    assert told["payload"]["webhook_id"] == hook["id"]
    # Nothing more is queued to it, and it cannot be re-sent to until enabled again.
    await apply(await people("candidate"), job)
    assert len(await deliveries(recruiter, hook["id"])) == 1
    path = f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend"
    refused = await recruiter.http.post(path)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "webhook_disabled"
    # Enabled again, with the receiver fixed: the failed message is re-sent, same id.
    receiver.behave = lambda request, seen: 200
    enabled = await recruiter.http.patch(f"/webhooks/{hook['id']}", json={"enabled": True})
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    again = await recruiter.http.post(path)
    assert again.status_code == 202, again.text
    assert again.json()["message_id"] == delivery["message_id"]
    items = await settled(recruiter, hook["id"], 2)
    assert [d["state"] for d in items] == ["delivered", "failed"]
    assert [r.answered for r in receiver.seen(delivery["message_id"])] == ["500"] * 6 + ["200"]


async def test_410_gone_disables_at_once(people: Any, receiver: Receiver) -> None:
    receiver.behave = lambda request, seen: 410
    recruiter = await people("recruiter")
    hook = await add_webhook(recruiter, receiver.url)
    assert (await recruiter.http.post(f"/webhooks/{hook['id']}/test")).status_code == 202
    (delivery,) = await settled(recruiter, hook["id"], 1)
    assert delivery["state"] == "failed" and len(delivery["attempts"]) == 1
    got = (await recruiter.http.get(f"/webhooks/{hook['id']}")).json()
    assert got["enabled"] is False and "410" in got["disabled_reason"]


async def test_webhooks_are_their_recruiters_own(people: Any, receiver: Receiver) -> None:
    owner = await people("recruiter")
    other = await people("recruiter")
    candidate = await people("candidate")
    hook = await add_webhook(owner, receiver.url)
    base = f"/webhooks/{hook['id']}"
    for path, method in (
        (base, "GET"),
        (base, "PATCH"),
        (base, "DELETE"),
        (f"{base}/test", "POST"),
        (f"{base}/secret", "POST"),
        (f"{base}/deliveries", "GET"),
    ):
        kwargs: dict[str, Any] = {"json": {"enabled": False}} if method == "PATCH" else {}
        resp = await other.http.request(method, path, **kwargs)
        assert resp.status_code == 404, (path, method, resp.text)
        resp = await candidate.http.request(method, path, **kwargs)
        assert resp.status_code == 403, (path, method, resp.text)
    assert (await other.http.get("/webhooks")).json()["items"] == []
    assert (
        await candidate.http.post("/webhooks", json={"url": receiver.url, "events": ALL_EVENTS})
    ).status_code == 403
    # The other recruiter's events never reach the owner's endpoint.
    job = await post_job(other)
    await apply(candidate, job)
    await asyncio.sleep(0.5)
    assert await deliveries(owner, hook["id"]) == []
    assert (await owner.http.delete(base)).status_code == 204
    assert (await owner.http.get(base)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook", "events": ["application.created"]},
        {"url": "http://user:pw@127.0.0.1/hook", "events": ["application.created"]},
        {"url": "http://127.0.0.1/hook#frag", "events": ["application.created"]},
        {"url": "not a url", "events": ["application.created"]},
        {"url": "https://example.com/hook", "events": []},
        {"url": "https://example.com/hook", "events": ["webhook.disabled"]},
        {"url": "https://example.com/hook", "events": ["nope"]},
        {"url": "https://example.com/" + "a" * 2000, "events": ["application.created"]},
        {"url": "https://example.com/hook"},
    ],
)
async def test_bad_webhooks_are_refused(people: Any, body: dict[str, Any]) -> None:
    recruiter = await people("recruiter")
    resp = await recruiter.http.post("/webhooks", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] in ("validation_failed", "webhook_url_refused")
    assert (await recruiter.http.get("/webhooks")).json()["items"] == []


async def test_a_recruiter_has_at_most_twenty_webhooks(people: Any, receiver: Receiver) -> None:
    recruiter = await people("recruiter")
    made = await asyncio.gather(
        *(
            recruiter.http.post("/webhooks", json={"url": receiver.url, "events": ALL_EVENTS})
            for _ in range(22)
        )
    )
    assert sorted(r.status_code for r in made) == [201] * 20 + [409] * 2
    assert {r.json()["error"]["code"] for r in made if r.status_code == 409} == {
        "too_many_webhooks"
    }


async def test_a_pending_delivery_is_not_resent(people: Any, receiver: Receiver) -> None:
    receiver.behave = lambda request, seen: "hang"
    receiver.hang_s = TIMEOUT_S + 1
    recruiter = await people("recruiter")
    hook = await add_webhook(recruiter, receiver.url)
    test = (await recruiter.http.post(f"/webhooks/{hook['id']}/test")).json()
    resp = await recruiter.http.post(f"/webhooks/{hook['id']}/deliveries/{test['id']}/resend")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "delivery_pending"
    unknown = await recruiter.http.post(f"/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/resend")
    assert unknown.status_code == 404


# --- SSRF -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """A server as deployed: private targets refused."""
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("strict") / "data",
        OPENHIRE_WEBHOOK_TIMEOUT="1",
        OPENHIRE_WEBHOOK_FIRST_RETRY="0.05",
        OPENHIRE_WEBHOOK_MAX_ATTEMPTS="2",
    ) as srv:
        yield srv


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # public, but not https
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://10.0.0.8/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "https://224.0.0.1/hook",
    ],
)
async def test_private_targets_are_refused_when_registered(
    strict_server: ServerProcess, people: Any, url: str
) -> None:
    recruiter = await people("recruiter", strict_server)
    resp = await recruiter.http.post("/webhooks", json={"url": url, "events": ALL_EVENTS})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "webhook_url_refused"
    hook = await recruiter.http.post(
        "/webhooks", json={"url": "https://93.184.216.34/hook", "events": ALL_EVENTS}
    )
    assert hook.status_code == 201, hook.text
    changed = await recruiter.http.patch(f"/webhooks/{hook.json()['id']}", json={"url": url})
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "webhook_url_refused"


async def test_a_target_that_turned_private_is_refused_at_connect_time(
    strict_server: ServerProcess, people: Any, receiver: Receiver
) -> None:
    """As if its name resolved to a public address when registered and to 127.0.0.1 now (DNS
    rebinding): the row is written straight into the database, past the registration check.
    Every attempt checks again, and the receiver on loopback never hears of it."""
    recruiter = await people("recruiter", strict_server)
    conn = await asyncpg.connect(strict_server.dsn)
    try:
        webhook_id = await conn.fetchval(
            "insert into openhire.webhooks (recruiter_id, url, events, secret)"
            " values ($1, $2, $3, $4) returning id",
            uuid.UUID(recruiter.id),
            f"https://localhost:{receiver.port}/hook",
            ALL_EVENTS,
            new_secret(),
        )
    finally:
        await conn.close()
    assert (await recruiter.http.post(f"/webhooks/{webhook_id}/test")).status_code == 202
    (delivery,) = await settled(recruiter, str(webhook_id), 1)
    assert [a["outcome"] for a in delivery["attempts"]] == ["refused", "refused"]
    assert "not a public address" in delivery["attempts"][0]["error"]
    assert receiver.received == []


async def test_the_sender_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """The sender resolves the name itself, checks every address, connects to the checked one
    and keeps the name in the Host header; it follows no redirect, caps what it reads of an
    answer, and keeps to its deadline."""
    answers: list[Any] = []

    async def resolve(host: str, port: int) -> list[str]:
        answers.append(host)
        return ["127.0.0.1"]

    strict = WebhookSender(timeout_s=1, allow_private=False, resolver=resolve)
    loose = WebhookSender(timeout_s=1, allow_private=True, resolver=resolve)
    try:
        url = f"https://hooks.example.test:{receiver.port}/hook"
        refused = await strict.send(url, {"webhook-id": "msg_1"}, b"{}")
        assert refused.outcome == "refused" and "127.0.0.1" in (refused.detail or "")
        assert receiver.received == [] and answers == ["hooks.example.test"]

        url = f"http://hooks.example.test:{receiver.port}/hook"
        sent = await loose.send(url, {"webhook-id": "msg_2"}, b"{}")
        assert sent.outcome == "delivered", sent
        (got,) = receiver.received
        assert got.headers["host"] == f"hooks.example.test:{receiver.port}"

        from starlette.responses import Response

        receiver.behave = lambda request, seen: Response(
            status_code=302, headers={"location": f"http://127.0.0.1:{receiver.port}/elsewhere"}
        )
        moved = await loose.send(url, {"webhook-id": "msg_3"}, b"{}")
        assert (moved.outcome, moved.status_code) == ("failed", 302)
        assert [r.path for r in receiver.received] == ["/hook", "/hook"]

        receiver.behave = lambda request, seen: Response(b"x" * 5_000_000, status_code=200)
        big = await loose.send(url, {"webhook-id": "msg_4"}, b"{}")
        assert big.outcome == "delivered" and len(big.detail or "") <= 300

        receiver.behave = lambda request, seen: "hang"
        receiver.hang_s = 3
        started = time.monotonic()
        slow = await loose.send(url, {"webhook-id": "msg_5"}, b"{}")
        assert slow.outcome == "timeout" and time.monotonic() - started < 2.5
    finally:
        await strict.aclose()
        await loose.aclose()


# --- crashes and several servers ----------------------------------------------------------


@pytest.mark.slow
async def test_a_server_killed_mid_delivery_delivers_again_after_restart(
    make_server: Any, receiver: Receiver
) -> None:
    srv = make_server(OPENHIRE_WEBHOOKS_ALLOW_PRIVATE="1", OPENHIRE_WEBHOOK_TIMEOUT="3")
    srv.start()
    first_arrived = asyncio.Event()

    def behave(request: Any, seen: int) -> Any:
        if seen == 0:
            first_arrived.set()
            return "hang"
        return 200

    receiver.behave = behave
    receiver.hang_s = 30
    recruiter = await person(srv, "recruiter")
    try:
        hook = await add_webhook(recruiter, receiver.url)
        assert (await recruiter.http.post(f"/webhooks/{hook['id']}/test")).status_code == 202
        await asyncio.wait_for(first_arrived.wait(), 15)
        srv.kill()  # SIGKILL, mid-attempt
        srv.start()
        (delivery,) = await settled(recruiter, hook["id"], 1, timeout=60)
    finally:
        await recruiter.http.aclose()
    assert delivery["state"] == "delivered"
    # The attempt the crash cut short is on record, unfinished; the next one took.
    assert [(a["number"], a["outcome"]) for a in delivery["attempts"]] == [
        (1, None),
        (2, "delivered"),
    ]
    first, second = receiver.seen(delivery["message_id"])
    assert first.answered == "hang" and second.answered == "200"
    for request in (first, second):
        assert verify_standard_webhook(hook["secret"], request.headers, request.body)
    assert first.body == second.body


@pytest.mark.slow
async def test_two_servers_on_one_queue_deliver_each_message_once_and_remind_once(
    hook_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: Receiver,
    people: Any,
) -> None:
    """A second server on the first one's database: both dispatchers take from one queue and
    both schedulers look at the same interviews."""
    second = ServerProcess(
        data_dir=tmp_path_factory.mktemp("second") / "data",
        database_url=hook_server.dsn,
        env_overrides=ENV,
    )
    second.start()
    try:
        recruiter = await people("recruiter")
        hook = await add_webhook(recruiter, receiver.url)
        sent = await asyncio.gather(
            *(recruiter.http.post(f"/webhooks/{hook['id']}/test") for _ in range(60))
        )
        assert {r.status_code for r in sent} == {202}
        items = await settled(recruiter, hook["id"], 60)
        assert {d["state"] for d in items} == {"delivered"}
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert sorted(ids) == sorted(d["message_id"] for d in items)  # each once
        # Both servers' schedulers look; the candidate is reminded once.
        candidate = await people("candidate")
        interview = await schedule(
            recruiter, await apply(candidate, await post_job(recruiter)), expires_in_s=5
        )

        async def reminders() -> list[str]:
            listed = (await candidate.http.get("/notifications")).json()["items"]
            return [n["interview_id"] for n in listed if n["kind"] == "interview.expiring"]

        # Reminded 3 s before the expiry (OPENHIRE_EXPIRY_REMINDER): once one reminder is
        # there, a second scheduler's would be within its look (every 0.2 s), well within 1 s.
        deadline = time.monotonic() + 30
        while not await reminders():
            assert time.monotonic() < deadline, "no reminder"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        assert await reminders() == [interview]
    finally:
        assert second.stop() == 130, second.output()
