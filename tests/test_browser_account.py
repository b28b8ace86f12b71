# ruff: noqa: F811 - the fixtures imported from tests/test_browser are parameters here
"""Sessions and the hiring workflow's gaps in the browser app (issue 16 §3, §5), in Debian's
Chromium (tests/test_browser.py says how): the landing page and demo hints from /config, a
sign-in that lasts across tabs and is renewed without losing what was typed (or warned about),
log-out in every tab, a password reset from its link, the recruiter's company on jobs, the
decision on the review page, and the scheduling window in the candidate's time zone."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import (
    OPENHIRE,
    Account,
    ServerProcess,
    job_payload,
    minimal_pdf,
    run_async,
    signups_on,
)
from tests.fake_supabase_auth import FakeSupabaseAuth
from tests.test_browser import (  # noqa: F401 - fixtures
    LAPTOP,
    TIMEOUT_MS,
    Session,
    browser,
    log_in,
    open_session,
    playwright,
    schedule_by_api,
)
from tests.test_supabase_auth import database, fake, supabase_server  # noqa: F401 - fixtures

with contextlib.suppress(ImportError):
    from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]


def sql(server: ServerProcess, query: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(server.dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return run_async(run)


def test_the_landing_page_and_no_demo_hints_without_the_demo(
    open_session: Callable[..., Session],
) -> None:
    page = open_session().page
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hiring with interviews")
    expect(page.get_by_text("OpenHire is an open-source hiring platform")).to_be_visible()
    expect(page.get_by_role("heading", name="Looking for a job?")).to_be_visible()
    expect(page.get_by_role("heading", name="Hiring?")).to_be_visible()
    assert "openhire-demo" not in page.content()
    page.get_by_role("link", name="Sign up as a recruiter").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_label("A recruiter hiring")).to_be_checked()
    page.goto("/#/login")
    expect(page.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()
    expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()
    assert "openhire-demo" not in page.content()


def test_demo_hints_only_where_the_server_runs_the_demo(make_server: Any, browser: Browser) -> None:
    srv = make_server(OPENHIRE_DEMO="1")
    srv.start()
    context = browser.new_context(viewport=LAPTOP, base_url=srv.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator(".demo-hint")).to_contain_text("recruiter@demo.openhire.dev")
        page.get_by_role("link", name="Log in", exact=True).click()
        expect(page.locator(".demo-hint")).to_contain_text("openhire-demo")
        page.get_by_label("Email").fill("candidate@demo.openhire.dev")
        page.get_by_label("Password").fill("openhire-demo")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
    finally:
        context.close()


def test_sign_in_lasts_across_tabs_and_a_lapsed_token_loses_nothing(
    signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter = signup("recruiter")
    s = open_session()
    log_in(s.page, recruiter)
    # A new tab (a link opened from the applications list, a bookmark): still signed in.
    tab = s.context.new_page()
    tab.goto("/#/applications")
    expect(tab.get_by_role("heading", name="Applications", exact=True)).to_be_visible()
    expect(tab.get_by_role("button", name="Log out")).to_be_visible()
    # The refresh token is nowhere a script can read it.
    assert "openhire_refresh" not in tab.evaluate("() => document.cookie")
    stored = tab.evaluate("() => JSON.stringify(sessionStorage)")
    assert "refresh" not in stored
    (cookie,) = [c for c in s.context.cookies() if c["name"] == "openhire_refresh"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/auth"

    # Work typed while the access token lapses (a laptop asleep past the renewal): saving it
    # renews the token and saves, nothing lost.
    tab.goto("/#/profile")
    company = tab.get_by_label("Company")
    company.fill("Lapsed Token Ltd")
    tab.evaluate(
        "() => { const k = 'openhire.session'; const s = JSON.parse(sessionStorage.getItem(k));"
        " s.token = s.token.slice(0, -4) + 'AAAA'; sessionStorage.setItem(k, JSON.stringify(s)); }"
    )
    tab.get_by_role("button", name="Save").click()
    expect(tab.get_by_text("Saved.")).to_be_visible()
    assert recruiter.client.get("/users/me").json()["company_name"] == "Lapsed Token Ltd"

    # Log out in one tab: the other follows, and a new tab asks to log in.
    s.page.get_by_role("button", name="Log out").click()
    expect(s.page.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()
    expect(tab.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()
    third = s.context.new_page()
    third.goto("/#/applications")
    expect(third.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()


def test_tokens_are_renewed_before_they_expire_or_the_user_is_warned(
    make_server: Any, browser: Browser
) -> None:
    # Tokens of 20 s: renewed after 10 s; the test watches two renewals.
    srv = make_server(OPENHIRE_ACCESS_TOKEN_TTL="20")
    srv.start()
    accounts = signups_on(srv)
    make = next(accounts)
    candidate = make("candidate")
    context = browser.new_context(viewport=LAPTOP, base_url=srv.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in(page, candidate)
        first = page.evaluate("() => JSON.parse(sessionStorage.getItem('openhire.session')).token")
        page.goto("/#/profile")
        page.get_by_label("Full name").fill("Renewed Twice")
        page.wait_for_function(
            "first => JSON.parse(sessionStorage.getItem('openhire.session')).token !== first",
            arg=first,
            timeout=20_000,
        )
        time.sleep(12)  # past the first token's expiry, and a second renewal
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved.")).to_be_visible()
        assert candidate.client.get("/users/me").status_code in (200, 401)
        assert (
            sql(srv, "select full_name from public.users where id = $1::uuid", candidate.id)[0][0]
            == "Renewed Twice"
        )
        # The sign-in ended elsewhere (revoked): the next renewal fails, and the user is told
        # when the session ends, before anything is lost.
        sql(srv, "update openhire.refresh_tokens set revoked_at = now()")
        warning = page.locator("#session-warning")
        expect(warning).to_be_visible(timeout=20_000)
        expect(warning).to_contain_text("Your session ends at")
        expect(page.get_by_label("Full name")).to_have_value("Renewed Twice")
    finally:
        context.close()
        with contextlib.suppress(StopIteration):
            next(accounts)


def test_a_password_reset_from_the_operators_link(
    server: ServerProcess, signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    candidate = signup("candidate")
    page = open_session().page
    page.goto("/#/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email").fill(candidate.email)
    page.get_by_role("button", name="Send me a reset link").click()
    expect(page.get_by_text("Ask the person who runs it for a password reset link")).to_be_visible()
    done = subprocess.run(
        [*OPENHIRE, "users", "reset-password", candidate.email],
        env=server.env(),
        cwd=server.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (link,) = re.findall(r"http://\S+/#/reset\?token=\S+", done.stdout)
    page.goto("/" + link[link.index("#") :])
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Use at least 8 characters.")).to_be_visible()
    page.get_by_label("New password").fill("a-brand-new-password")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    # The link again: spent.
    page.goto("/#/login")
    page.goto("/" + link[link.index("#") :])
    page.get_by_label("New password").fill("another-new-password")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("This link has expired or was used already.")).to_be_visible()
    page.goto("/#/login")
    page.get_by_label("Email").fill(candidate.email)
    page.get_by_label("Password").fill("a-brand-new-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_the_company_on_the_profile_is_shown_on_jobs(
    signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    r = open_session().page
    log_in(r, recruiter)
    r.get_by_role("link", name="Profile").click()
    expect(r.get_by_role("heading", name="Your profile")).to_be_visible()
    r.get_by_label("Company").fill("Northwind Analytics")
    r.get_by_role("button", name="Save").click()
    expect(r.get_by_text("Saved.")).to_be_visible()
    job, _ = schedule_by_api(recruiter, signup("candidate"))
    c = open_session().page
    log_in(c, candidate)
    c.goto(f"/#/jobs?title={job['title'].replace(' ', '+')}")
    card = c.locator("article, li").filter(has=c.get_by_role("link", name=job["title"])).first
    expect(card.locator(".company")).to_have_text("Northwind Analytics")
    c.goto(f"/#/jobs/{job['id']}")
    expect(c.locator(".page-head .sub")).to_contain_text("Northwind Analytics")


def test_the_recruiter_decides_on_the_review_page(
    server: ServerProcess, signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    job = recruiter.client.post(
        "/jobs",
        json=job_payload(title="Decision Engineer"),
    ).json()
    application = candidate.client.post(
        f"/jobs/{job['id']}/applications",
        data={"cover_letter": "Hello"},
        files={"resume": ("cv-decision.pdf", minimal_pdf(), "application/pdf")},
    ).json()
    interview = recruiter.client.post(
        f"/applications/{application['id']}/interviews", json={}
    ).json()
    # Ended without being taken (the review page is the same for any ended interview).
    sql(
        server,
        "update public.interviews set state = 'abandoned', started_at = now(), ended_at = now()"
        " where id = $1::uuid",
        interview["id"],
    )
    r = open_session().page
    log_in(r, recruiter)
    r.goto(f"/#/interviews/{interview['id']}/review")
    decision = r.locator("section.decision")
    expect(decision.get_by_role("heading", name="Decision")).to_be_visible()
    expect(decision.get_by_role("status")).to_contain_text("Submitted")
    expect(
        decision.get_by_role("link", name="The application, on its job's page")
    ).to_have_attribute("href", f"#/jobs/{job['id']}")
    with r.expect_download() as downloaded:
        decision.get_by_role("button", name="Download the résumé (cv-decision.pdf)").click()
    assert downloaded.value.suggested_filename == "cv-decision.pdf"
    decision.get_by_label("Note").fill("Clear answers on incident handling.")
    decision.get_by_role("button", name="Advance to the shortlist").click()
    expect(decision.get_by_role("status")).to_contain_text("Shortlisted")
    stored = recruiter.client.get(f"/applications/{application['id']}").json()
    assert (stored["status"], stored["note"]) == (
        "shortlisted",
        "Clear answers on incident handling.",
    )
    assert candidate.client.get(f"/applications/{application['id']}").json()["note"] is None
    decision.get_by_role("button", name="Reject").click()
    expect(decision.get_by_role("status")).to_contain_text("Rejected")
    expect(decision.get_by_role("button", name="Reject")).to_have_count(0)
    assert recruiter.client.get(f"/applications/{application['id']}").json()["status"] == "rejected"


def test_the_candidate_sees_the_window_in_their_time_zone(
    signup: Callable[..., Account], browser: Browser, server: ServerProcess
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    job = recruiter.client.post("/jobs", json=job_payload(title="Window Watcher")).json()
    application = candidate.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hi")}
    ).json()
    opens = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    closes = opens + timedelta(hours=10)
    interview = recruiter.client.post(
        f"/applications/{application['id']}/interviews",
        json={"opens_at": opens.isoformat(), "closes_at": closes.isoformat()},
    ).json()
    context = browser.new_context(
        viewport=LAPTOP, base_url=server.url, timezone_id="Asia/Tokyo", locale="en-GB"
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in(page, candidate)
        page.get_by_role("link", name="Interviews").click()
        row = page.locator(f"li[data-interview-id='{interview['id']}']")
        # 07:00 UTC is 16:00 in Tokyo; the zone is named.
        expect(row.locator(".window")).to_contain_text("16:00")
        expect(row.locator(".window")).to_contain_text("Asia/Tokyo")
        expect(row.get_by_text("Not open yet")).to_be_visible()
        expect(row.get_by_role("link", name="Join interview")).to_have_count(0)
        # The room, reached by its address, says when it opens (the server refuses a ticket).
        page.goto(f"/#/interviews/{interview['id']}/room")
        expect(page.get_by_role("heading", name="This interview is not open yet")).to_be_visible()
        expect(page.locator(".window")).to_contain_text("Asia/Tokyo")
        refused = candidate.client.post(f"/interviews/{interview['id']}/ticket")
        assert refused.json()["error"]["code"] == "interview_not_open"
    finally:
        context.close()
    assert urlsplit(server.url).scheme == "http"


def test_the_recruiter_schedules_a_window_in_the_app(
    signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    job = recruiter.client.post("/jobs", json=job_payload(title="Windowed Role")).json()
    application = candidate.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hi")}
    ).json()
    r = open_session().page
    log_in(r, recruiter)
    r.goto("/#/applications")
    item = r.locator("ul.list > li").filter(has_text="Windowed Role").first
    item.get_by_text("Window or expiry…").click()
    opens = (datetime.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    item.get_by_label("Opens").fill(opens.strftime("%Y-%m-%dT%H:%M"))
    item.get_by_label("Closes").fill((opens + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    item.get_by_role("button", name="Schedule with these times").click()
    expect(item.locator(".window")).to_be_visible()
    (stored,) = recruiter.client.get(
        "/interviews", params={"application_id": application["id"]}
    ).json()["items"]
    assert datetime.fromisoformat(stored["opens_at"]) == opens.astimezone(UTC)
    assert datetime.fromisoformat(stored["closes_at"]) == (opens + timedelta(hours=4)).astimezone(
        UTC
    )


def test_a_supabase_recovery_link_sets_the_password_in_the_app(
    supabase_server: ServerProcess, fake: FakeSupabaseAuth, browser: Browser
) -> None:
    email = f"recover-{uuid.uuid4().hex[:8]}@example.test"
    signed = httpx.post(
        supabase_server.url + "/auth/signup",
        json={
            "email": email,
            "password": "first-password-1",
            "full_name": "Rae",
            "role": "candidate",
        },
    )
    assert signed.status_code == 201, signed.text
    context = browser.new_context(viewport=LAPTOP, base_url=supabase_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/#/forgot")
        expect(page.get_by_text("We will email you a link")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Send me a reset link").click()
        expect(page.get_by_text("If an account has this email")).to_be_visible()
        (link,) = [link for to, link in fake.recoveries if to == email]
        # Supabase's /verify sends the browser back to the app with the recovery session.
        page.goto(link)
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        assert "access_token" not in page.url  # taken out of the address at once
        page.get_by_label("New password").fill("second-password-2")
        page.get_by_role("button", name="Set the new password").click()
        expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
        page.get_by_role("link", name="Log in").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("second-password-2")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        # A new tab: signed in through Supabase's refresh grant and the cookie.
        tab = context.new_page()
        tab.goto("/#/applications")
        expect(tab.get_by_role("heading", name="My applications")).to_be_visible()
        assert fake.requests_to("POST", "/token")[-1].query["grant_type"] == "refresh_token"
    finally:
        context.close()
