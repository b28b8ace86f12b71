"""The browser app as people use it (issue 16), in a real browser (tests/test_browser.py says
how): no work lost to a reload, Back or a link; errors as sentences at their fields; the top bar
and the phone layouts; and axe-core watching every page state (tests/browser_a11y.py)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Account, job_payload
from tests.test_browser import (  # noqa: F401 - fixtures
    ANSWERS,
    Session,
    answer_current_question,
    browser,
    log_in,
    open_session,
    playwright,
    schedule_by_api,
)

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

    from tests import browser_a11y

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]

PHONE = {"width": 390, "height": 844}


def test_axe_watches_every_page_state(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """The harness itself: a page state with a violation is reported without being asked, and
    the app's own pages report none."""
    account = signup("candidate")
    s = open_session()
    log_in(s.page, account)
    assert browser_a11y.check_now(s.page) == []
    # A new section (a heading) with an image that says nothing: a new state, checked without
    # being asked once the page settles.
    s.page.evaluate(
        """() => {
          const h2 = Object.assign(document.createElement('h2'), {textContent: 'Photo'});
          const img = Object.assign(document.createElement('img'),
            {src: 'data:image/gif;base64,R0lGODlhAQABAAAAACw='});
          document.querySelector('main').append(h2, img);
        }"""
    )
    deadline = time.monotonic() + 10
    while not s.inaccessible and time.monotonic() < deadline:
        s.page.wait_for_timeout(100)
    assert [v["id"] for v in s.inaccessible] == ["image-alt"], s.inaccessible
    s.page.evaluate("() => document.querySelector('main img').remove()")
    s.inaccessible.clear()


