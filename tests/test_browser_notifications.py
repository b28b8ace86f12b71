"""Notifications in the browser app, in a real browser (tests/test_browser.py says how): the bell's
unread count updated live, its list opening the thing each is about, the notifications page,
and the recruiter's webhook settings with their deliveries. No console error, no CSP violation
(open_session checks)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import (
    Account,
    DatabaseBackend,
    ServerProcess,
    job_payload,
    running_server,
    signups_on,
)
from tests.test_browser import (  # noqa: F401 - fixtures
    Session,
    browser,
    log_in,
    open_session,
    playwright,
    schedule_by_api,
)

# Without Playwright, the fixtures from test_browser skip (or fail in CI) before it is used.
with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]


@pytest.fixture(scope="module")
def hooks_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """A server that may send webhooks to this machine (the receiver below)."""
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("browser-hooks") / "data",
        OPENHIRE_WEBHOOKS_ALLOW_PRIVATE="1",
    ) as srv:
        yield srv


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, str]]]]:
    got: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            got.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", got
    finally:
        httpd.shutdown()
        httpd.server_close()


def badge(session: Session) -> Any:
    return session.page.locator(".bell .badge")


def test_the_bell_counts_live_and_each_notification_opens_its_thing(
    server: ServerProcess,
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate", full_name="Nora Notified")
    r = open_session()
    log_in(r.page, recruiter)
    c = open_session()
    log_in(c.page, candidate)
    expect(badge(r)).to_be_hidden()
    expect(r.page.get_by_role("button", name="Notifications")).to_be_visible()

    # The candidate applies (over the API): the recruiter's bell counts it, without a reload.
    job = recruiter.client.post("/jobs", json=job_payload(title="Bell Engineer")).json()
    application = candidate.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hello")}
    ).json()
    expect(badge(r)).to_have_text("1")
    expect(r.page.get_by_role("button", name="Notifications, 1 unread")).to_be_visible()
    r.page.locator(".bell").click()
    entry = r.page.locator("#notification-panel .notification.unread")
    expect(entry).to_have_text(re.compile("Nora Notified applied to Bell Engineer"))
    entry.locator("a").click()
    expect(r.page).to_have_url(re.compile(f"#/jobs/{job['id']}$"))
    expect(badge(r)).to_be_hidden()

    # The recruiter schedules an interview: the candidate's bell opens the interview room.
    interview = recruiter.client.post(
        f"/applications/{application['id']}/interviews", json={}
    ).json()
    expect(badge(c)).to_have_text("1")
    c.page.locator(".bell").click()
    c.page.locator("#notification-panel .notification a").first.click()
    expect(c.page).to_have_url(re.compile(f"#/interviews/{interview['id']}/room$"))
    expect(badge(c)).to_be_hidden()

    # The notifications page lists them, and a new one arrives on it as it happens.
    c.page.goto("/#/notifications")
    expect(c.page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(c.page.locator("main .notification")).to_have_count(1)
    moved = recruiter.client.patch(
        f"/applications/{application['id']}", json={"status": "shortlisted"}
    )
    assert moved.status_code == 200, moved.text
    first = c.page.locator("main .notification").first
    expect(first).to_have_text(re.compile("Your application for Bell Engineer is now shortlisted"))
    expect(c.page.locator("main .notification")).to_have_count(2)
    expect(badge(c)).to_have_text("1")
    c.page.locator("main").get_by_role("button", name="Mark all read").click()
    expect(badge(c)).to_be_hidden()
    expect(c.page.locator("main .notification.unread")).to_have_count(0)


def test_the_bell_comes_back_after_the_server_restarts(
    make_server: Any,
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """The stream's ticket dies with the server: the app gets a new one and resumes after the
    last notification it saw, so what happened meanwhile is counted."""
    srv = make_server()
    srv.start()
    accounts = signups_on(srv)
    make = next(accounts)
    recruiter, candidate = make("recruiter"), make("candidate")
    r = open_session(base_url=srv.url)
    r.allow(r"EventSource's response has a MIME type")  # a 503 while the server is down
    r.allow(r".*ERR_CONNECTION_REFUSED")
    log_in(r.page, recruiter)
    schedule_by_api(recruiter, candidate)
    expect(badge(r)).to_have_text("1")
    srv.stop()
    srv.start()
    job = recruiter.client.post("/jobs", json=job_payload(title="Second Job")).json()
    candidate.client.post(f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hi")})
    expect(badge(r)).to_have_text("2", timeout=40_000)
    for c in (recruiter.client, candidate.client):
        c.close()


def test_recruiters_manage_webhooks_and_see_deliveries(
    hooks_server: ServerProcess,
    receiver: tuple[str, list[dict[str, str]]],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    url, got = receiver
    recruiter = next(signups_on(hooks_server))("recruiter")
    r = open_session(base_url=hooks_server.url)
    log_in(r.page, recruiter)
    r.page.get_by_role("link", name="Webhooks").click()
    expect(r.page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(r.page.get_by_text("No webhook yet.")).to_be_visible()

    # A URL the server will not send to says why, at the field.
    r.page.get_by_label("Endpoint URL").fill("ftp://example.com/hook")
    r.page.get_by_role("button", name="Add webhook").click()
    expect(r.page.locator(".field-error")).to_have_text(re.compile("must start with"))

    r.page.get_by_label("Endpoint URL").fill(url)
    r.page.get_by_label("An interview expired unused").uncheck()
    r.page.get_by_role("button", name="Add webhook").click()
    secret = r.page.locator(".secret-value")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    first_secret = secret.inner_text()
    card = r.page.locator(".webhook")
    expect(card.get_by_role("heading", name=url)).to_be_visible()
    expect(card).to_contain_text("application.created")
    expect(card).not_to_contain_text("interview.expired")

    card.get_by_role("button", name="Send a test").click()
    delivered = card.locator("tr[data-state='delivered']")
    # The list is read when asked for: ask again until the delivery is there (it is made in
    # the background, later on a loaded machine).
    deadline = time.monotonic() + 30
    while not delivered.count() and time.monotonic() < deadline:
        card.get_by_role("button", name="Show deliveries").click()
        r.page.wait_for_timeout(250)
    expect(delivered).to_have_count(1)
    expect(delivered).to_contain_text("webhook.test")
    expect(delivered).to_contain_text("204")
    assert [h["webhook-id"] for h in got] and got[0]["webhook-signature"].startswith("v1,")

    card.get_by_role("button", name="Re-send").click()
    expect(card.locator("tbody tr")).to_have_count(2)

    card.get_by_role("button", name="Rotate secret").click()
    expect(secret).not_to_have_text(first_secret)
    expect(r.page.get_by_text("keeps signing beside it for 24 hours")).to_be_visible()

    card.get_by_role("button", name="Turn off").click()
    expect(card.locator(".pill.danger")).to_have_text("Off")
    expect(card.get_by_role("button", name="Send a test")).to_have_count(0)
    card.get_by_role("button", name="Turn on").click()
    expect(card.locator(".pill.ok")).to_have_text("On")

    card.get_by_role("button", name="Delete").click()
    r.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(r.page.get_by_text("No webhook yet.")).to_be_visible()
    recruiter.client.close()
