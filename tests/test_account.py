"""Staying signed in and getting back in (issue 16 §3), embedded identity: the refresh token in
an HttpOnly cookie, rotated, with reuse detection; log-out; password reset by the operator's
command and by email (aiosmtpd); the public /config."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import (
    OPENHIRE,
    Account,
    ServerProcess,
    free_port,
    job_payload,
    run_async,
    signups_on,
)

COOKIE_MODE = {"X-OpenHire-Session": "cookie"}


def set_cookie_of(resp: httpx.Response) -> str:
    (header,) = [v for k, v in resp.headers.multi_items() if k.lower() == "set-cookie"]
    return header


def cookie_login(server: ServerProcess, account: Account) -> tuple[httpx.Client, dict[str, Any]]:
    c = httpx.Client(base_url=server.url, timeout=30)
    resp = c.post(
        "/auth/login",
        json={"email": account.email, "password": account.password},
        headers=COOKIE_MODE,
    )
    assert resp.status_code == 200, resp.text
    return c, resp.json()


def sql(server: ServerProcess, query: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(server.dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return run_async(run)


def age_rotations(server: ServerProcess) -> None:
    """Move every rotation out of the grace interval that two tabs renewing together get."""
    sql(
        server,
        "update openhire.refresh_tokens set rotated_at = rotated_at - interval '1 minute'"
        " where rotated_at is not null",
    )


def test_cookie_sign_in_renews_and_rotates(server: ServerProcess, signup: Any) -> None:
    account = signup("recruiter")
    c, session = cookie_login(server, account)
    # The refresh token is not in the body: scripts never see it.
    assert "refresh_token" not in session
    # The cookie: HttpOnly, SameSite=Strict, only for /auth, not Secure over plain http.
    login = c.post(
        "/auth/login",
        json={"email": account.email, "password": account.password},
        headers=COOKIE_MODE,
    )
    attributes = [a.strip().lower() for a in set_cookie_of(login).split(";")]
    assert attributes[0].startswith("openhire_refresh=")
    assert {"httponly", "samesite=strict", "path=/auth"} <= set(attributes)
    assert "secure" not in attributes
    assert any(a.startswith("max-age=") and int(a[8:]) > 86400 for a in attributes)
    first = c.cookies["openhire_refresh"]

    # A new tab: no access token, only the cookie.
    renewed = c.post("/auth/token", json={}, headers=COOKIE_MODE)
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["user"]["email"] == account.email and "refresh_token" not in body
    second = c.cookies["openhire_refresh"]
    assert second != first
    me = httpx.get(
        server.url + "/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["id"] == account.id

    # Another tab renewing with the same (now rotated) cookie at the same moment: an access
    # token, and no new cookie (the browser holds the successor already).
    twin = httpx.post(
        server.url + "/auth/token",
        json={},
        headers=COOKIE_MODE,
        cookies={"openhire_refresh": first},
    )
    assert twin.status_code == 200 and "set-cookie" not in twin.headers
    # Later, the rotated token replayed is theft: the whole family is revoked.
    age_rotations(server)
    replay = httpx.post(
        server.url + "/auth/token",
        json={},
        headers=COOKIE_MODE,
        cookies={"openhire_refresh": first},
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_refresh_token"
    assert "openhire_refresh=" in set_cookie_of(replay) and "max-age=0" in set_cookie_of(
        replay
    ).lower().replace('"', "")
    legit = httpx.post(
        server.url + "/auth/token",
        json={},
        headers=COOKIE_MODE,
        cookies={"openhire_refresh": second},
    )
    assert legit.status_code == 401
    c.close()


def test_without_the_header_the_cookie_is_not_used(server: ServerProcess, signup: Any) -> None:
    """A cross-site page cannot add the header (CORS preflight): the cookie alone renews
    nothing. API clients get the refresh token in the body instead."""
    account = signup("candidate")
    c, _ = cookie_login(server, account)
    resp = c.post("/auth/token", json={})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_refresh_token"
    body = httpx.post(
        server.url + "/auth/login", json={"email": account.email, "password": account.password}
    ).json()
    assert "set-cookie" not in c.get("/config").headers
    token = body["refresh_token"]
    renewed = httpx.post(server.url + "/auth/token", json={"refresh_token": token}).json()
    assert renewed["refresh_token"] != token and renewed["user"]["id"] == account.id
    c.close()


def test_log_out_ends_the_sign_in_in_every_tab(server: ServerProcess, signup: Any) -> None:
    account = signup("candidate")
    c, _ = cookie_login(server, account)
    cookie = c.cookies["openhire_refresh"]
    out = c.post("/auth/logout", json={}, headers=COOKIE_MODE)
    assert out.status_code == 204
    assert "max-age=0" in set_cookie_of(out).lower()
    resp = httpx.post(
        server.url + "/auth/token",
        json={},
        headers=COOKIE_MODE,
        cookies={"openhire_refresh": cookie},
    )
    assert resp.status_code == 401
    # Without the cookie, the app's question "am I signed in?" is answered 204: no.
    assert httpx.post(server.url + "/auth/token", json={}, headers=COOKIE_MODE).status_code == 204
    # Logging out without a sign-in is not an error.
    assert httpx.post(server.url + "/auth/logout", json={}).status_code == 204
    c.close()


def reset_password_command(server: ServerProcess, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OPENHIRE, "users", "reset-password", address],
        env=server.env(),
        cwd=server.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


def link_token(text: str) -> str:
    (link,) = re.findall(r"https?://\S+/#/reset\?token=\S+", text)
    return parse_qs(urlsplit(link).fragment.split("?", 1)[1])["token"][0]


def test_the_operator_resets_a_password_with_a_single_use_link(
    server: ServerProcess, signup: Any
) -> None:
    account = signup("recruiter")
    c, _ = cookie_login(server, account)
    done = reset_password_command(server, account.email.upper())
    assert done.returncode == 0, done.stderr
    assert f"http://127.0.0.1:{server.port}/#/reset?token=" in done.stdout
    token = link_token(done.stdout)
    new_password = secrets.token_urlsafe(12)
    # Too short: refused, the token not spent.
    short = httpx.post(server.url + "/auth/reset", json={"token": token, "password": "short"})
    assert short.status_code == 422
    assert (
        httpx.post(
            server.url + "/auth/reset", json={"token": token, "password": new_password}
        ).status_code
        == 204
    )
    old = httpx.post(
        server.url + "/auth/login", json={"email": account.email, "password": account.password}
    )
    assert old.status_code == 401
    new = httpx.post(
        server.url + "/auth/login", json={"email": account.email, "password": new_password}
    )
    assert new.status_code == 200
    # Single use.
    again = httpx.post(server.url + "/auth/reset", json={"token": token, "password": "x" * 12})
    assert again.status_code == 403 and again.json()["error"]["code"] == "invalid_reset_token"
    # The sign-ins from before the reset have ended.
    assert c.post("/auth/token", json={}, headers=COOKIE_MODE).status_code == 401
    # No such account: said to the operator, exit status 1.
    missing = reset_password_command(server, "nobody-" + account.email)
    assert missing.returncode == 1 and "no account" in missing.stderr
    c.close()


def test_an_expired_reset_link_does_not_work(server: ServerProcess, signup: Any) -> None:
    account = signup("candidate")
    token = link_token(reset_password_command(server, account.email).stdout)
    sql(
        server,
        "update openhire.password_resets set expires_at = now() - interval '1 second'"
        " where user_id = $1",
        uuid.UUID(account.id),
    )
    resp = httpx.post(server.url + "/auth/reset", json={"token": token, "password": "y" * 12})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "invalid_reset_token"


def test_recover_without_smtp_says_the_same_for_every_email(
    server: ServerProcess, signup: Any
) -> None:
    account = signup("candidate")
    known = httpx.post(server.url + "/auth/recover", json={"email": account.email})
    unknown = httpx.post(server.url + "/auth/recover", json={"email": f"nobody-{account.email}"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.json()["method"] == "operator"
    # Nothing to spend: without SMTP no token is made for a request.
    rows = sql(
        server,
        "select token_hash from openhire.password_resets where lower(email) = lower($1)"
        " and address <> 'operator'",
        account.email,
    )
    assert rows and all(r["token_hash"] is None for r in rows)


def test_config_tells_the_app_what_this_server_is(server: ServerProcess) -> None:
    config = httpx.get(server.url + "/config").json()
    assert config == {"identity": "embedded", "demo": False, "password_reset": "operator"}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def wait_for(inbox: Inbox, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < count:
        assert time.monotonic() < deadline, len(inbox.messages)
        time.sleep(0.1)


@pytest.mark.slow
def test_a_reset_link_by_email_within_limits(make_server: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    srv = make_server(
        OPENHIRE_SMTP_URL=f"smtp://127.0.0.1:{port}",
        OPENHIRE_PUBLIC_URL="https://hire.example.test",
        OPENHIRE_DEMO="1",
    )
    srv.start()
    assert httpx.get(srv.url + "/config").json() == {
        "identity": "embedded",
        "demo": True,
        "password_reset": "email",
    }
    address = f"mail-{secrets.token_hex(4)}@example.test"
    password = secrets.token_urlsafe(12)
    signed = httpx.post(
        srv.url + "/auth/signup",
        json={
            "email": address,
            "password": password,
            "full_name": "Rita Reset",
            "role": "candidate",
        },
    )
    assert signed.status_code == 201
    unknown = httpx.post(srv.url + "/auth/recover", json={"email": "nobody@example.test"})
    known = httpx.post(srv.url + "/auth/recover", json={"email": address})
    assert unknown.json() == known.json() and known.status_code == 202
    wait_for(inbox, 1)
    (message,) = inbox.messages
    assert message["To"] == f"Rita Reset <{address}>"
    assert message["Subject"] == "Reset your OpenHire password"
    text = message.get_content()
    assert "https://hire.example.test/#/reset?token=" in text
    token = link_token(text)
    # The token is kept in clear only until sent.
    assert (
        sql(srv, "select count(*) from openhire.password_resets where mail_token is not null")[0][0]
        == 0
    )
    assert (
        httpx.post(srv.url + "/auth/reset", json={"token": token, "password": "n" * 12}).status_code
        == 204
    )
    assert (
        httpx.post(
            srv.url + "/auth/login", json={"email": address, "password": "n" * 12}
        ).status_code
        == 200
    )
    # At most three emails an hour per account; past it, accepted and not sent.
    for _ in range(4):
        assert httpx.post(srv.url + "/auth/recover", json={"email": address}).status_code == 202
    wait_for(inbox, 3)
    time.sleep(1.5)
    assert len(inbox.messages) == 3
    # 20 requests an hour from one address, then 429 (whatever the email).
    codes = [
        httpx.post(srv.url + "/auth/recover", json={"email": f"x{i}@example.test"}).status_code
        for i in range(16)
    ]
    assert codes[:14] == [202] * 14 and codes[14:] == [429, 429], codes


@pytest.mark.slow
def test_the_scheduling_email_gives_the_window(make_server: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    srv = make_server(OPENHIRE_SMTP_URL=f"smtp://127.0.0.1:{port}")
    srv.start()
    people = signups_on(srv)
    make = next(people)
    recruiter, candidate = make("recruiter"), make("candidate")
    job = recruiter.client.post("/jobs", json=job_payload(title="Window Mail")).json()
    application = candidate.client.post(
        f"/jobs/{job['id']}/applications", files={"cover_letter": (None, "Hi")}
    ).json()
    opens = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)
    scheduled = recruiter.client.post(
        f"/applications/{application['id']}/interviews",
        json={"opens_at": opens.isoformat(), "closes_at": (opens + timedelta(hours=8)).isoformat()},
    )
    assert scheduled.status_code == 201, scheduled.text
    wait_for(inbox, 1)
    text = inbox.messages[0].get_content()
    assert (
        "You can start it from Tuesday 04 March 2031, 09:30 UTC until Tuesday 04 March 2031,"
        " 17:30 UTC." in " ".join(text.split())
    )
    with contextlib.suppress(StopIteration):
        next(people)
