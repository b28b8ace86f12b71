"""What every answer shares: the one error shape, request ids, CORS, the OpenAPI document and
the health probes."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from openapi_pydantic.v3.v3_1 import OpenAPI
from starlette.routing import Route

from server.app import create_app
from server.config import Settings
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    job_payload,
    running_server,
    stop_leftover_postgres,
    unique_email,
)

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/auth/signup"),
    ("POST", "/auth/login"),
    ("GET", "/auth/v1/.well-known/jwks.json"),
}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
TRACE_MARKERS = ("Traceback", 'File "', ".py", "asyncpg", "Exception")


def assert_error_shape(resp: httpx.Response, status: int, code: str | None = None) -> None:
    """Exactly {"error": {"code", "message", "details"}}, JSON, with a request id, and nothing
    that looks like a stack trace or an internal name."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    for marker in TRACE_MARKERS:
        assert marker not in resp.text, resp.text
    assert resp.headers.get("x-request-id")


def _account(server: ServerProcess, role: str) -> Iterator[Any]:
    body = {
        "email": unique_email(role),
        "password": "errors-password",
        "full_name": f"Errors {role.title()}",
        "role": role,
    }
    resp = httpx.post(server.url + "/auth/signup", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    session = resp.json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield SimpleNamespace(id=session["user"]["id"], email=body["email"], client=client)


@pytest.fixture(scope="module")
def recruiter(server: ServerProcess) -> Iterator[Any]:
    yield from _account(server, "recruiter")


@pytest.fixture(scope="module")
def candidate(server: ServerProcess) -> Iterator[Any]:
    yield from _account(server, "candidate")


# --- the error shape -----------------------------------------------------------------------


def test_unknown_route_is_404(client: httpx.Client) -> None:
    for path in ("/nope", "/jobs/a/b/c", "/auth", "/users", "/%F0%9F%98%80"):
        assert_error_shape(client.get(path), 404, "not_found")
    assert_error_shape(client.post("/nope", json={}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("DELETE", "/auth/signup", {"POST"}),
        ("GET", "/auth/login", {"POST"}),
        ("DELETE", "/jobs", {"GET", "HEAD", "POST"}),
        ("PATCH", "/jobs", {"GET", "HEAD", "POST"}),
        ("POST", f"/jobs/{uuid.uuid4()}", {"GET", "HEAD", "PUT", "DELETE"}),
        ("PATCH", f"/jobs/{uuid.uuid4()}", {"GET", "HEAD", "PUT", "DELETE"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    client: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    resp = client.request(method, path)
    assert_error_shape(resp, 405, "method_not_allowed")
    assert {m.strip() for m in resp.headers["allow"].split(",")} == allowed


def test_every_client_error_status_has_the_shape(
    client: httpx.Client, recruiter: Any, candidate: Any
) -> None:
    existing = recruiter.client.post("/jobs", json=job_payload())
    assert existing.status_code == 201
    cases: list[tuple[httpx.Response, int, str]] = [
        (
            recruiter.client.post(
                "/jobs", content=b"{nope", headers={"Content-Type": "application/json"}
            ),
            400,
            "malformed_json",
        ),
        (recruiter.client.get("/jobs", params={"cursor": "garbage"}), 400, "invalid_cursor"),
        (client.get("/jobs"), 401, "unauthorized"),
        (client.get("/jobs", headers={"Authorization": "Bearer x.y.z"}), 401, "invalid_token"),
        (candidate.client.post("/jobs", json=job_payload()), 403, "forbidden"),
        (recruiter.client.get(f"/jobs/{uuid.uuid4()}"), 404, "not_found"),
        (
            client.post(
                "/auth/signup",
                json={
                    "email": recruiter.email,
                    "password": "whatever-password",
                    "full_name": "Dup",
                    "role": "recruiter",
                },
            ),
            409,
            "email_taken",
        ),
        (
            recruiter.client.post("/jobs", json=job_payload(description="x" * 300_000)),
            413,
            "payload_too_large",
        ),
        (
            recruiter.client.post(
                "/jobs", content=b"title=x", headers={"Content-Type": "text/plain"}
            ),
            415,
            "unsupported_media_type",
        ),
        (
            recruiter.client.post("/jobs", json=job_payload(job_type="gig")),
            422,
            "validation_failed",
        ),
        (recruiter.client.get("/jobs", params={"limit": 1000}), 422, "validation_failed"),
    ]
    for resp, status, code in cases:
        assert_error_shape(resp, status, code)


def test_validation_details_name_every_problem(recruiter: Any) -> None:
    resp = recruiter.client.post("/jobs", json={"title": "", "job_type": "gig", "unknown": 1})
    assert_error_shape(resp, 422, "validation_failed")
    details = resp.json()["error"]["details"]
    assert {tuple(d["loc"]) for d in details} >= {
        ("body", "title"),
        ("body", "job_type"),
        ("body", "unknown"),
        ("body", "description"),
    }
    for detail in details:
        assert set(detail) == {"loc", "msg", "type"}
        assert "input" not in detail  # what was sent is not echoed back


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/jobs", {"params": {"limit": "9" * 40}}),
        ("GET", "/jobs", {"params": {"sort_by": "\x00"}}),
        ("GET", "/jobs", {"params": {"title": "é" * 500}}),
        ("GET", "/jobs", {"params": {"recruiter_id": "' or 1=1 --"}}),
        ("GET", "/jobs", {"params": {"created_at": "x"}}),
        ("GET", "/jobs/%00", {}),
        ("GET", "/jobs/" + "9" * 400, {}),
        ("GET", "/applications", {"params": {"cursor": "%%%"}}),
        ("PUT", f"/jobs/{uuid.uuid4()}", {"content": b"[1,2]"}),
        ("POST", "/jobs", {"content": b'{"title": "\\ud800"}'}),
        ("POST", "/jobs", {"content": b"[" * 10_000}),
        ("POST", "/jobs", {"content": b'{"salary_min": 1e999}'}),
        ("POST", "/jobs", {"content": b'{"salary_min": 123456789012345678901234567890}'}),
        ("POST", "/jobs", {"content": '{"title": "\u0000"}'.encode()}),
        ("POST", "/jobs", {"content": b"\xff\xfe\x00garbage"}),
    ],
)
def test_garbage_never_gets_a_500(
    recruiter: Any, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    headers = {"Content-Type": "application/json"} if "content" in kwargs else {}
    resp = recruiter.client.request(method, path, headers=headers, **kwargs)
    assert 400 <= resp.status_code < 500, resp.text
    assert_error_shape(resp, resp.status_code)


# --- request ids ---------------------------------------------------------------------------


def test_a_sane_client_request_id_is_kept(client: httpx.Client, server: ServerProcess) -> None:
    given = "client-req." + uuid.uuid4().hex[:12]
    resp = client.get("/healthz", headers={"X-Request-ID": given})
    assert resp.headers["x-request-id"] == given
    resp = client.get("/nope", headers={"X-Request-ID": given + "-err"})
    assert resp.status_code == 404
    assert resp.headers["x-request-id"] == given + "-err"
    # The log line of the request carries the same id (written just after the answer).
    for _ in range(1500):
        if given + "-err" in server.output():
            break
        time.sleep(0.02)
    line = next(line for line in server.output().splitlines() if given + "-err" in line)
    assert '"path": "/nope"' in line and '"status": 404' in line


@pytest.mark.parametrize(
    "given",
    [None, "", "short", "has spaces in it", "semi;colon-12345", "x" * 65, "ünïcode-12345"],
)
def test_an_unusable_request_id_is_replaced(client: httpx.Client, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-ID": given.encode()}
    first = client.get("/healthz", headers=headers)
    second = client.get("/healthz", headers=headers)
    for resp in (first, second):
        assert GENERATED_ID.match(resp.headers["x-request-id"]), resp.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_request_id_on_a_body_refused_by_the_size_limit(client: httpx.Client) -> None:
    resp = client.post(
        "/auth/signup",
        content=b" " * (12 * 1024 * 1024),
        headers={"Content-Type": "application/json", "X-Request-ID": "big-body-1234"},
    )
    assert_error_shape(resp, 413, "payload_too_large")
    assert resp.headers["x-request-id"] == "big-body-1234"


# --- CORS ----------------------------------------------------------------------------------


def test_no_cors_by_default(client: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    simple = client.get("/healthz", headers=origin)
    assert simple.status_code == 200
    assert not any(h.lower().startswith("access-control-") for h in simple.headers)
    preflight = client.options(
        "/jobs",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert_error_shape(preflight, 405, "method_not_allowed")


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own, with one allowed origin; the last test stops its database (so an
    embedded one, whatever the backend of the other tests)."""
    with running_server(
        DatabaseBackend("embedded"),
        tmp_path_factory.mktemp("cors") / "data",
        OPENHIRE_CORS_ORIGINS="https://app.example, https://admin.example",
    ) as srv:
        yield srv


def test_configured_cors_origins(cors_server: ServerProcess) -> None:
    with httpx.Client(base_url=cors_server.url, timeout=30) as c:
        allowed = c.get("/healthz", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        other = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

        preflight = c.options(
            "/jobs",
            headers={
                "Origin": "https://admin.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://admin.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]

        refused = c.options(
            "/jobs",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in refused.headers
        assert_error_shape(refused, 400)


# --- health --------------------------------------------------------------------------------


def test_health_probes_need_no_token(client: httpx.Client) -> None:
    for path in ("/healthz", "/readyz"):
        resp = client.get(path)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"status": "ok"}
        assert resp.headers["content-type"] == "application/json"


def test_readyz_fails_when_the_database_is_gone(cors_server: ServerProcess) -> None:
    with httpx.Client(base_url=cors_server.url, timeout=30) as c:
        assert c.get("/readyz").status_code == 200
        stop_leftover_postgres(cors_server.data_dir)  # PostgreSQL stops under the server
        resp = c.get("/readyz")
        assert_error_shape(resp, 503, "database_unavailable")
        assert c.get("/healthz").status_code == 200  # the process itself is alive


# --- OpenAPI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    resp = httpx.get(server.url + "/openapi.json", timeout=30)  # public: no token
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    return body


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
    }


def test_openapi_is_a_valid_3_1_document(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    OpenAPI.model_validate(document)
    assert document["info"]["title"] == "OpenHire"
    # Every $ref points at something that exists.
    schemas = document["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_openapi_lists_every_route_the_app_serves(document: dict[str, Any]) -> None:
    """Every HTTP route of the app (bar the document itself and the browser app's page) is in
    the document, and nothing else is. (A WebSocket route has no place in OpenAPI's paths, nor
    has the browser app's static files' mount.)"""
    app = create_app(Settings(demo=False))
    served = {
        # Starlette's "{key:path}" is OpenAPI's "{key}".
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for route in app.routes
        if isinstance(route, Route) and route.path not in ("/openapi.json", "/")
        for method in (route.methods or ())
        if method != "HEAD"
    }
    assert {("GET", "/jobs"), ("POST", "/auth/signup")} <= served
    assert operations(document) == served


def test_every_documented_operation_is_served(
    document: dict[str, Any], client: httpx.Client
) -> None:
    """Asked without a token, each documented operation answers as itself: never with "no
    such route" or "method not allowed"; those the document marks as needing a token with
    401, and the others without asking for one."""
    documented = operations(document)
    assert documented >= PUBLIC
    for method, path in sorted(documented):
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        resp = client.request(method, url)
        assert resp.status_code != 405, (method, path)
        assert not resp.text.startswith('{"error":{"code":"not_found","message":"no route'), (
            method,
            path,
        )
        op = document["paths"][path][method.lower()]
        if "security" in op:
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in op["responses"], (method, path)
            assert_error_shape(resp, 401)
        else:
            assert resp.status_code != 401, (method, path)
        if (method, path) in PUBLIC:
            assert "security" not in op, (method, path)
            assert resp.status_code in (200, 415), (method, path, resp.text)
        elif path.startswith(("/jobs", "/applications", "/users")):
            # Accounts' data: every one of these needs a token.
            assert "security" in op, (method, path)


def test_openapi_documents_request_bodies_and_errors(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            elif len(schema.get("allOf", ())) == 1:
                schema = schema["allOf"][0]
            else:
                return schema

    def body_schema(method: str, path: str, media: str = "application/json") -> dict[str, Any]:
        request_body = document["paths"][path][method]["requestBody"]
        assert request_body["required"] is True
        ref = request_body["content"][media]["schema"]["$ref"]
        schema: dict[str, Any] = schemas[ref.rsplit("/", 1)[-1]]
        return schema

    signup = body_schema("post", "/auth/signup")
    assert set(signup["required"]) == {"email", "password", "full_name", "role"}
    assert signup["additionalProperties"] is False
    assert set(signup["properties"]["role"]["enum"]) == {"recruiter", "candidate"}
    assert signup["properties"]["password"]["minLength"] == 8

    login = body_schema("post", "/auth/login")
    assert set(login["required"]) == {"email", "password"}

    job = body_schema("post", "/jobs")
    assert body_schema("put", "/jobs/{job_id}") == job
    assert set(job["required"]) == {"title", "description", "job_type"}
    assert {
        "title",
        "description",
        "job_type",
        "location",
        "remote",
        "salary_min",
        "salary_max",
        "salary_currency",
        "required_skills",
        "status",
        "interview_plan",
    } <= set(job["properties"])
    plan = resolve(job["properties"]["interview_plan"])
    assert {
        "question_count",
        "follow_ups_per_question",
        "answer_time_limit_s",
        "total_time_limit_min",
        "custom_questions",
        "rubric",
    } <= set(plan["properties"])

    application = body_schema("post", "/jobs/{job_id}/applications", "multipart/form-data")
    assert "cover_letter" in application["properties"] and "resume" in application["properties"]

    # Every documented body is an object schema; every error answer is the ErrorResponse.
    for path, item in document["paths"].items():
        for method, op in item.items():
            for content in op.get("requestBody", {}).get("content", {}).values():
                name = content["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schemas[name]["type"] == "object", (path, method)
                assert schemas[name]["properties"], (path, method)
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorResponse", (path, method, status)

    listing = {p["name"]: p for p in document["paths"]["/jobs"]["get"]["parameters"]}
    assert {
        "recruiter_id",
        "job_type",
        "title",
        "location",
        "status",
        "sort_by",
        "sort_order",
        "limit",
        "cursor",
    } <= set(listing)
    assert listing["limit"]["schema"]["maximum"] == 100
    assert set(listing["sort_by"]["schema"]["enum"]) == {
        "created_at",
        "salary_min",
        "salary_max",
        "title",
    }
