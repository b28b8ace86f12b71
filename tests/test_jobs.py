"""Jobs over HTTP: who may post, change and delete them, what the interview plan holds, and how
GET /jobs filters, sorts and pages. Each test posts as a recruiter of its own and filters by
recruiter_id, so that the shared server's other jobs never disturb what it counts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, job_payload, share_created_at, unique_email

SORTS = [
    (sort_by, order)
    for sort_by in ("created_at", "salary_min", "salary_max", "title")
    for order in ("asc", "desc")
]


# --- helpers -----------------------------------------------------------------------------


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def create(account: Any, **overrides: Any) -> dict[str, Any]:
    resp = account.client.post("/jobs", json=job_payload(**overrides))
    assert resp.status_code == 201, resp.text
    job: dict[str, Any] = resp.json()
    return job


def page(account: Any, **params: Any) -> dict[str, Any]:
    resp = account.client.get("/jobs", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"items", "total", "limit", "next_cursor"}
    return body


def ids(body: dict[str, Any]) -> set[str]:
    return {job["id"] for job in body["items"]}


def walk(account: Any, **params: Any) -> tuple[list[str], list[int]]:
    """Every page of a listing, following next_cursor: the ids in order and each page's total."""
    seen: list[str] = []
    totals: list[int] = []
    cursor = params.pop("cursor", None)
    for _ in range(100):
        body = page(account, **params, **({"cursor": cursor} if cursor else {}))
        seen += [job["id"] for job in body["items"]]
        totals.append(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, totals
        assert len(body["items"]) == params["limit"]
    raise AssertionError("the pages never end")


def sort_key(sort_by: str, job: dict[str, Any]) -> Any:
    if sort_by == "created_at":
        return datetime.fromisoformat(job["created_at"])
    if sort_by == "title":
        return job["title"].lower()
    value = job[sort_by]
    return -1 if value is None else value  # no salary sorts as the lowest


def expected_order(jobs: list[dict[str, Any]], sort_by: str, order: str) -> list[str]:
    ranked = sorted(
        jobs, key=lambda j: (sort_key(sort_by, j), uuid.UUID(j["id"])), reverse=order == "desc"
    )
    return [j["id"] for j in ranked]


def cursor_of(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def module_account(server: ServerProcess) -> Iterator[Any]:
    """account(role) -> an account that lives for the module (each sign-up costs an argon2
    hash; tests that only read, or only fail, can share one)."""
    clients: list[httpx.Client] = []

    def make(role: str) -> Any:
        body = {
            "email": unique_email(role),
            "password": "module-password",
            "full_name": f"Module {role.title()}",
            "role": role,
        }
        resp = httpx.post(server.url + "/auth/signup", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        session = resp.json()
        client = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {session['access_token']}"},
            timeout=30,
        )
        clients.append(client)
        return SimpleNamespace(id=session["user"]["id"], client=client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def lone_recruiter(module_account: Any) -> Any:
    """A recruiter that never manages to post a job: for the validation cases."""
    return module_account("recruiter")


@pytest.fixture(scope="module")
def outsider(module_account: Any) -> Any:
    """A recruiter who owns none of the jobs the tests post (and posts none)."""
    return module_account("recruiter")


@pytest.fixture(scope="module")
def candidate(module_account: Any) -> Any:
    """A candidate who never applies."""
    return module_account("candidate")


# --- creating ------------------------------------------------------------------------------


def test_recruiter_posts_a_job(signup: Any) -> None:
    recruiter = signup("recruiter")
    payload = job_payload(title="Staff Data Engineer", required_skills=["sql", "dbt"])
    resp = recruiter.client.post("/jobs", json=payload)
    assert resp.status_code == 201, resp.text
    job = resp.json()
    uuid.UUID(job["id"])
    assert job["recruiter_id"] == recruiter.id
    for field, value in payload.items():
        assert job[field] == value, field
    assert job["status"] == "open"
    assert job["created_at"] == job["updated_at"]
    fetched = recruiter.client.get(f"/jobs/{job['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == job


def test_job_without_salary_or_location(signup: Any) -> None:
    recruiter = signup("recruiter")
    job = create(
        recruiter,
        location=None,
        salary_min=None,
        salary_max=None,
        salary_currency=None,
        remote=False,
    )
    assert (job["location"], job["salary_min"], job["salary_max"]) == (None, None, None)
    assert job["salary_currency"] is None


def test_candidate_cannot_post_a_job(candidate: Any) -> None:
    assert_error(candidate.client.post("/jobs", json=job_payload()), 403, "forbidden")
    assert page(candidate, recruiter_id=candidate.id)["total"] == 0


def test_posting_needs_a_token(client: httpx.Client) -> None:
    assert_error(client.post("/jobs", json=job_payload()), 401)


def test_a_job_without_a_plan_gets_a_sensible_default(signup: Any) -> None:
    recruiter = signup("recruiter")
    payload = job_payload()
    assert "interview_plan" not in payload
    plan = create(recruiter)["interview_plan"]
    assert set(plan) == {
        "question_count",
        "follow_ups_per_question",
        "answer_time_limit_s",
        "total_time_limit_min",
        "custom_questions",
        "rubric",
        "answer_mode",
    }
    assert plan["answer_mode"] == "text"
    assert 3 <= plan["question_count"] <= 15
    assert 0 <= plan["follow_ups_per_question"] <= 3
    assert 30 <= plan["answer_time_limit_s"] <= 600
    # The questions, with their answers, fit in the total time.
    assert plan["question_count"] * plan["answer_time_limit_s"] <= plan["total_time_limit_min"] * 60
    assert plan["custom_questions"] == []
    rubric = plan["rubric"]
    assert len(rubric) >= 2
    assert len({c["name"].lower() for c in rubric}) == len(rubric)
    for criterion in rubric:
        assert set(criterion) == {"name", "description", "weight"}
        assert criterion["name"].strip() and criterion["description"].strip()
        assert criterion["weight"] > 0


def test_a_custom_plan_round_trips(signup: Any) -> None:
    recruiter = signup("recruiter")
    plan = {
        "question_count": 4,
        "follow_ups_per_question": 2,
        "answer_time_limit_s": 240,
        "total_time_limit_min": 45,
        "custom_questions": ["Tell us about a migration you led.", "How do you test async code?"],
        "rubric": [
            {"name": "Depth", "description": "Knows PostgreSQL internals.", "weight": 2.5},
            {"name": "Clarity", "description": "", "weight": 1},
        ],
        "answer_mode": "text",
    }
    job = create(recruiter, interview_plan=plan)
    assert job["interview_plan"] == plan
    assert recruiter.client.get(f"/jobs/{job['id']}").json()["interview_plan"] == plan


def test_a_partial_plan_is_completed_with_defaults(signup: Any) -> None:
    recruiter = signup("recruiter")
    default = create(recruiter)["interview_plan"]
    plan = create(recruiter, interview_plan={"question_count": 3})["interview_plan"]
    assert plan == {**default, "question_count": 3}


VALID_RUBRIC = [{"name": "Depth", "weight": 1}]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"salary_min": 90000, "salary_max": 60000}, ["body"]),
        ({"salary_currency": None}, ["body"]),
        ({"salary_min": 1, "salary_max": None, "salary_currency": None}, ["body"]),
        ({"salary_min": None, "salary_max": 5, "salary_currency": None}, ["body"]),
        ({"salary_currency": "eur"}, ["body", "salary_currency"]),
        ({"salary_currency": "EURO"}, ["body", "salary_currency"]),
        ({"salary_min": -1}, ["body", "salary_min"]),
        ({"salary_min": 1.5}, ["body", "salary_min"]),
        ({"title": "   "}, ["body", "title"]),
        ({"title": "x" * 201}, ["body", "title"]),
        ({"title": "Null\x00Engineer"}, ["body", "title"]),
        ({"description": "abc\x00"}, ["body", "description"]),
        ({"location": "Ber\x00lin"}, ["body", "location"]),
        ({"required_skills": ["python", "s\x00ql"]}, ["body", "required_skills"]),
        ({"required_skills": "python"}, ["body", "required_skills"]),
        ({"job_type": "gig"}, ["body", "job_type"]),
        ({"status": "draft"}, ["body", "status"]),
        ({"remote": "sometimes"}, ["body", "remote"]),
        ({"recruiter_id": str(uuid.uuid4())}, ["body", "recruiter_id"]),
        ({"id": str(uuid.uuid4())}, ["body", "id"]),
        (
            {"interview_plan": {"question_count": 2, "custom_questions": ["a?", "b?", "c?"]}},
            ["body", "interview_plan"],
        ),
        (
            {
                "interview_plan": {
                    "rubric": [{"name": "Depth", "weight": 1}, {"name": "depth ", "weight": 2}]
                }
            },
            ["body", "interview_plan"],
        ),
        ({"interview_plan": {"rubric": []}}, ["body", "interview_plan", "rubric"]),
        (
            {"interview_plan": {"rubric": [{"name": "Depth", "weight": 0}]}},
            ["body", "interview_plan", "rubric", "0", "weight"],
        ),
        (
            {"interview_plan": {"rubric": [{"name": "De\x00pth", "weight": 1}]}},
            ["body", "interview_plan"],
        ),
        (
            {"interview_plan": {"custom_questions": ["ok?", "nul\x00?"], "rubric": VALID_RUBRIC}},
            ["body", "interview_plan"],
        ),
        ({"interview_plan": {"question_count": 0}}, ["body", "interview_plan", "question_count"]),
        ({"interview_plan": {"question_count": 31}}, ["body", "interview_plan", "question_count"]),
        (
            {"interview_plan": {"answer_time_limit_s": 5}},
            ["body", "interview_plan", "answer_time_limit_s"],
        ),
        ({"interview_plan": {"extra": 1}}, ["body", "interview_plan", "extra"]),
        ({"interview_plan": None}, ["body", "interview_plan"]),
    ],
)
def test_job_validation(lone_recruiter: Any, overrides: dict[str, Any], loc: list[str]) -> None:
    resp = lone_recruiter.client.post("/jobs", json=job_payload(**overrides))
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"], error
    assert any(d["loc"][: len(loc)] == loc for d in error["details"]), error["details"]
    assert page(lone_recruiter, recruiter_id=lone_recruiter.id)["total"] == 0


