"""How the server serves the browser app (server/http/demo.py): the page at / with a strict
Content-Security-Policy, its files under /app/, and JSON 404s for everything else."""

from __future__ import annotations

import httpx

from server.http.demo import content_security_policy
from tests.conftest import ServerProcess


def policy_of(resp: httpx.Response) -> dict[str, str]:
    directives = [d.strip() for d in resp.headers["content-security-policy"].split(";")]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives}


def test_the_page_is_served_at_the_root_with_a_strict_policy(
    server: ServerProcess, client: httpx.Client
) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/app/js/main.js">' in resp.text
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    policy = policy_of(resp)
    host = f"127.0.0.1:{server.port}"
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == f"'self' ws://{host} wss://{host}"
    assert policy["img-src"] == "'self' blob: data:"
    assert policy["media-src"] == "'self' blob: mediastream:"
    # The room asks for the camera and the microphone (WebRTC), on this origin only.
    permissions = dict(
        p.strip().split("=", 1) for p in resp.headers["permissions-policy"].split(",")
    )
    assert permissions["camera"] == permissions["microphone"] == "(self)"
    assert permissions["geolocation"] == "()"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    assert "unsafe-eval" not in resp.headers["content-security-policy"]


def test_a_strange_host_header_stays_out_of_the_policy() -> None:
    for host in ("evil.test *", "a;b", "x y", "", None):
        policy = content_security_policy(host)
        assert "connect-src 'self';" in policy, (host, policy)
    assert "connect-src 'self' ws://[::1]:8000 wss://[::1]:8000;" in content_security_policy(
        "[::1]:8000"
    )
    with_storage = content_security_policy("localhost:8000", "https://abc.supabase.co")
    assert "img-src 'self' blob: data: https://abc.supabase.co;" in with_storage
    # Recordings play from the storage's signed URLs too.
    assert "media-src 'self' blob: mediastream: https://abc.supabase.co;" in with_storage


def test_the_apps_files_are_served_under_app(client: httpx.Client) -> None:
    for path, media_type in (
        ("/app/js/main.js", "text/javascript"),
        ("/app/js/socket.js", "text/javascript"),
        ("/app/app.css", "text/css"),
        ("/app/icon.svg", "image/svg+xml"),
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].split(";")[0] == media_type, path
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["cache-control"] == "no-cache"
        again = client.get(path, headers={"If-None-Match": resp.headers["etag"]})
        assert again.status_code == 304, path


def test_anything_else_is_a_json_404(client: httpx.Client) -> None:
    for path in (
        "/nope",
        "/app/nope.js",
        "/app/",
        "/app/../server/app.py",
        "/app/%2e%2e/%2e%2e/pyproject.toml",
        "/index.html",
        "/jobs/extra/segments",
    ):
        resp = client.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["error"]["code"] == "not_found", path
    assert client.post("/").status_code == 405


def test_the_page_is_not_part_of_the_api_document(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p == "/app" or p.startswith("/app/")]
