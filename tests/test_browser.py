"""The browser app (clients/demo/) end to end, in a real browser: Debian's Chromium driven by
Playwright, with a fake camera, against a real server. The app uses only the public HTTP API
and the openhire.v1 sockets; what it shows is checked against what the API stored.

Chromium comes from the system (``scripts/test`` installs it when missing); Playwright's own
browser downloads are never used. Without Chromium these tests skip with the reason, except
with ``CI=true``, where they fail.

With ``OPENHIRE_SCREENSHOTS=<dir>`` (for example ``docs/images``) the hiring round saves a
screenshot of each main screen there: that is how the README's pictures are made.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Account, ServerProcess, job_payload, minimal_pdf

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        expect,
        sync_playwright,
    )
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("OPENHIRE_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = os.environ.get("OPENHIRE_SCREENSHOTS")
BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
]
# A fake camera, and its permission granted without a prompt.
CAMERA = [*BASE_ARGS, "--use-fake-ui-for-media-stream"]
# The same fake camera, but the user says no: getUserMedia fails with NotAllowedError.
CAMERA_DENIED = [*BASE_ARGS, "--deny-permission-prompts"]
LAPTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000

ANSWERS = [
    "I ran the payments API for three years: Python with asyncio on PostgreSQL.\n"
    "When latency doubled one spring I traced it to lock contention, split the hot table, "
    "and measured p99 going from 900 to 120 milliseconds over the following month.",
    "I would add idempotency keys to every write first, because retries after a network drop "
    "were our biggest source of duplicate rows; then I would make the slow queries visible "
    "with pg_stat_statements and a weekly review.",
    "Start with the data model and the failure modes: I sketch the tables, the indexes and "
    "what happens when each dependency is down, then I load test with recorded traffic and "
    "compare the results against a budget agreed with the team.",
]
INJECTED = "Which change from your last project are you proudest of, and why?"


def require_browser() -> None:
    problem = None
    if sync_playwright is None:
        problem = "Playwright is not installed: pip install -e '.[dev]'"
    elif not CHROMIUM.exists():
        problem = (
            f"Chromium is not installed at {CHROMIUM}: run"
            " `sudo apt-get install -y --no-install-recommends chromium`"
            " (./scripts/test does it when it runs as root or with sudo)"
        )
    if problem:
        if IN_CI:
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require_browser()
    with sync_playwright() as p:
        yield p


def launch(playwright: Playwright, args: list[str]) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright, CAMERA)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser_without_camera(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright, CAMERA_DENIED)
    yield browser
    browser.close()


EXPECTED_CONSOLE_ERRORS = re.compile(
    r"Failed to load resource: (the server responded with a status of 4\d\d"
    r"|net::ERR_INTERNET_DISCONNECTED)"
    r"|WebSocket connection to '[^']*' failed"
)


@dataclass
class Session:
    """A browser context with what its pages reported: uncaught errors, console errors."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        # The browser logs a request the API refused (a 4xx, say a ticket for an interview
        # that just ended), and requests and sockets that failed while offline; the app
        # handles those. Anything else (an exception, a CSP violation, a 5xx) is a bug.
        return [e for e in self.errors if not EXPECTED_CONSOLE_ERRORS.match(e)]


@pytest.fixture
def open_session(browser: Browser, server: ServerProcess, tmp_path: Path) -> Iterator[Any]:
    """open_session(viewport=..., on=browser) -> a new context and page on the server."""
    made: list[Session] = []

    def make(viewport: dict[str, int] = LAPTOP, on: Browser | None = None) -> Session:
        context = (on or browser).new_context(viewport=viewport, base_url=server.url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        session = Session(context, page)
        page.on("pageerror", lambda error: session.errors.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: message.type == "error" and session.errors.append(message.text),
        )
        made.append(session)
        return session

    yield make
    for i, session in enumerate(made):
        try:
            session.page.screenshot(path=str(tmp_path / f"last-{i}.png"))
        finally:
            session.context.close()
    problems = [p for s in made for p in s.problems()]
    assert not problems, problems


def log_in(page: Page, account: Account) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.evaluate("() => document.getElementById('toasts').replaceChildren()")
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


def all_events(account: Account, interview_id: str) -> list[dict[str, Any]]:
    resp = account.client.get(f"/interviews/{interview_id}/events", params={"limit": 1000})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def answers_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["text"] for e in events if e["kind"] == "answer"]