@pytest.mark.parametrize("missing", ["title", "description", "job_type"])
def test_job_required_fields(lone_recruiter: Any, missing: str) -> None:
    body = job_payload()
    del body[missing]
    resp = lone_recruiter.client.post("/jobs", json=body)
    error = assert_error(resp, 422, "validation_failed")
    assert ["body", missing] in [d["loc"] for d in error["details"]]


@pytest.mark.parametrize(
    ("overrides", "loc", "msg"),
    [
        ({"salary_min": 100, "salary_currency": None}, ["body", "salary_currency"], "currency"),
        (
            {"salary_min": 200, "salary_max": 100, "salary_currency": "EUR"},
            ["body", "salary_max"],
            "salary_max",
        ),
        (
            {"interview_plan": {"question_count": 1, "custom_questions": ["a?", "b?"]}},
            ["body", "interview_plan", "custom_questions"],
            "custom questions",
        ),
        (
            {"interview_plan": {"rubric": [{"name": "Depth"}, {"name": "depth"}]}},
            ["body", "interview_plan", "rubric"],
            "distinct",
        ),
    ],
)
def test_cross_field_rules_name_their_field(
    lone_recruiter: Any, overrides: dict[str, Any], loc: list[str], msg: str
) -> None:
    """A rule across fields names the field it puts the problem on, with its message bare (no
    "Value error, " prefix), so a client shows it at that field."""
    resp = lone_recruiter.client.post("/jobs", json=job_payload(**overrides))
    error = assert_error(resp, 422, "validation_failed")
    [problem] = error["details"]
    assert problem["loc"] == loc, problem
    assert problem["type"] == "value_error"
    assert msg in problem["msg"] and not problem["msg"].startswith("Value error"), problem
    assert error["message"] == f"{'.'.join(loc)}: {problem['msg']}"
    assert page(lone_recruiter, recruiter_id=lone_recruiter.id)["total"] == 0


