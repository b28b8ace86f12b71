from __future__ import annotations

from tests.conftest import job_payload


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_recruiter_posts_a_job_and_candidate_sees_it(signup):
    recruiter = signup("recruiter")
    candidate = signup("candidate")
    created = recruiter.client.post("/jobs", json=job_payload(title="Smoke Test Engineer"))
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["interview_plan"]["question_count"] == 5
    seen = candidate.client.get(f"/jobs/{job['id']}")
    assert seen.status_code == 200
    assert seen.json()["title"] == "Smoke Test Engineer"
