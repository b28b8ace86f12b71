"""docs/api.md and /openapi.json name every error code the HTTP API answers, and nothing else:
``server/http/error_codes.py`` is the list; these tests find every code the server's source can
answer and hold the list, the document and the OpenAPI document to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from server.app import MODULES
from server.errors import ApiError
from server.http.error_codes import API_ERROR_CODES
from server.http.errors import _STATUS_CODES
from server.http.openapi import build_openapi, error_codes
from tests.test_protocol_doc import names, tables

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = [e for m in MODULES for e in m.api.endpoints]
DOCUMENT = build_openapi(ENDPOINTS)


def _codes_in_the_source() -> dict[str, int | None]:
    """Every error code the server's source answers with over HTTP, with its status where the
    source says it: the ApiError classes' own, every ``code="…"`` given to one, the codes of
    the responses built by hand. (The socket's codes, in server/protocol, are another list.)"""
    found: dict[str, int | None] = {}

    def classes(cls: type[ApiError]) -> None:
        found[cls.code] = cls.status
        for sub in cls.__subclasses__():
            classes(sub)

    classes(ApiError)
    for status, code in _STATUS_CODES.items():
        found[code] = status
    for path in (ROOT / "server").rglob("*.py"):
        if "protocol" in path.parts:
            continue
        text = path.read_text()
        for code in re.findall(r'\bcode\s*=\s*"([a-z_]+)"', text):
            found.setdefault(code, None)
        for status, code in re.findall(r'error_response\(\s*(\d+),\s*"([a-z_]+)"', text):
            found[code] = int(status)
        for code in re.findall(r'error_response\(\s*[a-z_.]+,\s*"([a-z_]+)"', text):
            found.setdefault(code, None)
        # server.errors.told: the domain errors that are not ApiErrors, at their status.
        for status, code in re.findall(r'status, code = (\d+), "([a-z_]+)"', text):
            found[code] = int(status)
    return found


def test_the_list_holds_every_code_the_server_answers_at_its_status() -> None:
    found = _codes_in_the_source()
    assert {"interview_ended", "bad_signature", "internal_error", "cors_refused"} <= set(found)
    assert set(found) == set(API_ERROR_CODES), "server/http/error_codes.py is not the list"
    for code, status in found.items():
        if status is not None:
            assert API_ERROR_CODES[code].status == status, code


def test_api_md_lists_every_code_under_its_status() -> None:
    (rows,) = tables((ROOT / "docs" / "api.md").read_text())["Errors"]
    documented = {code: int(row[0]) for row in rows for code in names(row[1])}
    assert documented == {code: info.status for code, info in API_ERROR_CODES.items()}


def test_openapi_names_the_codes_of_each_error_response() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorDetail"]["properties"]["code"]["enum"] == list(API_ERROR_CODES)
    named: set[str] = set()
    for e in ENDPOINTS:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", e.path)
        responses = DOCUMENT["paths"][path][e.method.lower()]["responses"]
        expected = error_codes(e)
        assert {int(s) for s in responses if s.startswith(("4", "5"))} == set(expected)
        for status, codes in expected.items():
            assert codes, (e.operation_id, status)
            assert all(API_ERROR_CODES[c].status == status for c in codes)
            assert names(responses[str(status)]["description"]) == set(codes)
            named |= set(codes)
    # Every code a client can meet on purpose is named on some operation.
    unnamed = set(API_ERROR_CODES) - named
    assert unnamed == {"conflict", "method_not_allowed", "cors_refused", "internal_error"}


def _responses(method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = DOCUMENT["paths"][path][method]["responses"]
    return responses


def test_the_specific_codes_are_on_their_operations() -> None:
    def codes(method: str, path: str, status: int) -> set[str]:
        return names(_responses(method, path)[str(status)]["description"])

    # Log-in's 401 is a wrong password, not a token problem: it takes none.
    assert codes("post", "/auth/login", 401) == {"invalid_credentials"}
    assert "token" not in _responses("post", "/auth/login")["401"]["description"]
    assert codes("post", "/applications/{application_id}/interviews", 409) == {
        "interview_exists",
        "application_closed",
    }
    assert codes("post", "/interviews/{interview_id}/ticket", 409) == {
        "interview_ended",
        "interview_not_open",
    }
    assert codes("get", "/blobs/{key}", 403) == {"bad_signature", "link_expired"}
    assert "database_unavailable" in codes("get", "/jobs", 503)


def test_the_session_schema_names_its_fields() -> None:
    session = DOCUMENT["components"]["schemas"]["Session"]
    assert set(session["properties"]) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "user",
    }
    # Sent always, except the refresh token, which is left out (never null) when it is in the
    # cookie (X-OpenHire-Session: cookie) or another tab has just renewed the sign-in.
    assert set(session["required"]) == {"access_token", "token_type", "expires_in", "user"}
    assert session["properties"]["refresh_token"] == {"title": "Refresh Token", "type": "string"}
    key = DOCUMENT["components"]["schemas"]["PublicKey"]
    assert {"kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"} == set(key["properties"])


def test_since_has_its_range_wherever_it_is_taken() -> None:
    takes_since = [
        parameter["schema"]
        for item in DOCUMENT["paths"].values()
        for op in item.values()
        for parameter in op.get("parameters", [])
        if parameter["name"] == "since"
    ]
    assert len(takes_since) == 2
    for schema in takes_since:
        assert (schema["minimum"], schema["maximum"], schema["default"]) == (0, 2**63 - 1, 0)