# --- filters and visibility ----------------------------------------------------------------


def test_filters(signup: Any) -> None:
    recruiter = signup("recruiter")
    rival = signup("recruiter")
    made = {
        "a": create(recruiter, title="Backend Engineer", job_type="full_time", location="Berlin"),
        "b": create(
            recruiter, title="backend lead", job_type="contract", location="berlin", remote=False
        ),
        "c": create(
            recruiter,
            title="Frontend Dev",
            job_type="part_time",
            location="Berlin-Mitte",
            remote=False,
        ),
        "d": create(recruiter, title="100% Remote Rust", job_type="full_time", location="Paris"),
        "e": create(recruiter, title="C_plus Dev", job_type="internship", location=None),
        "f": create(
            recruiter, title="Cplus Dev", job_type="internship", location="PARIS", remote=False
        ),
        "g": create(recruiter, title="Back\\slash Ops", job_type="temporary", location="Rome"),
        "h": create(
            recruiter,
            title="Backend Archivist",
            location="Berlin",
            status="closed",
            remote=False,
        ),
    }
    create(rival, title="Backend Engineer", location="Berlin")  # never in the recruiter's lists
    by_id = {job["id"]: key for key, job in made.items()}

    def found(**params: Any) -> set[str]:
        body = page(recruiter, recruiter_id=recruiter.id, limit=100, **params)
        assert body["total"] == len(body["items"])
        return {by_id[i] for i in ids(body)}

    assert found() == set("abcdefgh")
    assert found(job_type="internship") == {"e", "f"}
    assert found(job_type="full_time") == {"a", "d", "h"}
    # title: case-insensitive substring, with % _ and \ taken literally.
    assert found(title="backend") == {"a", "b", "h"}
    assert found(title="BACKEND") == {"a", "b", "h"}
    assert found(title="end eng") == {"a"}
    assert found(title="%") == {"d"}
    assert found(title="_") == {"e"}
    assert found(title="c_plus") == {"e"}
    assert found(title="\\") == {"g"}
    assert found(title="%remote%") == set()
    assert found(title="nothing like it") == set()
    # location: case-insensitive, exact.
    assert found(location="berlin") == {"a", "b", "h"}
    assert found(location="BERLIN-mitte") == {"c"}
    assert found(location="paris") == {"d", "f"}
    assert found(location="Ber") == set()
    assert found(status="closed") == {"h"}
    assert found(status="open") == set("abcdefg")
    assert found(remote="true") == {"a", "d", "e", "g"}
    assert found(remote="false") == {"b", "c", "f", "h"}
    assert found(title="backend", location="Berlin", status="open") == {"a", "b"}
    assert found(title="dev", job_type="internship", remote="true") == {"e"}
    # The rival's job is there, under the rival's id.
    rivals = page(recruiter, recruiter_id=rival.id, title="backend engineer")
    assert rivals["total"] == 1 and rivals["items"][0]["recruiter_id"] == rival.id