def test_a_wrong_password_reads_as_a_sentence_with_a_small_reference(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    account = signup("candidate")
    s = open_session()
    page = s.page
    page.goto("/#/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The email or the password is wrong.")
    # The request id is there for support, small and apart from the sentence.
    ref = alert.locator(".ref")
    ref_text = ref.inner_text()
    assert len(ref_text.split()[-1]) == 32, ref_text
    message = alert.locator(".message").inner_text()
    assert message[0].isupper() and message.endswith("."), message
    assert ref_text.split()[-1] not in message
    size = "e => parseFloat(getComputedStyle(e).fontSize)"
    assert alert.locator(".ref").evaluate(size) < alert.locator(".message").evaluate(size)
    assert browser_a11y.check_now(page) == []


# --- §1: work that does not disappear --------------------------------------------------------


def accept_leaving(page: Any) -> list[str]:
    """Accept every browser dialog (beforeunload: "Leave site?"); returns their types as seen."""
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    return seen


def leave_dialog(page: Any) -> Any:
    return page.locator("dialog[open]")


def test_the_job_editor_keeps_its_draft_and_a_posted_job_is_not_offered_again(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter = signup("recruiter")
    s = open_session()
    page = s.page
    seen = accept_leaving(page)
    log_in(page, recruiter)
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    page.get_by_label("Job title").fill("Staff Data Engineer")
    page.get_by_label("Description").fill("Pipelines on PostgreSQL and Kafka.")

    # A reload: the browser asks first, then the draft is back.
    page.reload()
    assert seen == ["beforeunload"], seen
    expect(page.get_by_label("Job title")).to_have_value("Staff Data Engineer")
    expect(page.get_by_label("Description")).to_have_value("Pipelines on PostgreSQL and Kafka.")
    expect(page.get_by_role("status").filter(has_text="unsaved draft")).to_be_visible()

    # A link in the top bar: the app asks; "Stay" keeps the page and its work.
    page.get_by_role("link", name="Applications").click()
    dialog = leave_dialog(page)
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Stay").click()
    expect(dialog).to_have_count(0)
    assert page.url.endswith("#/jobs/new"), page.url
    expect(page.get_by_label("Job title")).to_have_value("Staff Data Engineer")

    # Back: the address had changed already; "Stay" puts it back, the form untouched.
    page.go_back()
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Stay").click()
    page.wait_for_function("() => location.hash === '#/jobs/new'")
    expect(page.get_by_label("Job title")).to_have_value("Staff Data Engineer")

    # Leaving for real, then coming back: the draft is still there.
    page.get_by_role("link", name="Applications").click()
    dialog.get_by_role("button", name="Leave this page").click()
    expect(page.get_by_role("heading", name="Applications", exact=True)).to_be_visible()
    page.goto("/#/jobs/new")
    expect(page.get_by_label("Job title")).to_have_value("Staff Data Engineer")

    # Posted: the form's history entry is replaced, so Back does not offer it again.
    page.get_by_role("button", name="Post job").click()
    expect(page.get_by_role("heading", name="Staff Data Engineer")).to_be_visible()
    assert "/edit" not in page.url and "/new" not in page.url
    page.go_back()
    page.wait_for_function("() => !location.hash.startsWith('#/jobs/new')")
    expect(page.get_by_role("heading", name="New job")).to_have_count(0)
    assert not leave_dialog(page).count()
    # The draft went with the post: a new job starts empty.
    page.goto("/#/jobs/new")
    expect(page.get_by_label("Job title")).to_have_value("")
    jobs = recruiter.client.get("/jobs", params={"recruiter_id": recruiter.id}).json()
    assert [j["title"] for j in jobs["items"]] == ["Staff Data Engineer"]
    # Nothing at stake any more: a reload does not ask.
    page.reload()
    assert seen == ["beforeunload"], seen


def test_a_cover_letter_survives_a_reload_until_it_is_sent(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    job = recruiter.client.post("/jobs", json=job_payload(title="Platform Engineer")).json()
    s = open_session()
    page = s.page
    seen = accept_leaving(page)
    log_in(page, candidate)
    page.goto(f"/#/jobs/{job['id']}")
    letter = "I have run Kubernetes clusters for five years.\nHappy to talk."
    page.get_by_label("Cover letter").fill(letter)
    page.reload()
    assert seen == ["beforeunload"]
    expect(page.get_by_label("Cover letter")).to_have_value(letter)
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("heading", name="Application sent")).to_be_visible()
    mine = candidate.client.get("/applications").json()["items"]
    # (multipart sends a new line as CRLF)
    assert [a["cover_letter"].replace("\r\n", "\n") for a in mine] == [letter]
    keys = page.evaluate("() => Object.keys(sessionStorage)")
    assert not [k for k in keys if k.startswith("openhire.draft.cover")], keys
    page.reload()
    assert seen == ["beforeunload"]


def test_leaving_a_live_interview_asks_first(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    _job, interview_id = schedule_by_api(recruiter, candidate)
    s = open_session()
    page = s.page
    seen = accept_leaving(page)
    log_in(page, candidate)
    page.goto(f"/#/interviews/{interview_id}/room")
    page.get_by_role("button", name="Start the interview").click()
    expect(page.locator("#answer")).to_be_enabled()
    room = page.url

    dialog = leave_dialog(page)
    page.get_by_role("link", name="Interviews").click()
    expect(dialog).to_contain_text("Leave the interview?")
    expect(dialog).to_contain_text("clock does not stop")
    dialog.get_by_role("button", name="Stay in the interview").click()
    assert page.url == room
    expect(page.locator("#answer")).to_be_enabled()

    page.go_back()
    expect(dialog).to_contain_text("Leave the interview?")
    dialog.get_by_role("button", name="Stay in the interview").click()
    page.wait_for_function("(room) => location.href === room", arg=room)
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()

    # Back pressed while a question is on screen is asked about in its turn, not let through.
    page.get_by_role("link", name="Interviews").click()
    expect(dialog).to_contain_text("Leave the interview?")
    page.evaluate("history.back()")
    page.wait_for_function("(room) => location.href !== room", arg=room)
    dialog.get_by_role("button", name="Stay in the interview").click()
    expect(dialog).to_contain_text("Leave the interview?")
    dialog.get_by_role("button", name="Stay in the interview").click()
    page.wait_for_function("(room) => location.href === room", arg=room)
    expect(page.locator("#answer")).to_be_enabled()

    # Closing or reloading the tab: the browser asks.
    page.reload()
    assert seen == ["beforeunload"], seen
    page.get_by_role("button", name="Rejoin the interview").click()
    expect(page.locator("#answer")).to_be_enabled()
    page.get_by_role("link", name="Interviews").click()
    dialog.get_by_role("button", name="Leave the interview").click()
    expect(page.get_by_role("heading", name="Interviews")).to_be_visible()
    state = candidate.client.get(f"/interviews/{interview_id}").json()["state"]
    assert state == "in_progress"


# --- §2: errors written for people -----------------------------------------------------------


def posts_to(page: Any, path: str) -> list[str]:
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST"
            and request.url.endswith(path)
            and sent.append(request.post_data or "")
        ),
    )
    return sent


def focused_label(page: Any) -> str:
    return str(
        page.evaluate(
            "() => document.activeElement.labels && document.activeElement.labels[0]"
            " ? document.activeElement.labels[0].textContent : ''"
        )
    )


def in_view(locator: Any) -> bool:
    """Whether the element is inside the viewport, top to bottom."""
    return bool(
        locator.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= innerHeight; }"
        )
    )