def schedule_by_api(
    recruiter: Account, candidate: Account, **plan: Any
) -> tuple[dict[str, Any], str]:
    """A job, an application and an interview, set up over the API for the tests that are
    about the interview room rather than the console."""
    job = recruiter.client.post(
        "/jobs",
        json=job_payload(
            title="Site Reliability Engineer",
            interview_plan={
                "question_count": 3,
                "follow_ups_per_question": 0,
                "answer_time_limit_s": 120,
                "total_time_limit_min": 10,
                **plan,
            },
        ),
    )
    assert job.status_code == 201, job.text
    application = candidate.client.post(
        f"/jobs/{job.json()['id']}/applications", files={"cover_letter": (None, "Hello")}
    )
    assert application.status_code == 201, application.text
    interview = recruiter.client.post(
        f"/applications/{application.json()['id']}/interviews", json={}
    )
    assert interview.status_code == 201, interview.text
    return job.json(), interview.json()["id"]


def answer_current_question(page: Page, text: str, previous: str | None) -> str:
    """Wait for a new question to be ready, answer it with Enter; return the question."""
    question = page.locator("#question-text")
    if previous is not None:
        expect(question).not_to_have_text(previous)
    expect(page.locator("#answer")).to_be_enabled()
    asked = question.inner_text()
    box = page.locator("#answer")
    box.fill(text)
    box.press("Enter")
    return asked


# --- the whole hiring round, two people at once ---------------------------------------------