@pytest.mark.parametrize(
    "params",
    [
        {"job_type": "gig"},
        {"status": "archived"},
        {"remote": "sometimes"},
        {"recruiter_id": "not-a-uuid"},
        {"sort_by": "salary"},
        {"sort_by": "id"},
        {"sort_order": "up"},
        {"limit": "101"},
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"limit": "99999999999999999999999"},
        {"title": "a\x00b"},
        {"location": "\x00"},
        {"page": "2"},
        {"recruiter": "x"},
    ],
)
def test_bad_query_parameters_are_422(lone_recruiter: Any, params: dict[str, str]) -> None:
    resp = lone_recruiter.client.get("/jobs", params=params)
    error = assert_error(resp, 422, "validation_failed")
    (name,) = params
    assert any(d["loc"][:2] == ["query", name] for d in error["details"]), error


def test_a_repeated_query_parameter_is_422(lone_recruiter: Any) -> None:
    params = [("job_type", "contract"), ("job_type", "full_time")]
    resp = lone_recruiter.client.get("/jobs", params=params)
    assert_error(resp, 422, "validation_failed")


def test_closed_jobs_are_seen_by_their_recruiter_only(
    signup: Any, outsider: Any, candidate: Any
) -> None:
    owner = signup("recruiter")
    marker = uuid.uuid4().hex
    opened = create(owner, title=f"Open {marker}")
    closed = create(owner, title=f"Closed {marker}", status="closed")

    assert ids(page(owner, recruiter_id=owner.id)) == {opened["id"], closed["id"]}
    assert ids(page(owner, title=marker)) == {opened["id"], closed["id"]}
    assert owner.client.get(f"/jobs/{closed['id']}").status_code == 200

    for other in (outsider, candidate):
        assert ids(page(other, recruiter_id=owner.id)) == {opened["id"]}
        assert ids(page(other, title=marker)) == {opened["id"]}
        empty = page(other, recruiter_id=owner.id, status="closed")
        assert empty == {"items": [], "total": 0, "limit": 20, "next_cursor": None}
        assert_error(other.client.get(f"/jobs/{closed['id']}"), 404, "not_found")
        assert other.client.get(f"/jobs/{opened['id']}").status_code == 200


