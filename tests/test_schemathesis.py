"""Property-based run of schemathesis against the live server's own /openapi.json.

Every operation that needs a token is exercised as a recruiter and as a candidate (public
ones without a token), with generated valid (positive) and invalid (negative) requests, and
every answer goes through schemathesis's default checks: no 5xx, a status the document lists
for the operation, the content type it documents, a body matching its response schema,
documented headers, auth enforced, valid data accepted and invalid data refused. Only the last
is narrowed, to the refusals JSON Schema cannot express (see below); the rest run as they are.

schemathesis's lazy pytest loader (``schemathesis.pytest.from_fixture``) does not run on
pytest 9.2: it writes ``Function._nodeid``, which pytest 9.2 removed. So this file drives
schemathesis's public Python API instead: the schema is loaded from the running server with
``schemathesis.openapi.from_url``, each operation's ``as_strategy`` feeds a Hypothesis test,
and ``case.call_and_validate`` sends the request and runs the checks. One pytest test per
role, operation and generation mode keeps failures precise.

The run uses a server of its own: it posts odd jobs and fails many log-ins from 127.0.0.1,
which would trip the shared server's per-address log-in throttle for the other tests.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from server.app import MODULES
from server.http.openapi import build_openapi
from server.http.routing import Endpoint
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    job_payload,
    minimal_pdf,
    running_server,
)

pytestmark = pytest.mark.slow

ROLES = ("recruiter", "candidate")


def _openapi_path(path: str) -> str:
    """A route's path as the document spells it: Starlette's {key:path} is OpenAPI's {key}."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _negatable(e: Endpoint) -> bool:
    """Whether a request can break the schema: a body or query, or a typed path parameter
    (any string is a valid plain string parameter)."""
    return bool(e.body or e.form or e.query) or any(k is not str for k in e.path_params.values())


# Read from the same registry the server builds its document from, so that collection needs
# no running server (a test below checks that the served document is this one). Endpoints
# that need a token run as a recruiter and as a candidate; public ones run once, without one.
ENDPOINTS = [e for m in MODULES for e in m.api.endpoints]
CASES = [
    pytest.param(
        role, e.method, _openapi_path(e.path), mode, id=f"{role}-{e.method} {e.path}-{mode}"
    )
    for e in ENDPOINTS
    for role in (ROLES if e.needs_user else ("public",))
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _negatable(e)
]

# Per role, operation and mode. Small enough for the whole file to run in well under two
# minutes on two cores; OPENHIRE_FUZZ_EXAMPLES=200 OPENHIRE_FUZZ_RANDOM=1 digs deeper locally.
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("OPENHIRE_FUZZ_EXAMPLES", "12")),
    deadline=None,
    # The same examples on every run, so that CI is reproducible.
    derandomize=os.environ.get("OPENHIRE_FUZZ_RANDOM", "0") != "1",
    database=None,  # no .hypothesis/ directory written into the repository
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    with running_server(database_backend, tmp_path_factory.mktemp("schemathesis") / "data") as srv:
        yield srv
    shutil.rmtree(srv.data_dir, ignore_errors=True)


@dataclass
class World:
    """Real resources, so that generated requests also reach the handlers' success paths
    (not only the 404 of a random id)."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    # Path parameter values worth trying, per role and parameter name.
    real_ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def signup(self, who: str, role: str) -> None:
        resp = httpx.post(
            self.url + "/auth/signup",
            json={
                "email": f"fuzz-{who}-{uuid.uuid4().hex[:8]}@example.test",
                "password": "correct horse battery staple",
                "full_name": f"Fuzz {who}",
                "role": role,
            },
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        self.tokens[who] = str(resp.json()["access_token"])

    def post_job(self, who: str, **overrides: Any) -> str:
        resp = httpx.post(
            self.url + "/jobs",
            json=job_payload(**overrides),
            headers=self.headers(who),
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    def apply(self, job_id: str, *, resume: bool) -> str:
        # A (None, value) part is a plain form field; it keeps the body multipart without a file.
        files: dict[str, Any] = {"cover_letter": (None, "Hello")}
        if resume:
            files["resume"] = ("cv.pdf", minimal_pdf(), "application/pdf")
        resp = httpx.post(
            f"{self.url}/jobs/{job_id}/applications",
            files=files,
            headers=self.headers("candidate"),
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])


@pytest.fixture(scope="module")
def world(fuzz_server: ServerProcess) -> World:
    w = World(fuzz_server.url)
    w.signup("recruiter", "recruiter")
    w.signup("candidate", "candidate")
    w.signup("other", "recruiter")
    own_open = w.post_job("recruiter")
    own_closed = w.post_job("recruiter", status="closed")
    to_apply = w.post_job("recruiter")  # the candidate has not applied to it yet
    others = w.post_job("other")
    with_resume = w.apply(w.post_job("recruiter"), resume=True)
    without_resume = w.apply(w.post_job("recruiter"), resume=False)
    elsewhere = w.apply(others, resume=False)
    applications = [with_resume, without_resume, elsewhere]
    w.real_ids = {
        "recruiter": {
            # The recruiter's own jobs (PUT and DELETE succeed) and another's (403).
            "job_id": [own_open, own_closed, w.post_job("recruiter"), others],
            "application_id": applications,
        },
        "candidate": {
            "job_id": [to_apply, own_open, own_closed, others],
            "application_id": applications,
        },
    }
    return w


@pytest.fixture(scope="module")
def schemas(fuzz_server: ServerProcess, world: World) -> dict[str, Any]:
    """The served document, loaded once per role with that role's token on every request."""
    loaded = {}
    for role in (*ROLES, "public"):
        headers = world.headers(role) if role in ROLES else {}
        config = schemathesis.Config.from_dict(
            {"headers": headers, "generation": {"database": "none"}}
        )
        loaded[role] = schemathesis.openapi.from_url(
            fuzz_server.url + "/openapi.json", config=config
        )
    return loaded


