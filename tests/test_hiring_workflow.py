"""The hiring workflow's gaps (issue 16 §5) over HTTP: a scheduling window the server enforces,
the recruiter's decision with a note, and the company on the recruiter's profile shown on jobs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Account, job_payload, minimal_pdf


def apply(recruiter: Account, candidate: Account) -> tuple[str, str]:
    job = recruiter.client.post("/jobs", json=job_payload(title="Window Engineer"))
    assert job.status_code == 201, job.text
    application = candidate.client.post(
        f"/jobs/{job.json()['id']}/applications",
        data={"cover_letter": "Hello"},
        files={"resume": ("cv.pdf", minimal_pdf(), "application/pdf")},
    )
    assert application.status_code == 201, application.text
    return job.json()["id"], application.json()["id"]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_a_scheduling_window_is_enforced_for_the_candidate(signup: Any) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    _, application = apply(recruiter, candidate)
    now = datetime.now(UTC)
    # Refused shapes: closing before opening, closing in the past, expiring before closing.
    for body, field in [
        (
            {"opens_at": iso(now + timedelta(hours=2)), "closes_at": iso(now + timedelta(hours=1))},
            "closes_at",
        ),
        ({"closes_at": iso(now - timedelta(minutes=1))}, "closes_at"),
        (
            {
                "closes_at": iso(now + timedelta(hours=2)),
                "expires_at": iso(now + timedelta(hours=1)),
            },
            "expires_at",
        ),
    ]:
        resp = recruiter.client.post(f"/applications/{application}/interviews", json=body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"][0]["loc"] == ["body", field]
    opens = now + timedelta(hours=1)
    closes = now + timedelta(hours=3)
    # A window given in another zone is the same instants.
    zone = datetime.now(UTC).astimezone().tzinfo
    resp = recruiter.client.post(
        f"/applications/{application}/interviews",
        json={"opens_at": iso(opens.astimezone(zone)), "closes_at": iso(closes)},
    )
    assert resp.status_code == 201, resp.text
    interview = resp.json()
    assert datetime.fromisoformat(interview["opens_at"]) == opens
    assert datetime.fromisoformat(interview["closes_at"]) == closes
    # Expires when the window closes, unless told otherwise.
    assert datetime.fromisoformat(interview["expires_at"]) == closes
    mine = candidate.client.get("/interviews").json()["items"][0]
    assert (mine["opens_at"], mine["closes_at"]) == (interview["opens_at"], interview["closes_at"])

    early = candidate.client.post(f"/interviews/{interview['id']}/ticket")
    assert early.status_code == 409
    error = early.json()["error"]
    assert error["code"] == "interview_not_open" and "opens at" in error["message"]
    assert datetime.fromisoformat(error["details"]["opens_at"]) == opens
    # The recruiter may open the live view whenever they like.
    assert recruiter.client.post(f"/interviews/{interview['id']}/ticket").status_code == 200


def test_an_open_window_lets_the_candidate_in(signup: Any, server: Any) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    _, application = apply(recruiter, candidate)
    now = datetime.now(UTC)
    resp = recruiter.client.post(
        f"/applications/{application}/interviews",
        json={
            "opens_at": iso(now - timedelta(minutes=5)),
            "closes_at": iso(now + timedelta(hours=1)),
        },
    )
    assert resp.status_code == 201, resp.text
    ticket = candidate.client.post(f"/interviews/{resp.json()['id']}/ticket")
    assert ticket.status_code == 200 and ticket.json()["role"] == "candidate"


def test_the_recruiters_decision_and_note(signup: Any) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    _, application = apply(recruiter, candidate)
    other = signup("recruiter")
    shortlisted = recruiter.client.patch(
        f"/applications/{application}",
        json={"status": "shortlisted", "note": "  Strong on systems design.  "},
    )
    assert shortlisted.status_code == 200, shortlisted.text
    assert shortlisted.json()["status"] == "shortlisted"
    assert shortlisted.json()["note"] == "Strong on systems design."
    # The note is the recruiter's: the candidate reads the status, never the note.
    seen = candidate.client.get(f"/applications/{application}").json()
    assert seen["status"] == "shortlisted" and seen["note"] is None
    assert candidate.client.get("/applications").json()["items"][0]["note"] is None
    refused = candidate.client.patch(
        f"/applications/{application}", json={"status": "withdrawn", "note": "bye"}
    )
    assert refused.status_code == 403
    assert (
        other.client.patch(
            f"/applications/{application}", json={"status": "rejected", "note": "x"}
        ).status_code
        == 403
    )
    # Rewriting the note without moving the status; then rejecting with another.
    same = recruiter.client.patch(
        f"/applications/{application}", json={"status": "shortlisted", "note": "Second look."}
    )
    assert same.json()["note"] == "Second look." and same.json()["status"] == "shortlisted"
    rejected = recruiter.client.patch(
        f"/applications/{application}", json={"status": "rejected", "note": "Not enough depth."}
    )
    assert rejected.json()["status"] == "rejected"
    listed = recruiter.client.get("/applications", params={"status": "rejected"}).json()
    assert [(a["id"], a["note"]) for a in listed["items"] if a["id"] == application] == [
        (application, "Not enough depth.")
    ]
    # A rejected application moves no further; the note can still be cleared.
    assert (
        recruiter.client.patch(f"/applications/{application}", json={"status": "hired"}).status_code
        == 409
    )
    cleared = recruiter.client.patch(
        f"/applications/{application}", json={"status": "rejected", "note": ""}
    )
    assert cleared.json()["note"] is None
    too_long = recruiter.client.patch(
        f"/applications/{application}", json={"status": "rejected", "note": "x" * 5001}
    )
    assert too_long.status_code == 422


def test_the_company_on_the_recruiters_profile_is_shown_on_their_jobs(
    signup: Any, server: Any
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    job = recruiter.client.post("/jobs", json=job_payload(title="Company Engineer")).json()
    assert job["company_name"] is None
    # Nothing to change: the profile as it is.
    same = recruiter.client.patch("/users/me", json={})
    assert same.status_code == 200 and same.json()["company_name"] is None
    me = recruiter.client.patch("/users/me", json={"company_name": "  Acme Robotics "})
    assert me.status_code == 200 and me.json()["company_name"] == "Acme Robotics"
    assert recruiter.client.get("/users/me").json()["company_name"] == "Acme Robotics"
    # Every way a job is read carries it, for the recruiter and for candidates.
    assert recruiter.client.get(f"/jobs/{job['id']}").json()["company_name"] == "Acme Robotics"
    assert candidate.client.get(f"/jobs/{job['id']}").json()["company_name"] == "Acme Robotics"
    found = candidate.client.get("/jobs", params={"title": "Company Engineer", "limit": 100})
    assert [j["company_name"] for j in found.json()["items"] if j["id"] == job["id"]] == [
        "Acme Robotics"
    ]
    updated = recruiter.client.put(
        f"/jobs/{job['id']}", json=job_payload(title="Company Engineer II")
    )
    if updated.status_code == 405:
        updated = recruiter.client.patch(
            f"/jobs/{job['id']}", json={"title": "Company Engineer II"}
        )
    assert updated.status_code == 200, updated.text
    assert updated.json()["company_name"] == "Acme Robotics"
    # The log-in answer carries it too; an empty one removes it.
    login = httpx.post(
        f"{server.url}/auth/login", json={"email": recruiter.email, "password": recruiter.password}
    )
    assert login.json()["user"]["company_name"] == "Acme Robotics"
    assert (
        recruiter.client.patch("/users/me", json={"company_name": ""}).json()["company_name"]
        is None
    )
    assert candidate.client.get(f"/jobs/{job['id']}").json()["company_name"] is None
    # The name alone can change; the company stays.
    assert recruiter.client.patch("/users/me", json={"company_name": "Beta"}).status_code == 200
    renamed = recruiter.client.patch("/users/me", json={"full_name": "Rae Recruiter"}).json()
    assert (renamed["full_name"], renamed["company_name"]) == ("Rae Recruiter", "Beta")


def test_a_closed_window_refuses_the_candidate(signup: Any) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    _, application = apply(recruiter, candidate)
    now = datetime.now(UTC)
    # Far enough ahead to be in the future when the server reads it, on a loaded machine too.
    closes_at = now + timedelta(seconds=5)
    resp = recruiter.client.post(
        f"/applications/{application}/interviews",
        json={
            "closes_at": iso(closes_at),
            "expires_at": iso(now + timedelta(hours=1)),
        },
    )
    assert resp.status_code == 201, resp.text
    interview = resp.json()["id"]
    time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.5)
    late = candidate.client.post(f"/interviews/{interview}/ticket")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "interview_not_open"
    assert "closed" in late.json()["error"]["message"]
    # Still scheduled (it expires later), and the recruiter's live view opens.
    assert candidate.client.get(f"/interviews/{interview}").json()["state"] == "scheduled"
    assert recruiter.client.post(f"/interviews/{interview}/ticket").status_code == 200