def test_a_job_closed_after_applying_stays_visible_to_the_applicant(
    signup: Any, candidate: Any
) -> None:
    owner = signup("recruiter")
    applicant = signup("candidate")
    stranger = candidate
    job = create(owner)
    applied = applicant.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hello")}
    )
    assert applied.status_code == 201, applied.text
    closed = owner.client.put(f"/jobs/{job['id']}", json=job_payload(status="closed"))
    assert closed.status_code == 200, closed.text
    seen = applicant.client.get(f"/jobs/{job['id']}")
    assert seen.status_code == 200 and seen.json()["status"] == "closed"
    assert_error(stranger.client.get(f"/jobs/{job['id']}"), 404, "not_found")


# --- sorting and pagination ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sortable(module_account: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Jobs with ties and missing salaries, so that the id tie-break matters."""
    recruiter = module_account("recruiter")
    specs = [
        ("delta", 50_000, 70_000),
        ("Alpha", 50_000, 90_000),
        ("charlie", None, None),
        ("bravo", 80_000, 80_000),
        ("Echo", 30_000, 100_000),
        ("alpha", 60_000, 70_000),
        ("foxtrot", None, 65_000),
    ]
    jobs = [
        create(
            recruiter,
            title=title,
            salary_min=low,
            salary_max=high,
            salary_currency="EUR" if low is not None or high is not None else None,
        )
        for title, low, high in specs
    ]
    return recruiter, jobs