def test_served_document_is_the_generated_one(fuzz_server: ServerProcess) -> None:
    served = httpx.get(fuzz_server.url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/json"
    assert served.json() == build_openapi(ENDPOINTS)


def _refused_for_a_rule_json_schema_cannot_express(case: Any, response: Any) -> bool:
    """A schema-valid request the server may still refuse, because the rule it breaks is
    one JSON Schema has no words for. Each is narrow: the status, the error code or the
    place of the error, and the input that can break it."""
    if response.status_code not in (400, 415, 422):
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if response.status_code == 400:
        # A cursor is opaque: only one this server issued, for the same sort, is valid.
        return error["code"] == "invalid_cursor" and bool((case.query or {}).get("cursor"))
    if response.status_code == 415:
        # "A PDF" is a property of the file's content, not of its schema.
        return error["code"] == "resume_not_pdf"
    if error["code"] == "webhook_url_refused":
        # A webhook's host must resolve to public addresses only: a property of the DNS.
        return True
    if error["code"] == "speech_not_configured":
        # A spoken plan needs speech-to-text on the server: a property of its settings.
        return case.operation.path.startswith("/jobs") and [
            tuple(p["loc"]) for p in error["details"] or []
        ] == [("body", "interview_plan", "answer_mode")]
    if error["message"].endswith(": must be in the future"):
        # An instant in the future: the schema cannot know the time of the request.
        return True
    # 422 from a model's cross-field rule (salary_min <= salary_max, a currency with a
    # salary, custom questions within question_count, distinct rubric names): each names the
    # field the rule puts it on (server.http.types.FieldProblem).
    problems = error["details"] or [{"loc": (), "type": None}]
    return case.operation.path.startswith("/jobs") and all(
        problem["type"] == "value_error" and tuple(problem["loc"]) in _CROSS_FIELD_PLACES
        for problem in problems
    )


_CROSS_FIELD_PLACES = {
    ("body", "salary_max"),
    ("body", "salary_currency"),
    ("body", "interview_plan", "custom_questions"),
    ("body", "interview_plan", "rubric"),
}


def positive_data_acceptance_within_json_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, less the refusals above."""
    if _refused_for_a_rule_json_schema_cannot_express(case, response):
        return None
    return schemathesis.checks.positive_data_acceptance(ctx, response, case)


@pytest.mark.parametrize(("role", "method", "path", "mode"), CASES)
def test_operation_conforms_to_the_document(
    schemas: dict[str, Any],
    world: World,
    role: str,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    api_operation = schemas[role][path][method]
    strategy = api_operation.as_strategy(generation_mode=mode)
    names = {p.name for p in api_operation.path_parameters}
    real = world.real_ids.get(role, {})
    if names and all(name in real for name in names):
        # Half the examples name real resources, so handlers get past their 404.
        fixed = st.fixed_dictionaries({name: st.sampled_from(real[name]) for name in names})
        strategy = st.one_of(
            strategy,
            fixed.flatmap(
                lambda ids: api_operation.as_strategy(generation_mode=mode, path_parameters=ids)
            ),
        )

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
            additional_checks=[positive_data_acceptance_within_json_schema],
        )

    run()