def test_a_whole_hiring_round_in_two_browsers_at_once(
    server: ServerProcess, signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter_account = signup("recruiter", full_name="Dana Whitfield")
    recruiter = open_session()
    candidate = open_session()
    r, c = recruiter.page, candidate.page
    # For the paste below. (Granting permissions later would revoke the camera's.)
    candidate.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)

    # Two earlier jobs of this recruiter, one of them closed (over the API: not the subject).
    for title, status in (("Frontend Engineer (TypeScript)", "open"), ("Data Engineer", "closed")):
        resp = recruiter_account.client.post(
            "/jobs", json=job_payload(title=title, status=status, location="Lisbon")
        )
        assert resp.status_code == 201, resp.text

    # The recruiter logs in and posts a job with its interview plan.
    log_in(r, recruiter_account)
    expect(r.get_by_role("heading", name="Your jobs")).to_be_visible()
    r.get_by_role("link", name="New job").click()
    expect(r.get_by_role("heading", name="New job")).to_be_visible()
    r.get_by_label("Job title").fill("Backend Engineer (Python)")
    r.get_by_label("Description").fill(
        "Build and run the services behind our interview platform: Python, asyncio and"
        " PostgreSQL, with an eye on reliability and clear communication."
    )
    r.get_by_label("Location").fill("Lisbon")
    r.get_by_label("Remote work is possible").check()
    r.get_by_label("Salary from").fill("65000")
    r.get_by_label("Salary to").fill("85000")
    r.get_by_label("Currency").fill("EUR")
    r.get_by_label("Required skills").fill("Python, PostgreSQL, asyncio")
    r.get_by_label("Main questions").fill("2")
    r.get_by_label("Time per answer (seconds)").fill("120")
    r.get_by_label("Whole interview (minutes)").fill("10")
    r.get_by_role("button", name="Add a custom question").click()
    r.get_by_label("Custom question 1", exact=True).fill(
        "Tell us about a service you ran in production and how you kept it healthy."
    )
    r.get_by_role("button", name="Add a criterion").click()
    r.get_by_label("Criterion 4", exact=True).fill("Ownership")
    r.locator(".repeat-row.criterion").nth(3).get_by_label("What good looks like").fill(
        "Follows problems through to the end."
    )
    r.locator(".repeat-row.criterion").nth(3).get_by_label("Weight").fill("0.2")
    expect(r.locator(".repeat-row.criterion").nth(3)).to_contain_text("17% of the score")
    shoot(r, "job-editor", full_page=True)
    r.get_by_role("button", name="Post job").click()
    expect(r.get_by_role("heading", name="Backend Engineer (Python)")).to_be_visible()
    expect(r.get_by_text("Follows problems through to the end.")).to_be_visible()
    job_id = r.url.rsplit("/", 1)[1]
    job = recruiter_account.client.get(f"/jobs/{job_id}").json()
    plan = job["interview_plan"]
    assert (plan["question_count"], plan["answer_time_limit_s"]) == (2, 120)
    assert plan["total_time_limit_min"] == 10
    assert plan["custom_questions"] == [
        "Tell us about a service you ran in production and how you kept it healthy."
    ]
    assert [(c["name"], c["weight"]) for c in plan["rubric"]] == [
        ("Technical depth", 0.4), ("Problem solving", 0.35), ("Communication", 0.25),
        ("Ownership", 0.2),
    ]  # fmt: skip
    assert (job["location"], job["remote"], job["salary_min"]) == ("Lisbon", True, 65000)
    assert job["required_skills"] == ["Python", "PostgreSQL", "asyncio"]

    # The candidate signs up, finds the job and applies with a cover letter and a PDF.
    c.goto("/")
    c.get_by_role("link", name="Create an account").click()
    c.get_by_label("Full name").fill("Sam Okafor")
    candidate_email = f"sam-{job_id[:8]}@example.test"
    c.get_by_label("Email").fill(candidate_email)
    c.get_by_label("Password").fill("a long enough password")
    c.get_by_label("A candidate looking for a job").check()
    c.get_by_role("button", name="Create account").click()
    expect(c.get_by_role("heading", name="Open jobs")).to_be_visible()
    c.get_by_label("Search job titles").fill("backend engineer (py")
    c.get_by_role("button", name="Search").click()
    expect(c.locator(".job-card")).to_have_count(1)
    c.get_by_role("link", name="Backend Engineer (Python)", exact=True).click()
    expect(c.get_by_role("heading", name="Apply")).to_be_visible()
    c.get_by_label("Cover letter").fill("I have run Python services on PostgreSQL for years.")
    resume = minimal_pdf("Sam Okafor, backend engineer")
    c.get_by_label("Résumé (PDF)").set_input_files(
        files=[{"name": "sam-okafor-cv.pdf", "mimeType": "application/pdf", "buffer": resume}]
    )
    c.get_by_role("button", name="Send application").click()
    expect(c.get_by_role("heading", name="Application sent")).to_be_visible()

    # The recruiter's jobs: open and closed, with their applications counted.
    r.get_by_role("link", name="Jobs", exact=True).click()
    cards = r.locator(".job-card")
    expect(cards).to_have_count(3)
    posted = cards.filter(has_text="Backend Engineer (Python)")
    expect(posted).to_contain_text("1 application")
    expect(posted.locator(".pill")).to_have_text("Open")
    expect(cards.filter(has_text="Data Engineer").locator(".pill")).to_have_text("Closed")
    shoot(r, "jobs")

    # The recruiter sees the application with the résumé, moves it along and schedules the
    # interview.
    r.get_by_role("link", name="Backend Engineer (Python)", exact=True).click()
    application = r.locator("li.application").filter(has_text="Sam Okafor")
    expect(application).to_be_visible()
    expect(application).to_contain_text(candidate_email)
    with r.expect_download() as download:
        application.get_by_role("button", name=re.compile("Download the résumé")).click()
    assert download.value.suggested_filename == "sam-okafor-cv.pdf"
    assert Path(download.value.path()).read_bytes() == resume
    application.get_by_label(re.compile("Move the application of Sam Okafor")).select_option(
        "shortlisted"
    )
    application.get_by_role("button", name="Update").click()
    expect(application.locator(".pill").first).to_have_text("Shortlisted")
    application.get_by_role("button", name="Schedule interview", exact=True).click()
    expect(application).to_contain_text("Scheduled")
    shoot(r, "applications")
    (app_row,) = recruiter_account.client.get("/applications", params={"job_id": job_id}).json()[
        "items"
    ]
    assert app_row["status"] == "shortlisted"
    assert app_row["resume"]["filename"] == "sam-okafor-cv.pdf"
    application.get_by_role("link", name="Open live view").click()
    expect(r.get_by_role("heading", name="Live: Sam Okafor")).to_be_visible()
    expect(r.get_by_text("Waiting for the candidate to join")).to_be_visible()
    interview_id = r.url.split("/")[-2]

    # The candidate joins: the camera check shows the fake camera, then the interview starts.
    c.get_by_role("link", name="Interviews").click()
    c.get_by_role("link", name="Join interview").click()
    expect(c.get_by_text("Your camera works")).to_be_visible()
    c.wait_for_function("() => document.querySelector('video').videoWidth > 0")
    c.get_by_role("button", name="Start the interview").click()

    # Every question: the recruiter sees it, the candidate answers, the recruiter sees the answer.
    previous = None
    asked: list[str] = []
    for i, text in enumerate([ANSWERS[0], ANSWERS[1], ANSWERS[2]]):
        question = c.locator("#question-text")
        if previous is not None:
            expect(question).not_to_have_text(previous)
        expect(c.locator("#answer")).to_be_enabled()
        previous = question.inner_text()
        asked.append(previous)
        expect(r.locator("#live-question")).to_have_text(previous)
        box = c.locator("#answer")
        if i == 0:
            # The time left, on both sides: 2:00 for an answer, 10 minutes in all.
            for page in (c, r):
                expect(page.locator(".timer .time")).to_have_text(re.compile(r"^(2:00|1:[0-5]\d)$"))
            expect(
                r.get_by_text(re.compile(r"Interview: (10:00|9:[0-5]\d) left of 10 min"))
            ).to_be_visible()
            expect(c.get_by_text(re.compile(r"Interview: (10:00|9:[0-5]\d) left"))).to_be_visible()
            # Shift+Enter is a new line; Enter sends.
            first, second = text.split("\n")
            box.type(first)
            box.press("Shift+Enter")
            box.type(second)
            assert box.input_value() == text
            shoot(c, "interview-room")
        elif i == 1:
            # Pasting is allowed, and reported to the recruiter.
            c.evaluate("text => navigator.clipboard.writeText(text)", text)
            box.focus()
            box.press("Control+V")
            expect(box).to_have_value(text)
        else:
            # The recruiter's question, asked after the one that was current when it came.
            expect(question).to_have_text(INJECTED)
            expect(c.locator(".question-meta")).to_have_text("From the recruiter")
            box.fill(text)
        box.press("Enter")
        if i < 2:  # the last one ends the interview: the end screen follows at once
            expect(c.locator(".turns li").nth(i)).to_have_attribute("data-status", "saved")
        expect(r.locator(".timeline .answer").nth(i)).to_contain_text(text.split("\n")[0])
        if i == 0:
            # A real webcam snapshot arrives live and loads.
            r.wait_for_function(
                "() => { const i = document.getElementById('latest-snapshot');"
                " return i && !i.hidden && i.complete && i.naturalWidth > 0; }"
            )
            expect(r.locator("#camera-status")).to_have_text("Camera on")
            # The recruiter asks a question of their own; it comes next.
            r.get_by_label("Ask a question next").fill(INJECTED)
            r.get_by_label("Ask a question next").press("Enter")
            expect(r.locator("form", has_text="Ask a question next")).to_contain_text("Queued")
        if i == 1:
            expect(r.locator(".signals")).to_contain_text("Pasted text")
            shoot(r, "live-watch")

    assert asked[0].startswith("Tell us about a service you ran in production")
    assert asked[2] == INJECTED

    # The end: the candidate sees it; the recruiter is pointed to the review.
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()
    expect(c.get_by_text("You answered every question")).to_be_visible()
    expect(r.get_by_text("The interview has ended.")).to_be_visible()
    snapshots_seen = r.evaluate(
        "() => Number(document.getElementById('latest-snapshot').dataset.offset)"
    )
    assert snapshots_seen > 0

    # What the browser showed is what the API stored: each answer once, snapshots, the paste.
    events = all_events(recruiter_account, interview_id)
    assert answers_of(events) == ANSWERS
    assert [e["data"]["text"] for e in events if e["kind"] == "question"] == asked
    assert any(
        e["kind"] == "screenshot" and e["data"]["content_type"] == "image/jpeg" for e in events
    )
    assert [e["data"]["signal"] for e in events if e["kind"] == "proctor"].count("paste") == 1
    interview = recruiter_account.client.get(f"/interviews/{interview_id}").json()
    assert interview["state"] == "completed"
    evaluation = interview["evaluation"]
    assert evaluation["proctoring"]["camera_available"] is True

    # The review: one timeline beside the evaluation; evidence links to the quoted answer.
    r.get_by_role("link", name="Open the review and the evaluation").click()
    expect(r.get_by_role("heading", name="Review: Sam Okafor")).to_be_visible()
    timeline = r.locator(".timeline")
    for text in ANSWERS:
        expect(timeline).to_contain_text(text.split("\n")[0])
    expect(timeline.locator(".strip img").first).to_be_visible()
    expect(r.locator(".overall .num")).to_have_text(f"{evaluation['overall_score']:.1f}")
    for criterion in evaluation["criteria"]:
        expect(r.locator(".criterion h3", has_text=criterion["name"])).to_be_visible()
    quoted = next(
        (c, e) for c in evaluation["criteria"] for e in c["evidence"]
    )  # the scripted interviewer quotes every answered question
    criterion, evidence = quoted
    shoot(r, "review")
    r.locator(".evidence button").first.click()
    turn = r.locator(f"#turn-{evidence['question_id']}")
    expect(turn).to_be_focused()
    expect(turn).to_be_in_viewport()
    expect(turn.locator("mark")).to_have_text(evidence["quote"])

    # Log out: the console is gone, and its pages ask to log in again.
    r.get_by_role("button", name="Log out").click()
    expect(r.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()
    r.goto(f"/#/interviews/{interview_id}/review")
    expect(r.get_by_role("heading", name="Log in to OpenHire")).to_be_visible()


# --- the network drops mid-interview --------------------------------------------------------


def test_both_sides_resume_after_the_network_drops_without_losing_an_answer(
    signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter_account, candidate_account = signup("recruiter"), signup("candidate")
    _job, interview_id = schedule_by_api(recruiter_account, candidate_account)
    recruiter, candidate = open_session(), open_session()
    r, c = recruiter.page, candidate.page
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    expect(r.get_by_text("Waiting for the candidate to join")).to_be_visible()
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    expect(c.get_by_text("Your camera works")).to_be_visible()
    c.get_by_role("button", name="Start the interview").click()

    # 1: answered online.
    q1 = answer_current_question(c, ANSWERS[0], None)
    expect(c.locator(".turns li").nth(0)).to_have_attribute("data-status", "saved")
    expect(r.locator(".timeline .answer")).to_have_count(1)

    # 2: sent, and the network drops at once: the ack may or may not have made it. The
    # recruiter's connection drops too, and comes back from its last offset.
    q2 = answer_current_question(c, ANSWERS[1], q1)
    candidate.context.set_offline(True)
    recruiter.context.set_offline(True)
    expect(c.get_by_text("You are offline")).to_be_visible()
    expect(r.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    candidate.context.set_offline(False)
    expect(c.locator(".turns li").nth(1)).to_have_attribute("data-status", "saved")
    # The recruiter reconnects with since=<its last offset>: the missed answer, once.
    recruiter.context.set_offline(False)
    expect(r.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(r.locator(".timeline .answer")).to_have_count(2)

    # 3: written and sent while offline: kept in the page, sent after the reconnect.
    expect(c.locator("#question-text")).not_to_have_text(q2)
    expect(c.locator("#answer")).to_be_enabled()
    candidate.context.set_offline(True)
    expect(c.get_by_text("You are offline")).to_be_visible()
    box = c.locator("#answer")
    box.fill(ANSWERS[2])
    box.press("Enter")
    waiting = c.locator(".turns li").nth(2)
    expect(waiting).to_have_attribute("data-status", "waiting")
    expect(waiting).to_contain_text("Waiting for the connection")
    time.sleep(1)
    assert answers_of(all_events(recruiter_account, interview_id)) == ANSWERS[:2]
    candidate.context.set_offline(False)
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()

    # The recruiter has every answer once: no gap, no duplicate.
    expect(r.get_by_text("The interview has ended.")).to_be_visible()
    expect(r.locator(".timeline .answer")).to_have_count(3)
    for i, text in enumerate(ANSWERS):
        expect(r.locator(".timeline .answer").nth(i)).to_contain_text(text.split("\n")[0])

    events = all_events(recruiter_account, interview_id)
    assert answers_of(events) == ANSWERS, "every answer stored exactly once, in order"
    client_ids = [e["client_id"] for e in events if e["kind"] == "answer"]
    assert len(set(client_ids)) == 3
    drops = [
        e["data"]
        for e in events
        if e["kind"] == "connection" and e["data"]["status"] in ("disconnected", "replaced")
    ]
    rejoins = [e["data"] for e in events if e["kind"] == "connection" and e["data"].get("resumed")]
    assert drops and rejoins, events
    state = recruiter_account.client.get(f"/interviews/{interview_id}").json()["state"]
    assert state == "completed"


# --- no camera ------------------------------------------------------------------------------


def test_without_a_camera_the_interview_runs_and_the_recruiter_sees_it(
    browser_without_camera: Browser,
    signup: Callable[..., Account],
    open_session: Callable[..., Session],
) -> None:
    recruiter_account, candidate_account = signup("recruiter"), signup("candidate")
    _job, interview_id = schedule_by_api(recruiter_account, candidate_account, question_count=1)
    recruiter = open_session()
    candidate = open_session(on=browser_without_camera)
    r, c = recruiter.page, candidate.page
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    expect(r.get_by_text("Waiting for the candidate to join")).to_be_visible()
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    expect(c.get_by_text("Camera access was blocked")).to_be_visible()
    expect(c.get_by_text("You can still take the interview without it")).to_be_visible()
    c.get_by_role("button", name="Start the interview").click()
    expect(c.get_by_text("Camera unavailable")).to_be_visible()
    expect(r.locator("#camera-status")).to_have_text("Camera unavailable")
    expect(r.locator(".signals")).to_contain_text("Camera unavailable")
    # The recruiter's connection drops and only comes back once the interview is over: the
    # live view reads what it missed over HTTP.
    recruiter.context.set_offline(True)
    answer_current_question(c, ANSWERS[0], None)
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()
    recruiter.context.set_offline(False)
    expect(r.get_by_text("The interview has ended.")).to_be_visible()
    expect(r.locator(".timeline .answer")).to_have_count(1)
    expect(r.locator(".timeline .answer")).to_contain_text(ANSWERS[0].split("\n")[0])

    events = all_events(recruiter_account, interview_id)
    assert answers_of(events) == [ANSWERS[0]]
    assert [e["data"]["signal"] for e in events if e["kind"] == "proctor"] == ["camera_unavailable"]
    assert not [e for e in events if e["kind"] == "screenshot"]
    interview = recruiter_account.client.get(f"/interviews/{interview_id}").json()
    assert interview["evaluation"]["proctoring"]["camera_available"] is False


# --- a phone ----------------------------------------------------------------------------------


def test_the_main_screens_fit_a_phone(
    signup: Callable[..., Account], open_session: Callable[..., Session]
) -> None:
    recruiter, candidate_account = signup("recruiter"), signup("candidate")
    job, interview_id = schedule_by_api(recruiter, candidate_account)
    candidate = open_session(viewport={"width": 390, "height": 844})
    c = candidate.page
    log_in(c, candidate_account)
    screens = [
        ("#/jobs", "Open jobs"),
        (f"#/jobs/{job['id']}", job["title"]),
        ("#/applications", "My applications"),
        ("#/interviews", "Your interviews"),
        (f"#/interviews/{interview_id}/room", "Before you start"),
    ]
    for hash_, heading in screens:
        c.goto(f"/{hash_}")
        expect(c.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        c.wait_for_load_state("networkidle")
        overflow = c.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{hash_} is {overflow}px wider than the phone"
    expect(c.get_by_role("button", name="Start the interview")).to_be_enabled()
    shoot(c, "phone-room")