@pytest.mark.parametrize(("sort_by", "order"), SORTS)
def test_sorting_and_paging_every_sort(
    sortable: tuple[Any, list[dict[str, Any]]], sort_by: str, order: str
) -> None:
    recruiter, jobs = sortable
    expected = expected_order(jobs, sort_by, order)
    whole = page(recruiter, recruiter_id=recruiter.id, sort_by=sort_by, sort_order=order)
    assert [j["id"] for j in whole["items"]] == expected
    assert whole["total"] == 7 and whole["next_cursor"] is None
    for limit in (1, 2, 3, 7):
        walked, totals = walk(
            recruiter, recruiter_id=recruiter.id, sort_by=sort_by, sort_order=order, limit=limit
        )
        assert walked == expected, limit  # no gap, no duplicate, the same order
        assert set(totals) == {7}
        assert len(totals) == -(-7 // limit)


def test_default_order_is_newest_first(sortable: tuple[Any, list[dict[str, Any]]]) -> None:
    recruiter, jobs = sortable
    body = page(recruiter, recruiter_id=recruiter.id)
    assert [j["id"] for j in body["items"]] == [j["id"] for j in reversed(jobs)]
    assert body["limit"] == 20


def test_paging_by_created_at_through_jobs_that_share_one(
    signup: Any, server: ServerProcess
) -> None:
    recruiter = signup("recruiter")
    created = [create(recruiter, title=f"Job {n}")["id"] for n in range(7)]
    # Jobs written in one transaction share its now(): only the id orders them.
    newest_first = share_created_at(server.dsn, "jobs", [created[:3], created[3:]])
    for order, expected in (("desc", newest_first), ("asc", newest_first[::-1])):
        for limit in (1, 2, 3):
            walked, totals = walk(
                recruiter, recruiter_id=recruiter.id, sort_order=order, limit=limit
            )
            assert walked == expected, (order, limit)
            assert set(totals) == {7}


def test_pages_stay_exact_while_jobs_are_added_and_removed(signup: Any) -> None:
    recruiter = signup("recruiter")
    jobs = [create(recruiter, title=f"Job {i}") for i in range(7)]
    first = page(recruiter, recruiter_id=recruiter.id, limit=3)
    assert [j["id"] for j in first["items"]] == [j["id"] for j in reversed(jobs[-3:])]
    assert first["total"] == 7
    # Meanwhile: a newer job appears and one already seen goes.
    newcomer = create(recruiter, title="Newcomer")
    assert recruiter.client.delete(f"/jobs/{jobs[-1]['id']}").status_code == 204
    rest, totals = walk(recruiter, recruiter_id=recruiter.id, limit=3, cursor=first["next_cursor"])
    assert rest == [j["id"] for j in reversed(jobs[:4])]
    assert newcomer["id"] not in rest
    assert set(totals) == {7}  # 7 - 1 + 1


def test_limit_bounds(signup: Any) -> None:
    recruiter = signup("recruiter")
    for _ in range(3):
        create(recruiter)
    assert len(page(recruiter, recruiter_id=recruiter.id, limit=100)["items"]) == 3
    assert page(recruiter, recruiter_id=recruiter.id, limit=1)["limit"] == 1
    assert_error(recruiter.client.get("/jobs", params={"limit": 101}), 422, "validation_failed")


def test_bad_cursors_are_400(signup: Any) -> None:
    recruiter = signup("recruiter")
    for _ in range(3):
        create(recruiter, salary_min=100, salary_max=200)
    first = page(recruiter, recruiter_id=recruiter.id, limit=1)
    cursor = first["next_cursor"]
    assert cursor
    # The cursor works with its own sort...
    assert page(recruiter, recruiter_id=recruiter.id, limit=1, cursor=cursor)["items"]
    # ...and not with another one.
    for sort in [
        {"sort_by": "title"},
        {"sort_order": "asc"},
        {"sort_by": "salary_min", "sort_order": "desc"},
    ]:
        resp = recruiter.client.get(
            "/jobs", params={"recruiter_id": recruiter.id, "limit": 1, "cursor": cursor, **sort}
        )
        assert_error(resp, 400, "invalid_cursor")

    job_id = str(uuid.uuid4())
    garbage = [
        "not a cursor",
        "!!!",
        cursor[:-4],
        cursor + "AAAA",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        cursor_of("created_at", "desc", "yesterday", job_id),
        cursor_of("created_at", "desc", "2024-01-01T00:00:00", job_id),  # no time zone
        cursor_of("created_at", "desc", "2024-01-01T00:00:00+00:00", "not-a-uuid"),
        cursor_of("created_at", "desc", "2024-01-01T00:00:00+00:00", 12345),
        cursor_of("created_at", "desc", "2024-01-01T00:00:00+00:00", None),
        cursor_of("created_at", "desc", 17, job_id),
        cursor_of("created_at", "desc", "0001-01-01T00:00:00+14:00", job_id),
        cursor_of("created_at", "desc", "9999-12-31T23:59:59-14:00", job_id),
        cursor_of("created_at", "desc"),
        cursor_of({"a": 1}),
        base64.urlsafe_b64encode(b'"abcd"').decode(),
        base64.urlsafe_b64encode(b"12").decode(),
    ]
    for bad in garbage:
        resp = recruiter.client.get("/jobs", params={"cursor": bad})
        assert_error(resp, 400, "invalid_cursor")

    for sort_by, key in [
        ("salary_min", 2**40),
        ("salary_min", -(2**40)),
        ("salary_max", 2**63 - 1),
        ("salary_max", "100"),
        ("salary_max", True),
        ("salary_min", 1.5),
        ("title", 7),
        ("title", "a\x00b"),
    ]:
        resp = recruiter.client.get(
            "/jobs", params={"sort_by": sort_by, "cursor": cursor_of(sort_by, "desc", key, job_id)}
        )
        assert_error(resp, 400, "invalid_cursor")

    too_long = "A" * 501
    assert_error(recruiter.client.get("/jobs", params={"cursor": too_long}), 422)


# --- one job, replacing and deleting -------------------------------------------------------


def test_get_unknown_or_malformed_id_is_404(candidate: Any) -> None:
    assert_error(candidate.client.get(f"/jobs/{uuid.uuid4()}"), 404, "not_found")
    for bad in ("not-a-uuid", "123", "%00", "' or 1=1 --"):
        assert_error(candidate.client.get(f"/jobs/{bad}"), 404, "not_found")


def test_owner_replaces_a_job_entirely(signup: Any) -> None:
    owner = signup("recruiter")
    job = create(
        owner,
        interview_plan={
            "question_count": 3,
            "custom_questions": ["Why us?"],
            "rubric": VALID_RUBRIC,
        },
    )
    replacement = {
        "title": "Replaced",
        "description": "Only the required fields.",
        "job_type": "contract",
    }
    resp = owner.client.put(f"/jobs/{job['id']}", json=replacement)
    assert resp.status_code == 200, resp.text
    replaced = resp.json()
    default_plan = create(owner)["interview_plan"]
    assert replaced == {
        **job,
        **replacement,
        "location": None,
        "remote": False,
        "salary_min": None,
        "salary_max": None,
        "salary_currency": None,
        "required_skills": [],
        "status": "open",
        "interview_plan": default_plan,
        "updated_at": replaced["updated_at"],
    }
    assert datetime.fromisoformat(replaced["updated_at"]) > datetime.fromisoformat(
        job["updated_at"]
    )
    assert owner.client.get(f"/jobs/{job['id']}").json() == replaced


def test_put_is_validated_like_post(signup: Any) -> None:
    owner = signup("recruiter")
    job = create(owner)
    resp = owner.client.put(f"/jobs/{job['id']}", json=job_payload(salary_min=10, salary_max=5))
    assert_error(resp, 422, "validation_failed")
    assert_error(owner.client.put(f"/jobs/{job['id']}", json={"title": "Only"}), 422)
    assert owner.client.get(f"/jobs/{job['id']}").json() == job


def test_only_the_owner_may_replace_a_job(signup: Any, outsider: Any, candidate: Any) -> None:
    owner = signup("recruiter")
    other = outsider
    job = create(owner)
    hijack = job_payload(title="Hijacked")
    assert_error(other.client.put(f"/jobs/{job['id']}", json=hijack), 403, "forbidden")
    assert_error(candidate.client.put(f"/jobs/{job['id']}", json=hijack), 403, "forbidden")
    assert owner.client.get(f"/jobs/{job['id']}").json() == job
    assert_error(owner.client.put(f"/jobs/{uuid.uuid4()}", json=hijack), 404, "not_found")
    assert_error(owner.client.put("/jobs/not-a-uuid", json=hijack), 404, "not_found")


def test_owner_deletes_a_job(signup: Any, outsider: Any, candidate: Any) -> None:
    owner = signup("recruiter")
    other = outsider
    job = create(owner)
    assert_error(other.client.delete(f"/jobs/{job['id']}"), 403, "forbidden")
    assert_error(candidate.client.delete(f"/jobs/{job['id']}"), 403, "forbidden")
    assert owner.client.get(f"/jobs/{job['id']}").status_code == 200

    resp = owner.client.delete(f"/jobs/{job['id']}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert_error(owner.client.get(f"/jobs/{job['id']}"), 404, "not_found")
    assert_error(owner.client.delete(f"/jobs/{job['id']}"), 404, "not_found")
    assert_error(owner.client.put(f"/jobs/{job['id']}", json=job_payload()), 404, "not_found")
    assert page(owner, recruiter_id=owner.id)["total"] == 0
    assert_error(owner.client.delete(f"/jobs/{uuid.uuid4()}"), 404, "not_found")