def star_of(page: Any, field: Any) -> str:
    """What the field's label shows after its text (app.css marks a required field with a star)."""
    return str(
        page.evaluate(
            "(id) => getComputedStyle(document.querySelector(`label[for='${id}']`), '::after')"
            ".content",
            field.get_attribute("id"),
        )
    )


def test_job_form_errors_are_sentences_at_their_fields(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter = signup("recruiter")
    s = open_session()
    page = s.page
    accept_leaving(page)
    posts = posts_to(page, "/jobs")
    log_in(page, recruiter)
    page.goto("/#/jobs/new")
    title = page.get_by_label("Job title")
    # Required fields are marked before anything is sent: a star, and `required`.
    expect(page.locator("form").get_by_text("Fields marked * are required.")).to_be_visible()
    for name in ("Job title", "Description", "Criterion 1", "Main questions"):
        field = page.get_by_label(name, exact=False).first
        expect(field).to_have_attribute("required", "")
        assert star_of(page, field) == '" *" / ""', name
    # The star is not part of the field's name.
    expect(page.get_by_label("Criterion 1", exact=True)).to_have_count(1)
    expect(page.get_by_label("Location")).not_to_have_attribute("required", "")
    assert star_of(page, page.get_by_label("Location")) == "none"

    # An empty form: checked in the browser with the server's rules; nothing is sent.
    page.get_by_role("button", name="Post job").click()
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_be_focused()
    error = page.locator(f"#{title.get_attribute('id')}-error")
    expect(error).to_have_text("Fill this in: it cannot be blank.")
    expect(page.locator(".field-error:not([hidden])")).to_have_count(2)  # title, description
    expect(page.get_by_role("alert")).to_contain_text("2 fields need a change")
    assert "body." not in page.locator("main").inner_text()
    assert posts == []

    # A salary without its currency: the Currency field, far down, is focused and says why.
    title.fill("Analytics Engineer")
    page.get_by_label("Description").fill("dbt, SQL and a warehouse.")
    page.get_by_label("Salary from").fill("50000")
    page.get_by_label("Main questions").fill("31")
    page.get_by_role("button", name="Post job").click()
    currency = page.get_by_label("Currency")
    expect(currency).to_be_focused()
    expect(page.locator(f"#{currency.get_attribute('id')}-error")).to_have_text(
        "Give the salary's currency, three letters such as EUR or USD."
    )
    questions = page.get_by_label("Main questions")
    expect(page.locator(f"#{questions.get_attribute('id')}-error")).to_have_text(
        "Enter a number from 1 to 30."
    )
    expect(title).not_to_have_attribute("aria-invalid", "true")
    assert in_view(currency)
    assert posts == []
    currency.fill("eu")
    questions.fill("3")
    page.get_by_role("button", name="Post job").click()
    expect(page.locator(f"#{currency.get_attribute('id')}-error")).to_have_text(
        "Use three capital letters, such as EUR or USD."
    )
    assert posts == []

    # The server's 422 names the field too (here a currency dropped on the way, so only the
    # server can tell): the app shows its problem at that field, in words.
    currency.fill("EUR")

    def drop_currency(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["salary_currency"] = None
        route.continue_(post_data=json.dumps(body))

    page.route("**/jobs", drop_currency)
    page.get_by_role("button", name="Post job").click()
    expect(currency).to_be_focused()
    expect(page.locator(f"#{currency.get_attribute('id')}-error")).to_have_text(
        "Give the salary's currency, three letters such as EUR or USD."
    )
    alert = page.get_by_role("alert")
    expect(alert.locator(".message")).to_have_text(
        "The job was not saved. Some fields need a change: see the messages next to them."
    )
    expect(alert.locator(".ref")).to_contain_text("Reference for support")
    assert "body." not in page.locator("main").inner_text()
    assert len(posts) == 1
    assert recruiter.client.get("/jobs", params={"recruiter_id": recruiter.id}).json()["total"] == 0
    page.unroute("**/jobs")
    page.get_by_role("button", name="Post job").click()
    expect(page.get_by_role("heading", name="Analytics Engineer")).to_be_visible()
    assert recruiter.client.get("/jobs", params={"recruiter_id": recruiter.id}).json()["total"] == 1


# --- §4: layout --------------------------------------------------------------------------------

LONG_NAME = "Maximiliane Alexandra Konstantinopoulou-Vanderbilt de la Cruz y Montgomery-Fitzgerald"


def fits_sideways(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"))


def top_of(locator: Any) -> float:
    return float(locator.evaluate("e => e.getBoundingClientRect().top + scrollY"))


def test_a_long_name_is_cut_short_in_the_top_bar_and_shown_whole_on_hover_and_focus(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    assert len(LONG_NAME) == 85
    recruiter = signup("recruiter", full_name=LONG_NAME)
    candidate = signup("candidate", full_name=LONG_NAME)
    _job, interview_id = schedule_by_api(recruiter, candidate)
    s = open_session()
    page = s.page
    log_in(page, recruiter)
    bar = page.locator(".topbar")
    # One row: the nav does not stack, the sticky bar stays its usual height.
    height = bar.evaluate("e => e.getBoundingClientRect().height")
    assert height < 80, height
    tops = page.locator("#nav a").evaluate_all("links => links.map((a) => a.offsetTop)")
    assert len(set(tops)) == 1, tops
    name = page.locator(".account .who strong")
    expect(name).to_have_text(LONG_NAME)  # whole for screen readers, cut short on screen
    assert name.evaluate("e => e.scrollWidth > e.clientWidth")
    assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    whole = page.locator(".account .who .full-name")
    expect(whole).to_be_hidden()
    name.hover()
    expect(whole).to_be_visible()
    expect(whole).to_have_text(LONG_NAME)
    page.mouse.move(5, 400)
    expect(whole).to_be_hidden()
    page.locator(".account .who").focus()
    expect(whole).to_be_visible()
    assert fits_sideways(page)
    # A heading with the long name wraps inside the page.
    page.goto(f"/#/interviews/{interview_id}/watch")
    expect(page.get_by_role("heading", level=1)).to_contain_text(LONG_NAME)
    assert fits_sideways(page)
    page.set_viewport_size(PHONE)
    assert fits_sideways(page)


def test_the_interview_on_a_phone_puts_first_what_matters(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """The candidate on a phone: Apply reachable past a long description, the camera preview
    above Start, the question and the answer box before the camera; the recruiter's live view
    has one green "live" pill; on a phone the review starts with its evaluation, and Shift+Tab
    from a quoted answer goes back to the quote."""
    recruiter_account, candidate_account = signup("recruiter"), signup("candidate")
    long_text = ("We build the payments platform. " * 70).strip()
    assert len(long_text) > 2000
    _job, interview_id = schedule_by_api(recruiter_account, candidate_account, question_count=1)
    other = recruiter_account.client.post(
        "/jobs", json=job_payload(title="Payments Engineer", description=long_text)
    ).json()
    candidate = open_session(viewport=PHONE)
    c = candidate.page
    accept_leaving(c)
    log_in(c, candidate_account)

    # Apply stays one press away above a 2,000-character description.
    c.goto(f"/#/jobs/{other['id']}")
    apply = c.get_by_role("button", name="Apply for this job")
    expect(apply).to_be_visible()
    assert in_view(apply)
    letter = c.get_by_label("Cover letter")
    assert not in_view(letter)
    apply.click()
    expect(letter).to_be_focused()
    assert in_view(letter)

    # The camera check: the preview above the Start button.
    c.goto(f"/#/interviews/{interview_id}/room")
    start = c.get_by_role("button", name="Start the interview")
    expect(start).to_be_enabled()
    assert top_of(c.locator(".camera video")) < top_of(start)
    start.click()

    # The room: the question and the answer box first, within the first screen.
    answer = c.locator("#answer")
    expect(answer).to_be_enabled()
    assert top_of(c.locator("#question-text")) < top_of(answer) < top_of(c.locator(".room .side"))
    assert answer.evaluate("e => e.getBoundingClientRect().bottom") <= PHONE["height"]
    assert fits_sideways(c)
    # No empty pill beside "Connected".
    pills = c.locator(".room-bar .pill").evaluate_all(
        "ps => ps.filter((p) => p.getClientRects().length).map((p) => p.textContent.trim())"
    )
    assert pills and all(pills), pills

    # The recruiter's live view: the interview is live, said once in green.
    recruiter = open_session()
    r = recruiter.page
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    expect(r.get_by_role("status").filter(has_text="Live updates on")).to_be_visible()
    green = r.locator(".page-head .pill.ok").evaluate_all("ps => ps.map((p) => p.textContent)")
    assert [t for t in green if "Live" in t] == ["Live now"], green

    answer_current_question(c, ANSWERS[0], None)
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()

    # The review on a phone: the evaluation first, then the long timeline.
    r.set_viewport_size(PHONE)
    r.goto(f"/#/interviews/{interview_id}/review")
    evaluation = r.get_by_role("region", name="Evaluation")
    expect(evaluation.locator(".overall")).to_be_visible()
    assert top_of(evaluation) < top_of(r.get_by_role("region", name="Timeline"))
    assert fits_sideways(r)
    # A quote jumps to its answer; Shift+Tab from there goes back to the quote.
    quote = evaluation.locator(".evidence button.link").first
    quote.click()
    expect(r.locator("li.turn.highlight")).to_be_focused()
    r.keyboard.press("Shift+Tab")
    expect(quote).to_be_focused()


def test_no_stale_job_count_beside_an_error(
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    for title in ("Backend Engineer", "Frontend Engineer"):
        assert recruiter.client.post("/jobs", json=job_payload(title=title)).status_code == 201
    s = open_session()
    page = s.page
    log_in(page, candidate)
    summary = page.get_by_text(re.compile(r"^\d+ jobs? open$"))
    expect(summary).to_be_visible()
    # The server goes away; the next search fails.
    s.allow(r"Failed to load resource: net::ERR_FAILED")
    page.route(re.compile(r"/jobs\?"), lambda route: route.abort())
    page.get_by_label("Search job titles").fill("Engineer")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the server")
    expect(summary).to_have_count(0)
