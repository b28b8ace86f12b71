"""Applications over real HTTP: multipart uploads, résumé storage and access, listing, the
status machine, and what deleting a job takes with it."""

from __future__ import annotations

import secrets
import stat
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import (
    Account,
    ServerProcess,
    job_payload,
    minimal_pdf,
    share_created_at,
    unique_email,
)

MB = 1024 * 1024
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def shared(server: ServerProcess) -> Iterator[dict[str, Account]]:
    """Accounts shared by the tests of this module that need no fresh ones (sign-ups hash a
    password with argon2, which is what makes them slow)."""
    accounts: dict[str, Account] = {}
    for name in ("recruiter", "candidate", "stranger_recruiter", "stranger_candidate"):
        role = name.rsplit("_", 1)[-1]
        email = unique_email(role)
        password = secrets.token_urlsafe(12)
        resp = httpx.post(
            server.url + "/auth/signup",
            json={"email": email, "password": password, "full_name": name, "role": role},
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        token = body["access_token"]
        c = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        accounts[name] = Account(body["user"]["id"], email, password, role, token, c)
    yield accounts
    for account in accounts.values():
        account.client.close()


def post_job(recruiter: Account, **overrides: Any) -> dict[str, Any]:
    resp = recruiter.client.post("/jobs", json=job_payload(**overrides))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def apply(
    who: Account,
    job_id: str,
    *,
    cover_letter: str | None = "I would love to work on this.",
    resume: bytes | None = None,
    filename: str = "resume.pdf",
    content_type: str = "application/pdf",
) -> httpx.Response:
    """POST /jobs/{id}/applications as multipart/form-data (even without a résumé)."""
    files: list[tuple[str, Any]] = []
    if cover_letter is not None:
        files.append(("cover_letter", (None, cover_letter)))
    if resume is not None:
        files.append(("resume", (filename, resume, content_type)))
    if not files:
        files.append(("unrelated", (None, "x")))
    return who.client.post(f"/jobs/{job_id}/applications", files=files)


def applied(who: Account, job_id: str, **kw: Any) -> dict[str, Any]:
    resp = apply(who, job_id, **kw)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def error_code(resp: httpx.Response) -> str:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"]
    return str(body["error"]["code"])


def blob_files(server: ServerProcess) -> set[Path]:
    root = server.data_dir / "blobs"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def resume_path(server: ServerProcess, application_id: str) -> Path:
    return server.data_dir / "blobs" / "resumes" / application_id / "resume.pdf"


async def application_rows(server: ServerProcess, job_id: str) -> int:
    """Rows in the database itself, whatever the API says."""
    conn = await asyncpg.connect(server.dsn)
    try:
        return int(
            await conn.fetchval(
                "select count(*) from public.applications where job_id = $1", uuid.UUID(job_id)
            )
        )
    finally:
        await conn.close()


def job_applications(recruiter: Account, job_id: str) -> int:
    resp = recruiter.client.get("/applications", params={"job_id": job_id})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


# --- applying -------------------------------------------------------------------------------


def test_candidate_applies_with_resume_and_only_the_two_parties_can_download_it(
    signup, shared: dict[str, Account], server: ServerProcess
) -> None:
    recruiter, other_recruiter = shared["recruiter"], shared["stranger_recruiter"]
    candidate = signup("candidate", full_name="Ada Lovelace")
    other_candidate = shared["stranger_candidate"]
    job = post_job(recruiter, title="Résumé Reader")
    pdf = minimal_pdf("Ada Lovelace, analytical engines")

    resp = apply(candidate, job["id"], cover_letter="Dear team,\nhire me.", resume=pdf)
    assert resp.status_code == 201, resp.text
    app = resp.json()
    assert app["job_id"] == job["id"]
    assert app["job_title"] == "Résumé Reader"
    assert app["candidate_id"] == candidate.id
    assert app["candidate_name"] == "Ada Lovelace"
    assert app["candidate_email"] == candidate.email
    assert app["cover_letter"] == "Dear team,\nhire me."
    assert app["status"] == "submitted"
    assert app["resume"] == {
        "filename": "resume.pdf",
        "size_bytes": len(pdf),
        "download_url": f"/applications/{app['id']}/resume",
    }

    # Stored in the blob store, owner-only, byte for byte.
    path = resume_path(server, app["id"])
    assert path.read_bytes() == pdf
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blobs = server.data_dir / "blobs"
    for directory in (blobs, blobs / "resumes", path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory

    for who in (candidate, recruiter):
        download = who.client.get(app["resume"]["download_url"])
        assert download.status_code == 200, download.text
        assert download.content == pdf
        assert download.headers["content-type"] == "application/pdf"
        assert "attachment" in download.headers["content-disposition"]
        assert 'filename="resume.pdf"' in download.headers["content-disposition"]

    for who in (other_candidate, other_recruiter):
        denied = who.client.get(app["resume"]["download_url"])
        assert denied.status_code == 403
        assert error_code(denied) == "forbidden"
        assert pdf not in denied.content

    anonymous = httpx.get(server.url + app["resume"]["download_url"])
    assert anonymous.status_code == 401


def test_resume_is_checked_by_content_not_by_name(shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    pdf = minimal_pdf()
    app = applied(
        candidate,
        job["id"],
        resume=pdf,
        filename="../../etc/my cv.bin",
        content_type="application/octet-stream",
    )
    assert app["resume"]["size_bytes"] == len(pdf)
    # The name is reduced to a safe base name, and always ends in .pdf.
    assert app["resume"]["filename"] == "my cv.bin.pdf"
    download = candidate.client.get(app["resume"]["download_url"])
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"


def test_application_without_resume(shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    app = applied(candidate, job["id"], cover_letter="No CV, but enthusiasm.")
    assert app["resume"] is None
    assert app["cover_letter"] == "No CV, but enthusiasm."
    missing = recruiter.client.get(f"/applications/{app['id']}/resume")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        pytest.param(PNG, "resume.png", "image/png", id="png"),
        pytest.param(PNG, "resume.pdf", "application/pdf", id="png-named-pdf"),
        pytest.param(b"I am plain text, honest.\n", "resume.pdf", "application/pdf", id="text"),
        pytest.param(minimal_pdf()[:200], "resume.pdf", "application/pdf", id="truncated-pdf"),
        pytest.param(b"", "resume.pdf", "application/pdf", id="empty-file"),
    ],
)
async def test_non_pdf_resume_is_refused_and_nothing_is_stored(
    shared: dict[str, Account],
    server: ServerProcess,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    blobs_before = blob_files(server)

    resp = apply(candidate, job["id"], resume=content, filename=filename, content_type=content_type)
    assert resp.status_code == 415, resp.text
    assert error_code(resp) == "resume_not_pdf"

    assert await application_rows(server, job["id"]) == 0
    assert job_applications(recruiter, job["id"]) == 0
    assert blob_files(server) == blobs_before
    # Nothing half-made stands in the way of a proper application.
    assert apply(candidate, job["id"], resume=minimal_pdf()).status_code == 201


async def test_resume_size_limit(shared: dict[str, Account], server: ServerProcess) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    blobs_before = blob_files(server)

    def pdf_of_size(size: int) -> bytes:
        head, tail = b"%PDF-1.4\n", b"\n%%EOF\n"
        return head + b"0" * (size - len(head) - len(tail)) + tail

    too_big = apply(candidate, job["id"], resume=pdf_of_size(10 * MB + 1))
    assert too_big.status_code == 413, too_big.text
    assert error_code(too_big) == "payload_too_large"
    # Far too big: refused by the request body limit, with the same error shape.
    huge = apply(candidate, job["id"], resume=pdf_of_size(12 * MB))
    assert huge.status_code == 413
    assert error_code(huge) == "payload_too_large"
    assert await application_rows(server, job["id"]) == 0
    assert blob_files(server) == blobs_before

    exactly = pdf_of_size(10 * MB)
    app = applied(candidate, job["id"], resume=exactly)
    assert app["resume"]["size_bytes"] == 10 * MB
    assert candidate.client.get(app["resume"]["download_url"]).content == exactly


def test_body_must_be_multipart(shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    url = f"/jobs/{job['id']}/applications"

    as_json = candidate.client.post(url, json={"cover_letter": "Hello"})
    assert as_json.status_code == 415
    assert error_code(as_json) == "unsupported_media_type"
    urlencoded = candidate.client.post(url, data={"cover_letter": "Hello"})
    assert urlencoded.status_code == 415
    no_body = candidate.client.post(url)
    assert no_body.status_code == 415
    assert job_applications(recruiter, job["id"]) == 0


def test_form_validation(shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)

    missing = apply(candidate, job["id"], cover_letter=None, resume=minimal_pdf())
    assert missing.status_code == 422, missing.text
    assert error_code(missing) == "validation_failed"
    assert any(p["loc"][-1] == "cover_letter" for p in missing.json()["error"]["details"])

    too_long = apply(candidate, job["id"], cover_letter="x" * 10_001)
    assert too_long.status_code == 422

    twice = candidate.client.post(
        f"/jobs/{job['id']}/applications",
        files=[("cover_letter", (None, "one")), ("cover_letter", (None, "two"))],
    )
    assert twice.status_code == 422

    resume_as_text = candidate.client.post(
        f"/jobs/{job['id']}/applications",
        files=[("cover_letter", (None, "hi")), ("resume", (None, "%PDF-1.4 not a file %%EOF"))],
    )
    assert resume_as_text.status_code == 422
    assert job_applications(recruiter, job["id"]) == 0


def test_only_candidates_apply(shared: dict[str, Account]) -> None:
    recruiter, other_recruiter = shared["recruiter"], shared["stranger_recruiter"]
    job = post_job(recruiter)
    for who in (recruiter, other_recruiter):
        resp = apply(who, job["id"], resume=minimal_pdf())
        assert resp.status_code == 403
        assert error_code(resp) == "forbidden"
    assert job_applications(recruiter, job["id"]) == 0


def test_unauthenticated_apply_is_refused(
    server: ServerProcess, shared: dict[str, Account]
) -> None:
    job = post_job(shared["recruiter"])
    resp = httpx.post(
        f"{server.url}/jobs/{job['id']}/applications", files={"cover_letter": (None, "hi")}
    )
    assert resp.status_code == 401
    assert job_applications(shared["recruiter"], job["id"]) == 0


def test_second_application_to_the_same_job_conflicts(
    shared: dict[str, Account], server: ServerProcess
) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    job = post_job(recruiter)
    first_pdf = minimal_pdf("first")
    first = applied(candidate, job["id"], resume=first_pdf)
    blobs_before = blob_files(server)

    again = apply(candidate, job["id"], cover_letter="Me again", resume=minimal_pdf("second"))
    assert again.status_code == 409
    assert error_code(again) == "already_applied"
    # The second résumé is not left behind, and the first is untouched.
    assert blob_files(server) == blobs_before
    assert candidate.client.get(first["resume"]["download_url"]).content == first_pdf
    listed = candidate.client.get("/applications", params={"job_id": job["id"]}).json()
    assert listed["total"] == 1
    assert listed["items"][0]["cover_letter"] == first["cover_letter"]


def test_closed_and_unknown_jobs(shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], shared["candidate"]
    closed = post_job(recruiter, status="closed")
    resp = apply(candidate, closed["id"], resume=minimal_pdf())
    assert resp.status_code == 409
    assert error_code(resp) == "job_closed"

    # A job closed after it was posted refuses applications too.
    job = post_job(recruiter)
    closing = recruiter.client.put(f"/jobs/{job['id']}", json=job_payload(status="closed"))
    assert closing.status_code == 200, closing.text
    assert apply(candidate, job["id"]).status_code == 409
    assert job_applications(recruiter, closed["id"]) == 0
    assert job_applications(recruiter, job["id"]) == 0

    unknown = apply(candidate, str(uuid.uuid4()))
    assert unknown.status_code == 404
    assert error_code(unknown) == "not_found"
    assert apply(candidate, "not-a-uuid").status_code == 404


# --- reading --------------------------------------------------------------------------------


def ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


def test_listing_shows_each_user_only_their_applications(signup) -> None:
    r1, r2 = signup("recruiter"), signup("recruiter")
    c1, c2 = signup("candidate"), signup("candidate")
    job1, job2, job3 = post_job(r1, title="One"), post_job(r1, title="Two"), post_job(r2)
    a11 = applied(c1, job1["id"])
    a12 = applied(c1, job2["id"])
    a21 = applied(c2, job1["id"])
    a23 = applied(c2, job3["id"])

    def listing(who: Account, **params: Any) -> dict[str, Any]:
        resp = who.client.get("/applications", params=params)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    page = listing(c1)
    assert ids(page) == {a11["id"], a12["id"]}
    assert page["total"] == 2
    assert page["next_cursor"] is None
    assert ids(listing(c2)) == {a21["id"], a23["id"]}
    assert ids(listing(r1)) == {a11["id"], a12["id"], a21["id"]}
    assert listing(r1)["total"] == 3
    assert ids(listing(r2)) == {a23["id"]}

    # Filter by job: a recruiter's own job, and another's (which shows nothing).
    assert ids(listing(r1, job_id=job1["id"])) == {a11["id"], a21["id"]}
    assert listing(r1, job_id=job1["id"])["total"] == 2
    assert listing(r1, job_id=job3["id"])["total"] == 0
    assert ids(listing(c1, job_id=job1["id"])) == {a11["id"]}
    assert listing(c1, job_id=job3["id"])["items"] == []

    # Filter by status.
    moved = r1.client.patch(f"/applications/{a21['id']}", json={"status": "reviewing"})
    assert moved.status_code == 200, moved.text
    assert ids(listing(r1, status="reviewing")) == {a21["id"]}
    assert ids(listing(r1, status="submitted")) == {a11["id"], a12["id"]}
    assert ids(listing(r1, status="submitted", job_id=job1["id"])) == {a11["id"]}
    assert listing(r1, status="hired")["total"] == 0
    assert ids(listing(c2, status="reviewing")) == {a21["id"]}

    bad = r1.client.get("/applications", params={"status": "bogus"})
    assert bad.status_code == 422
    assert error_code(bad) == "validation_failed"
    assert r1.client.get("/applications", params={"job_id": "nope"}).status_code == 422


def test_listing_pagination(signup, shared: dict[str, Account]) -> None:
    recruiter, candidate = shared["recruiter"], signup("candidate")
    created = [applied(candidate, post_job(recruiter)["id"])["id"] for _ in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        resp = candidate.client.get("/applications", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        pages += 1
        assert page["total"] == 5
        assert page["limit"] == 2
        assert len(page["items"]) == (2 if pages < 3 else 1)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 5, "pagination does not end"
    assert pages == 3
    # Every application once, newest first.
    assert seen == list(reversed(created))

    everything = candidate.client.get("/applications", params={"limit": 100})
    assert [item["id"] for item in everything.json()["items"]] == seen
    assert everything.json()["next_cursor"] is None

    # A recruiter pages through the applications to their jobs the same way.
    first = recruiter.client.get("/applications", params={"limit": 1}).json()
    assert len(first["items"]) == 1
    assert first["total"] >= 5
    second = recruiter.client.get(
        "/applications", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["items"]) == 1
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert second["total"] == first["total"]

    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}):
        assert candidate.client.get("/applications", params=bad).status_code == 422
    garbage = candidate.client.get("/applications", params={"cursor": "not-a-cursor"})
    assert garbage.status_code == 400
    assert error_code(garbage) == "invalid_cursor"


def test_listing_pages_exactly_through_applications_that_share_a_created_at(
    signup, server: ServerProcess
) -> None:
    recruiter, candidate = signup("recruiter"), signup("candidate")
    created = [applied(candidate, post_job(recruiter)["id"])["id"] for _ in range(9)]
    # Two groups of rows with one created_at each: only the id tells them apart, so a cursor
    # without the id (or an order without it) repeats or skips rows within a group.
    expected = share_created_at(server.dsn, "applications", [created[:4], created[4:]])

    for who in (candidate, recruiter):
        for limit in (1, 2, 3, 4):
            seen: list[str] = []
            cursor: str | None = None
            for _ in range(20):
                params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
                resp = who.client.get("/applications", params=params)
                assert resp.status_code == 200, resp.text
                page = resp.json()
                assert page["total"] == 9
                seen += [item["id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected, (who.role, limit)  # no repeat, no gap, one order


def test_get_one_application(shared: dict[str, Account]) -> None:
    recruiter, other_recruiter = shared["recruiter"], shared["stranger_recruiter"]
    candidate, other_candidate = shared["candidate"], shared["stranger_candidate"]
    job = post_job(recruiter)
    app = applied(candidate, job["id"], resume=minimal_pdf())

    for who in (candidate, recruiter):
        resp = who.client.get(f"/applications/{app['id']}")
        assert resp.status_code == 200
        assert resp.json() == app
    for who in (other_candidate, other_recruiter):
        resp = who.client.get(f"/applications/{app['id']}")
        assert resp.status_code == 403
        assert error_code(resp) == "forbidden"
        assert candidate.email not in resp.text
    assert candidate.client.get(f"/applications/{uuid.uuid4()}").status_code == 404
    assert candidate.client.get("/applications/not-a-uuid").status_code == 404


# --- status changes -------------------------------------------------------------------------


@pytest.fixture
def application_factory(shared: dict[str, Account]) -> Any:
    """make(*steps) -> (recruiter, candidate, application) already moved along the steps.

    Each application is to a job of its own, so the shared candidate can apply every time."""
    recruiter, candidate = shared["recruiter"], shared["candidate"]

    def make(*steps: str) -> tuple[Account, Account, dict[str, Any]]:
        job = post_job(recruiter)
        app = applied(candidate, job["id"])
        for step in steps:
            who = candidate if step == "withdrawn" else recruiter
            resp = who.client.patch(f"/applications/{app['id']}", json={"status": step})
            assert resp.status_code == 200, resp.text
            app = resp.json()
            assert app["status"] == step
        return recruiter, candidate, app

    return make


@pytest.mark.parametrize(
    "path",
    [
        ["reviewing", "shortlisted", "hired"],
        ["shortlisted", "reviewing", "rejected"],
        ["shortlisted", "hired"],
        ["rejected"],
        ["reviewing", "rejected"],
        ["shortlisted", "rejected"],
        ["withdrawn"],
        ["reviewing", "withdrawn"],
        ["shortlisted", "withdrawn"],
    ],
    ids="->".join,
)
def test_valid_transitions(application_factory, path: list[str]) -> None:
    recruiter, candidate, app = application_factory(*path)
    assert app["status"] == path[-1]
    updated, created = (datetime.fromisoformat(app[k]) for k in ("updated_at", "created_at"))
    assert updated > created
    # Both parties see the new status.
    for who in (recruiter, candidate):
        assert who.client.get(f"/applications/{app['id']}").json()["status"] == path[-1]


@pytest.mark.parametrize(
    ("steps", "actor", "target"),
    [
        ([], "recruiter", "hired"),
        (["reviewing"], "recruiter", "hired"),
        (["rejected"], "recruiter", "hired"),
        (["rejected"], "recruiter", "reviewing"),
        (["rejected"], "candidate", "withdrawn"),
        (["reviewing", "shortlisted", "hired"], "recruiter", "reviewing"),
        (["reviewing", "shortlisted", "hired"], "recruiter", "rejected"),
        (["reviewing", "shortlisted", "hired"], "candidate", "withdrawn"),
        (["withdrawn"], "recruiter", "reviewing"),
        (["withdrawn"], "recruiter", "shortlisted"),
        (["withdrawn"], "recruiter", "rejected"),
        (["withdrawn"], "recruiter", "hired"),
    ],
)
def test_invalid_transitions_conflict(
    application_factory, steps: list[str], actor: str, target: str
) -> None:
    recruiter, candidate, app = application_factory(*steps)
    who = recruiter if actor == "recruiter" else candidate
    before = app["status"]
    resp = who.client.patch(f"/applications/{app['id']}", json={"status": target})
    assert resp.status_code == 409, resp.text
    assert error_code(resp) == "invalid_transition"
    assert resp.json()["error"]["details"] == {"from": before, "to": target}
    assert recruiter.client.get(f"/applications/{app['id']}").json()["status"] == before


def test_each_role_sets_only_its_own_statuses(
    application_factory, shared: dict[str, Account]
) -> None:
    recruiter, candidate, app = application_factory()
    url = f"/applications/{app['id']}"
    for target in ("reviewing", "shortlisted", "rejected", "hired", "submitted"):
        resp = candidate.client.patch(url, json={"status": target})
        assert resp.status_code == 403, (target, resp.text)
        assert error_code(resp) == "forbidden"
    for target in ("withdrawn", "submitted"):
        resp = recruiter.client.patch(url, json={"status": target})
        assert resp.status_code == 403, (target, resp.text)

    # Users with no part in the application may do nothing to it.
    stranger_candidate, stranger_recruiter = (
        shared["stranger_candidate"],
        shared["stranger_recruiter"],
    )
    assert stranger_candidate.client.patch(url, json={"status": "withdrawn"}).status_code == 403
    for target in ("reviewing", "rejected", "hired"):
        assert stranger_recruiter.client.patch(url, json={"status": target}).status_code == 403

    assert recruiter.client.patch(url, json={"status": "bogus"}).status_code == 422
    assert recruiter.client.patch(url, json={}).status_code == 422
    unknown = recruiter.client.patch(f"/applications/{uuid.uuid4()}", json={"status": "reviewing"})
    assert unknown.status_code == 404
    # None of the refused attempts changed anything.
    assert candidate.client.get(url).json()["status"] == "submitted"


# --- deleting a job -------------------------------------------------------------------------


async def test_deleting_a_job_removes_its_applications_and_resumes(
    signup, shared: dict[str, Account], server: ServerProcess
) -> None:
    recruiter, candidate, other = signup("recruiter"), signup("candidate"), signup("candidate")
    job, kept_job = post_job(recruiter), post_job(recruiter)
    app = applied(candidate, job["id"], resume=minimal_pdf())
    other_app = applied(other, job["id"], resume=minimal_pdf("other"))
    kept = applied(candidate, kept_job["id"], resume=minimal_pdf("kept"))
    paths = [resume_path(server, a["id"]) for a in (app, other_app, kept)]
    assert all(p.is_file() for p in paths)

    # Only its recruiter may delete it; a refused delete keeps everything.
    assert candidate.client.delete(f"/jobs/{job['id']}").status_code == 403
    assert shared["stranger_recruiter"].client.delete(f"/jobs/{job['id']}").status_code == 403
    assert paths[0].is_file()

    assert recruiter.client.delete(f"/jobs/{job['id']}").status_code == 204
    for a in (app, other_app):
        assert candidate.client.get(f"/applications/{a['id']}").status_code == 404
        assert recruiter.client.get(f"/applications/{a['id']}/resume").status_code == 404
    assert not paths[0].exists()
    assert not paths[1].exists()
    assert ids(candidate.client.get("/applications").json()) == {kept["id"]}
    assert ids(recruiter.client.get("/applications").json()) == {kept["id"]}
    assert other.client.get("/applications").json()["total"] == 0

    conn = await asyncpg.connect(server.dsn)
    try:
        left = await conn.fetchval(
            "select count(*) from public.applications where job_id = $1", uuid.UUID(job["id"])
        )
    finally:
        await conn.close()
    assert left == 0
    # The other job's application and résumé are untouched.
    assert paths[2].is_file()
    assert candidate.client.get(kept["resume"]["download_url"]).content == minimal_pdf("kept")


# --- blob keys the server did not write -------------------------------------------------------


async def write_past_the_server(server: ServerProcess, sql: str, *args: Any) -> None:
    """A write the API would never make, as a user's token can on a Supabase project whose
    default privileges were never revoked (docs/security.md), or an operator's slip."""
    conn = await asyncpg.connect(server.dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_a_resume_key_written_past_the_server_is_never_followed(
    signup, server: ServerProcess
) -> None:
    """A row naming another application's résumé neither serves nor deletes that résumé."""
    victim, attacker = signup("candidate"), signup("candidate")
    recruiter, attackers_recruiter = signup("recruiter"), signup("recruiter")
    victims_pdf = minimal_pdf("Victim, private")
    victims = applied(victim, post_job(recruiter)["id"], resume=victims_pdf)
    victims_key = f"resumes/{victims['id']}/resume.pdf"
    job = post_job(attackers_recruiter)
    without = applied(attacker, job["id"])
    with_own = applied(attacker, post_job(recruiter)["id"], resume=minimal_pdf("attacker"))
    for application in (without, with_own):
        await write_past_the_server(
            server,
            "update public.applications set resume_key = $2, resume_filename = 'cv.pdf',"
            " resume_size = 1 where id = $1",
            uuid.UUID(application["id"]),
            victims_key,
        )

    for who, application in (
        (attacker, without),
        (attackers_recruiter, without),
        (attacker, with_own),
        (recruiter, with_own),
    ):
        resp = who.client.get(f"/applications/{application['id']}/resume")
        assert resp.status_code == 404, resp.status_code
        assert error_code(resp) == "not_found"
        assert victims_pdf not in resp.content

    # Deleting the job deletes its own applications' files, never the one a row points at.
    assert attackers_recruiter.client.delete(f"/jobs/{job['id']}").status_code == 204
    assert resume_path(server, victims["id"]).read_bytes() == victims_pdf
    assert victim.client.get(f"/applications/{victims['id']}/resume").content == victims_pdf


async def test_an_artifact_key_outside_its_interview_gets_no_url(
    signup, server: ServerProcess
) -> None:
    """An artifact row naming a file outside its own interview's folders (another candidate's
    résumé here) is listed without a URL; the interview's own files keep theirs."""
    victim, attacker, recruiter = signup("candidate"), signup("candidate"), signup("recruiter")
    victims_pdf = minimal_pdf("Victim, private")
    victims = applied(victim, post_job(recruiter)["id"], resume=victims_pdf)
    application = applied(attacker, post_job(recruiter)["id"])
    scheduled = recruiter.client.post(f"/applications/{application['id']}/interviews", json={})
    assert scheduled.status_code == 201, scheduled.text
    interview = scheduled.json()["id"]
    own_key = f"screenshots/{interview}/000001.png"
    foreign = [
        f"resumes/{victims['id']}/resume.pdf",
        f"screenshots/{uuid.uuid4()}/000001.png",
        f"resumes/{interview}/resume.pdf",
        f"screenshots/{interview}/nested/000001.png",
    ]
    for key in [own_key, *foreign]:
        await write_past_the_server(
            server,
            "insert into public.interview_artifacts (interview_id, kind, blob_key,"
            " content_type, size_bytes) values ($1, 'screenshot', $2, 'image/png', 1)",
            uuid.UUID(interview),
            key,
        )

    for who in (attacker, recruiter):
        resp = who.client.get(f"/interviews/{interview}/artifacts")
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert len(items) == 1 + len(foreign)
        urls = [item["url"] for item in items]
        assert urls[0] is not None and own_key in urls[0]
        assert urls[1:] == [None] * len(foreign)
        for url in urls:
            if url is not None:
                assert victims_pdf not in who.client.get(url).content
