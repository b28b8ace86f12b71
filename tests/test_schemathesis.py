"""Property-based run of schemathesis against the live server's own /openapi.json.

Every operation is exercised as a recruiter and as a candidate, with generated valid and
invalid requests, and every answer must: not be a 5xx, have a status the document lists for
that operation, carry the content type it documents, and match its response schema (plus the
rest of schemathesis's default checks).

The run uses a server of its own: it posts odd jobs and fails many log-ins from 127.0.0.1,
which would otherwise trip the shared server's per-address log-in throttle for other tests.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st

from tests.conftest import ServerProcess, job_payload, minimal_pdf, stop_leftover_postgres

pytestmark = pytest.mark.slow

# Per operation, per role, per generation mode; small enough for CI on two cores.
MAX_EXAMPLES = 15
SEED = 20261125


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(data_dir=tmp_path_factory.mktemp("schemathesis") / "data")
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.stop()
    stop_leftover_postgres(srv.data_dir)
    shutil.rmtree(srv.data_dir, ignore_errors=True)


@dataclass
class World:
    """Real resources, so that generated requests also reach the handlers' success paths."""

    url: str
    tokens: dict[str, str]
    open_job: str
    closed_job: str
    application: str

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def fresh_job(self) -> str:
        """A job of the recruiter's that no one else uses: DELETE may take it."""
        resp = httpx.post(
            self.url + "/jobs", json=job_payload(), headers=self.headers("recruiter"), timeout=30
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])


def _signup(url: str, role: str) -> str:
    resp = httpx.post(
        url + "/auth/signup",
        json={
            "email": f"fuzz-{role}-{uuid.uuid4().hex[:8]}@example.test",
            "password": "correct horse battery staple",
            "full_name": f"Fuzz {role.title()}",
            "role": role,
        },
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["access_token"])


@pytest.fixture(scope="module")
def world(fuzz_server: ServerProcess) -> World:
    url = fuzz_server.url
    tokens = {role: _signup(url, role) for role in ("recruiter", "candidate")}
    w = World(url, tokens, open_job="", closed_job="", application="")
    w.open_job = w.fresh_job()
    w.closed_job = w.fresh_job()
    closed = httpx.put(
        f"{url}/jobs/{w.closed_job}",
        json=job_payload(status="closed"),
        headers=w.headers("recruiter"),
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    applied = httpx.post(
        f"{url}/jobs/{w.fresh_job()}/applications",
        data={"cover_letter": "Hello"},
        files={"resume": ("cv.pdf", minimal_pdf(), "application/pdf")},
        headers=w.headers("candidate"),
        timeout=30,
    )
    assert applied.status_code == 201, applied.text
    w.application = str(applied.json()["id"])
    return w


@pytest.fixture(scope="module", params=["recruiter", "candidate"])
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api_schema(fuzz_server: ServerProcess, world: World, role: str) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": world.headers(role),
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
        }
    )
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@schema.given(use_real_ids=st.booleans())
def test_api_conforms_to_its_openapi_document(
    case: Any, use_real_ids: bool, world: World, role: str
) -> None:
    if use_real_ids and case.path_parameters:
        _use_real_ids(case, world, role)
    case.call_and_validate()


def _use_real_ids(case: Any, world: World, role: str) -> None:
    params = case.path_parameters
    if "job_id" in params:
        if case.method.upper() == "DELETE" and role == "recruiter":
            params["job_id"] = world.fresh_job()
        else:
            params["job_id"] = world.open_job if hash(case.path) % 2 else world.closed_job
    if "application_id" in params:
        params["application_id"] = world.application
