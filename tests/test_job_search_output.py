"""GET /jobs writes its page itself (orjson from the rows, for speed) instead of through the
Job model: every item must be exactly what GET /jobs/{id} answers for that job."""

from __future__ import annotations

import pytest

from tests.conftest import job_payload

ODD_JOBS = [
    job_payload(title="Plain", salary_min=None, salary_max=None, salary_currency=None),
    job_payload(
        title='Ünïcode "quotes" \\ back',
        description="line\nbreak\ttab",
        location=None,
        remote=False,
        salary_min=0,
        salary_max=0,
        required_skills=[],
        interview_plan={
            "question_count": 3,
            "custom_questions": ["Why?"],
            "rubric": [
                {"name": "Tiny", "weight": 1e-7},
                {"name": "Large", "weight": 99.5, "description": "é"},
            ],
        },
    ),
    job_payload(title="Closed one", status="closed", salary_max=120000, salary_min=None),
]


@pytest.mark.parametrize("sort_by", ["created_at", "salary_min", "salary_max", "title"])
def test_search_items_are_the_jobs_as_get_answers_them(signup, sort_by):
    recruiter = signup("recruiter")
    for body in ODD_JOBS:
        resp = recruiter.client.post("/jobs", json=body)
        assert resp.status_code == 201, resp.text
    seen = 0
    params = {"recruiter_id": recruiter.id, "sort_by": sort_by, "limit": 2}
    while True:
        page = recruiter.client.get("/jobs", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == len(ODD_JOBS)
        for item in body["items"]:
            one = recruiter.client.get(f"/jobs/{item['id']}")
            assert one.json() == item
            # The same text too, not only the same values (for example, times end in Z).
            assert item["created_at"] in one.text and item["updated_at"] in one.text
            seen += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == len(ODD_JOBS)
