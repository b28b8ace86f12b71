"""OpenHire with Supabase Auth: a real `openhire serve` whose DATABASE_URL is a fresh database
in the machine's PostgreSQL and whose SUPABASE_URL is the fake Supabase Auth (GoTrue) on a
loopback port, reached through the real ``supabase`` package. Sign-up, log-in, tokens,
rotation, outages, and each start-up misconfiguration ending the process with its reason."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from supabase_auth import AsyncGoTrueClient

from clients.interview_client import CandidateSession
from server.auth.provider import IssuedSession, open_identity_provider
from server.auth.supabase_auth import SupabaseIdentity
from server.config import Settings
from tests.conftest import (
    OPENHIRE,
    ServerProcess,
    free_port,
    job_payload,
    minimal_pdf,
    unique_email,
)
from tests.fake_supabase import serve_fake_supabase
from tests.fake_supabase_auth import (
    FakeSupabaseAuth,
    SigningKey,
    serve_app,
)
from tests.live_helpers import _signup, close_clients, jpeg, new_interview

T = TypeVar("T")
ADMIN_URL = os.environ.get("OPENHIRE_TEST_DATABASE_URL") or (
    "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
LEGACY_SECRET = "legacy-jwt-secret-of-the-project-" + "x" * 16
# The fake project asks for longer passwords than OpenHire does (8), so that Supabase's own
# password rule can be seen refusing one.
SUPABASE_MIN_PASSWORD = 12


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def sql(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return run_async(run)


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def password() -> str:
    return secrets.token_urlsafe(16)


def supabase_env(database: str, fake: FakeSupabaseAuth, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database,
        "SUPABASE_URL": fake.url,
        "SUPABASE_SERVICE_ROLE_KEY": fake.service_key,
        **extra,
    }


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh database of the machine's PostgreSQL, dropped after the module."""
    try:
        sql(ADMIN_URL, "select 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"no PostgreSQL to test Supabase mode against at {ADMIN_URL}: {exc!r}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"openhire_auth_{uuid.uuid4().hex[:12]}"
    sql(ADMIN_URL, f'create database "{name}"')
    try:
        yield urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + name))
    finally:
        sql(ADMIN_URL, f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def fake(database: str) -> Iterator[FakeSupabaseAuth]:
    with serve_fake_supabase(dsn=database, password_min_length=SUPABASE_MIN_PASSWORD) as f:
        yield f


@pytest.fixture(scope="module")
def supabase_server(
    tmp_path_factory: pytest.TempPathFactory, database: str, fake: FakeSupabaseAuth
) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        data_dir=tmp_path_factory.mktemp("supabase") / "data",
        database_url=database,
        env_overrides=supabase_env(database, fake),
    )
    srv.start()
    yield srv
    if srv.proc is not None:
        assert srv.stop() == 130, srv.output()


@pytest.fixture
def api(supabase_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=supabase_server.url, timeout=30) as client:
        yield client


def sign_up(
    api: httpx.Client, role: str, **overrides: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    """POST /auth/signup; the answer and the body sent."""
    body = {
        "email": unique_email(role),
        "password": password(),
        "full_name": f"Supabase {role.title()}",
        "role": role,
        **overrides,
    }
    return api.post("/auth/signup", json=body), body


def account(api: httpx.Client, role: str) -> dict[str, Any]:
    """A new account: the sign-up body and the session it got."""
    resp, body = sign_up(api, role)
    assert resp.status_code == 201, resp.text
    return {**body, **resp.json()}


# --- sign-up and log-in --------------------------------------------------------------------


def test_signup_creates_the_user_in_supabase_and_the_profile_here(
    api: httpx.Client, fake: FakeSupabaseAuth, database: str
) -> None:
    before = len(fake.requests_to("POST", "/signup"))
    resp, body = sign_up(api, "recruiter", email=f"Mixed.Case-{uuid.uuid4().hex[:8]}@Example.TEST")
    assert resp.status_code == 201, resp.text
    session = resp.json()
    assert set(session) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert session["token_type"] == "bearer" and session["expires_in"] == 3600
    user = session["user"]
    assert user["email"] == body["email"].lower()
    assert user["role"] == "recruiter" and user["full_name"] == "Supabase Recruiter"

    # The token is Supabase's, signed with the project's current key.
    header = jwt.get_unverified_header(session["access_token"])
    assert header["kid"] == fake.current.kid and header["alg"] == "ES256"
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["iss"] == fake.issuer and claims["sub"] == user["id"]

    # Supabase got one documented sign-up request, with the service key and no role in it.
    calls = fake.requests_to("POST", "/signup")
    assert len(calls) == before + 1
    call = calls[-1]
    assert call.headers["apikey"] == fake.service_key
    assert call.headers["content-type"].startswith("application/json")
    assert call.headers["x-supabase-api-version"] == "2024-01-01"
    assert call.body["email"] == body["email"].lower()
    assert call.body["password"] == body["password"]
    assert call.body["data"] == {"full_name": "Supabase Recruiter"}
    assert "role" not in str(call.body["data"])
    assert fake.violations == []

    # Supabase's user (in auth.users, written by Supabase) and OpenHire's profile share an id.
    rows = sql(
        database,
        "select a.id, a.email, u.role from auth.users a join public.users u using (id)"
        " where a.email = $1",
        user["email"],
    )
    assert [(str(r["id"]), r["role"]) for r in rows] == [(user["id"], "recruiter")]


def test_the_token_works_for_the_api_and_the_role_comes_from_public_users(
    api: httpx.Client, fake: FakeSupabaseAuth
) -> None:
    recruiter = account(api, "recruiter")
    candidate = account(api, "candidate")
    me = api.get("/users/me", headers=bearer(recruiter["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == recruiter["user"]

    job = api.post("/jobs", json=job_payload(), headers=bearer(recruiter["access_token"]))
    assert job.status_code == 201, job.text
    assert job.json()["recruiter_id"] == recruiter["user"]["id"]
    refused = api.post("/jobs", json=job_payload(), headers=bearer(candidate["access_token"]))
    assert_error(refused, 403, "forbidden")

    # A candidate's token whose metadata claims to be a recruiter is still a candidate's.
    lying = fake.mint(
        candidate["user"]["id"],
        email=candidate["email"],
        user_metadata={"role": "recruiter"},
        app_metadata={"role": "recruiter", "provider": "email"},
    )
    assert api.get("/users/me", headers=bearer(lying)).json()["role"] == "candidate"
    assert_error(api.post("/jobs", json=job_payload(), headers=bearer(lying)), 403, "forbidden")


def test_login_returns_a_supabase_session(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    created = account(api, "candidate")
    before = len(fake.requests_to("POST", "/token"))
    resp = api.post(
        "/auth/login", json={"email": created["email"].upper(), "password": created["password"]}
    )
    assert resp.status_code == 200, resp.text
    session = resp.json()
    assert session["user"] == created["user"]
    assert session["access_token"] != created["access_token"]
    assert session["refresh_token"]
    call = fake.requests_to("POST", "/token")[before]
    assert call.query == {"grant_type": "password"}
    assert call.body["email"] == created["email"].lower()
    me = api.get("/users/me", headers=bearer(session["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == created["user"]["id"]

    # The refresh token is Supabase's: it gets a new access token from Supabase itself,
    # which OpenHire accepts.
    refreshed = httpx.post(
        f"{fake.issuer}/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": session["refresh_token"]},
        headers={"apikey": fake.anon_key},
    )
    assert refreshed.status_code == 200, refreshed.text
    again = api.get("/users/me", headers=bearer(refreshed.json()["access_token"]))
    assert again.status_code == 200 and again.json()["id"] == created["user"]["id"]


def test_wrong_password_and_unknown_email_are_401(api: httpx.Client) -> None:
    created = account(api, "candidate")
    wrong = api.post("/auth/login", json={"email": created["email"], "password": "nope-" * 4})
    unknown = api.post("/auth/login", json={"email": unique_email(), "password": "nope-" * 4})
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


def test_the_login_throttle_still_applies(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    created = account(api, "candidate")
    attempt = {"email": created["email"], "password": "wrong-password-0"}
    for _ in range(10):
        assert_error(api.post("/auth/login", json=attempt), 401, "invalid_credentials")
    asked = len(fake.requests_to("POST", "/token"))
    blocked = api.post("/auth/login", json={**attempt, "password": created["password"]})
    assert_error(blocked, 429, "rate_limited")
    assert int(blocked.headers["retry-after"]) > 0
    # Refused here, without asking Supabase.
    assert len(fake.requests_to("POST", "/token")) == asked


def test_a_duplicate_email_is_409(api: httpx.Client, database: str) -> None:
    created = account(api, "recruiter")
    again, _ = sign_up(api, "candidate", email=created["email"].upper())
    assert_error(again, 409, "email_taken")
    rows = sql(database, "select role from public.users where email = $1", created["email"])
    assert [r["role"] for r in rows] == ["recruiter"]


def test_supabase_refusals_are_mapped(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    # Long enough for OpenHire (8), too short for the project (12).
    weak, _ = sign_up(api, "candidate", password="short-pw1")
    error = assert_error(weak, 422, "weak_password")
    assert error["details"][0]["loc"] == ["body", "password"]
    assert "12 characters" in error["message"]
    assert error["details"][0]["reasons"] == ["length"]

    fake.rate_limited = True
    try:
        limited, _ = sign_up(api, "candidate")
        assert_error(limited, 429, "rate_limited")
        assert "retry-after" in limited.headers
    finally:
        fake.rate_limited = False
    assert sign_up(api, "candidate")[0].status_code == 201


def test_signup_with_email_confirmation_is_202_until_confirmed(
    api: httpx.Client, fake: FakeSupabaseAuth, database: str
) -> None:
    email = unique_email("confirm")
    secret = password()
    fake.confirm_email = True
    try:
        resp, _ = sign_up(api, "recruiter", email=email, password=secret)
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["confirmation_required"] is True and body["email"] == email
        assert "access_token" not in body

        # The profile is there already, with the role asked for.
        rows = sql(database, "select role from public.users where email = $1", email)
        assert [r["role"] for r in rows] == ["recruiter"]
        login = {"email": email, "password": secret}
        assert_error(api.post("/auth/login", json=login), 403, "email_not_confirmed")

        # Signing up again with a confirmed email answers exactly as for a new one, and
        # changes nothing.
        fake.confirm(email)
        repeat, _ = sign_up(api, "candidate", email=email)
        assert repeat.status_code == 202, repeat.text
        assert set(repeat.json()) == set(body)
        rows = sql(database, "select role from public.users where email = $1", email)
        assert [r["role"] for r in rows] == ["recruiter"]
    finally:
        fake.confirm_email = False
    logged_in = api.post("/auth/login", json=login)
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["user"]["role"] == "recruiter"


def test_an_account_without_a_profile_cannot_log_in(
    api: httpx.Client, fake: FakeSupabaseAuth
) -> None:
    # Made in Supabase directly (the dashboard, another app): no OpenHire role.
    email, secret = unique_email("outsider"), password()
    made = httpx.post(
        f"{fake.issuer}/signup",
        json={"email": email, "password": secret},
        headers={"apikey": fake.anon_key},
    )
    assert made.status_code == 200, made.text
    assert_error(
        api.post("/auth/login", json={"email": email, "password": secret}), 403, "profile_missing"
    )
    token = made.json()["access_token"]
    assert_error(api.get("/users/me", headers=bearer(token)), 401, "invalid_token")


async def test_the_shared_auth_client_never_holds_a_users_session(
    supabase_server: ServerProcess, database: str, fake: FakeSupabaseAuth
) -> None:
    """In-process: concurrent sign-ups and log-ins through one provider each get their own
    session back, and the shared client is left holding none."""
    settings = Settings(
        data_dir=supabase_server.data_dir,
        database_url=database,
        supabase_url=fake.url,
        supabase_service_role_key=fake.service_key,
    )
    pool = await asyncpg.create_pool(database, min_size=1, max_size=4)
    assert pool is not None
    provider = await open_identity_provider(settings, pool)
    try:
        assert isinstance(provider, SupabaseIdentity)
        people = [(unique_email("shared"), password()) for _ in range(6)]
        signed_up = await asyncio.gather(
            *(provider.sign_up(e, p, "Concurrent", "candidate") for e, p in people)
        )
        logged_in = await asyncio.gather(*(provider.log_in(e, p) for e, p in people))
        for (email, _), first, second in zip(people, signed_up, logged_in, strict=True):
            assert isinstance(first, IssuedSession)
            assert first.user.email == second.user.email == email
            for session in (first, second):
                claims = jwt.decode(session.access_token, options={"verify_signature": False})
                assert claims["sub"] == str(session.user.id) and claims["email"] == email
        auth_client = provider._auth
        assert await auth_client.get_session() is None
        assert await auth_client.get_user() is None
        assert auth_client._in_memory_session is None
        # A legacy service_role key (a JWT, as this project's) is also the bearer; an
        # sb_secret_ key goes in apikey only (test_service_key_headers).
        assert auth_client._headers["Authorization"] == f"Bearer {fake.service_key}"
    finally:
        await provider.aclose()
        await pool.close()

    # What the storage is for: the client as commonly configured keeps the last user's
    # session, which any later call without a token would act as.
    async with httpx.AsyncClient() as http:
        naive = AsyncGoTrueClient(
            url=fake.issuer,
            headers={"apikey": fake.service_key},
            http_client=http,
            persist_session=False,
            auto_refresh_token=False,
        )
        email, secret = people[0]
        await naive.sign_in_with_password({"email": email, "password": secret})
        leaked = await naive.get_session()
        assert leaked is not None and leaked.user.email == email


# --- tokens --------------------------------------------------------------------------------


def test_foreign_forged_and_stale_tokens_are_401(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    created = account(api, "candidate")
    user_id = created["user"]["id"]
    assert api.get("/users/me", headers=bearer(fake.mint(user_id))).status_code == 200
    impostor = SigningKey(fake.current.kid, "ES256", ec.generate_private_key(ec.SECP256R1()))
    cases = {
        "foreign key": fake.mint(user_id, key=impostor),
        "wrong issuer": fake.mint(user_id, iss="https://other-project.supabase.co/auth/v1"),
        "wrong audience": fake.mint(user_id, aud="anon"),
        "unknown user": fake.mint(uuid.uuid4()),
        "the service key": fake.service_key,
    }
    for name, token in cases.items():
        resp = api.get("/users/me", headers=bearer(token))
        assert resp.status_code == 401, (name, resp.text)
        assert resp.json()["error"]["code"] == "invalid_token", name
    expired = fake.mint(user_id, exp=int(time.time()) - 1)
    assert_error(api.get("/users/me", headers=bearer(expired)), 401, "token_expired")


def test_the_key_set_served_is_the_projects(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    served = api.get("/auth/v1/.well-known/jwks.json")
    assert served.status_code == 200, served.text
    keys = served.json()["keys"]
    published = {k["kid"]: k for k in fake.jwks()["keys"]}
    assert {k["kid"] for k in keys} <= set(published)
    assert fake.current.kid in {k["kid"] for k in keys}
    for key in keys:
        assert {key[f] for f in ("x", "y")} == {published[key["kid"]][f] for f in ("x", "y")}
        assert "d" not in key


def test_a_rotated_key_is_picked_up(api: httpx.Client, fake: FakeSupabaseAuth) -> None:
    created = account(api, "candidate")
    old = fake.current
    new = fake.rotate("RS256")
    try:
        logged_in = api.post(
            "/auth/login", json={"email": created["email"], "password": created["password"]}
        )
        token = logged_in.json()["access_token"]
        assert jwt.get_unverified_header(token)["kid"] == new.kid
        # The server refetches the key set for an unknown kid, at most once per 10 s: an
        # earlier test may just have used that chance, so allow for one interval.
        deadline = time.monotonic() + 15
        while True:
            me = api.get("/users/me", headers=bearer(token))
            if me.status_code == 200 or time.monotonic() > deadline:
                break
            assert_error(me, 401, "invalid_token")
            time.sleep(0.5)
        assert me.status_code == 200, me.text
        # Tokens of the previous key, still published, keep working.
        assert api.get("/users/me", headers=bearer(created["access_token"])).status_code == 200
        served = {k["kid"] for k in api.get("/auth/v1/.well-known/jwks.json").json()["keys"]}
        assert served == {old.kid, new.kid}
    finally:
        fake.current = old


# --- outages -------------------------------------------------------------------------------


def test_supabase_unreachable_is_503_and_issued_tokens_keep_working(
    tmp_path: Path, database: str
) -> None:
    with serve_fake_supabase(dsn=database) as own:
        srv = ServerProcess(data_dir=tmp_path / "data", env_overrides=supabase_env(database, own))
        srv.start()
        try:
            with httpx.Client(base_url=srv.url, timeout=30) as client:
                created = account(client, "recruiter")
                own.stop()
                me = client.get("/users/me", headers=bearer(created["access_token"]))
                assert me.status_code == 200, me.text
                login = {"email": created["email"], "password": created["password"]}
                down = client.post("/auth/login", json=login)
                error = assert_error(down, 503, "auth_unavailable")
                assert "try again" in error["message"]
                assert own.url not in down.text
                assert_error(sign_up(client, "candidate")[0], 503, "auth_unavailable")
        finally:
            assert srv.stop() == 130, srv.output()
        assert "supabase_auth.failed" in srv.output()


def test_a_signup_whose_profile_cannot_be_stored_is_undone(tmp_path: Path, database: str) -> None:
    # A project that writes its users somewhere else than DATABASE_URL (it has no user yet,
    # so start-up cannot tell): the profile's foreign key fails, and the account Supabase
    # just created is deleted again rather than left without a role.
    with serve_fake_supabase(dsn=None) as elsewhere:
        srv = ServerProcess(
            data_dir=tmp_path / "data", env_overrides=supabase_env(database, elsewhere)
        )
        srv.start()
        try:
            with httpx.Client(base_url=srv.url, timeout=30) as client:
                resp, body = sign_up(client, "candidate")
                assert_error(resp, 503, "auth_unavailable")
                (created,) = elsewhere.created
                (deleted,) = elsewhere.requests_to("DELETE", f"/admin/users/{created}")
                assert deleted.headers["apikey"] == elsewhere.service_key
                assert body["email"] not in elsewhere.users
        finally:
            srv.stop()
        assert "supabase_auth.user_not_in_database" in srv.output()


def test_a_legacy_project_works_with_its_jwt_secret(tmp_path: Path, database: str) -> None:
    with serve_fake_supabase(dsn=database, alg="HS256", legacy_secret=LEGACY_SECRET) as own:
        srv = ServerProcess(
            data_dir=tmp_path / "data",
            env_overrides=supabase_env(database, own, SUPABASE_JWT_SECRET=LEGACY_SECRET),
        )
        srv.start()
        try:
            with httpx.Client(base_url=srv.url, timeout=30) as client:
                created = account(client, "candidate")
                token = created["access_token"]
                assert jwt.get_unverified_header(token)["alg"] == "HS256"
                assert client.get("/users/me", headers=bearer(token)).status_code == 200
                forged = jwt.encode(
                    jwt.decode(token, options={"verify_signature": False}),
                    "another-secret-that-is-long-enough-too",
                    algorithm="HS256",
                )
                assert_error(client.get("/users/me", headers=bearer(forged)), 401, "invalid_token")
                assert client.get("/auth/v1/.well-known/jwks.json").json() == {"keys": []}
        finally:
            srv.stop()


# --- start-up misconfigurations ------------------------------------------------------------


def serve_expecting_failure(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, float]:
    """Run `openhire serve` with ``env`` until it exits; its code, output and duration."""
    server = ServerProcess(data_dir=tmp_path / "data")
    environ = {k: v for k, v in server.env().items() if not k.startswith("SUPABASE_")}
    environ.update(env)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*OPENHIRE, "serve"],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("openhire serve kept running with a broken Supabase configuration")
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def assert_refused(tmp_path: Path, env: dict[str, str], *expected: str) -> str:
    code, output, took = serve_expecting_failure(tmp_path, env)
    assert code != 0, output
    for text in expected:
        assert text in output, output
    assert took < 30, f"took {took:.1f} s"
    assert "server.ready" not in output
    return output


def test_supabase_url_without_a_service_key_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth
) -> None:
    env = supabase_env(database, fake)
    del env["SUPABASE_SERVICE_ROLE_KEY"]
    output = assert_refused(tmp_path, env, "SUPABASE_SERVICE_ROLE_KEY")
    assert output.strip().startswith("openhire: SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY")


def test_supabase_url_without_database_url_is_refused(
    tmp_path: Path, fake: FakeSupabaseAuth
) -> None:
    env = supabase_env("unused", fake)
    del env["DATABASE_URL"]
    output = assert_refused(tmp_path, env, "SUPABASE_URL is set but DATABASE_URL is not")
    # Refused before anything was started.
    assert "embedded_postgres" not in output
    assert not (tmp_path / "data" / "postgres").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "SUPABASE_URL must be an http(s) URL"),
        ("ftp://example.test", "SUPABASE_URL must be an http(s) URL"),
        ("https://ref.supabase.co/auth/v1", "without an API path"),
    ],
)
def test_a_malformed_supabase_url_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth, url: str, expected: str
) -> None:
    assert_refused(tmp_path, {**supabase_env(database, fake), "SUPABASE_URL": url}, expected)


def test_an_unreachable_supabase_url_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {**supabase_env(database, fake), "SUPABASE_URL": url}
    assert_refused(tmp_path, env, f"openhire: cannot reach Supabase Auth at {url}")


def test_a_url_that_is_not_supabase_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth
) -> None:
    with serve_app(Starlette()) as other:
        env = {**supabase_env(database, fake), "SUPABASE_URL": other.url}
        assert_refused(
            tmp_path,
            env,
            f"cannot reach Supabase Auth at {other.url}",
            "/auth/v1/.well-known/jwks.json answered 404",
            "https://<project-ref>.supabase.co",
        )


@pytest.mark.parametrize("which", ["unknown key", "anon key"])
def test_a_wrong_service_key_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth, which: str
) -> None:
    key = "sb_secret_" + secrets.token_urlsafe(24) if which == "unknown key" else fake.anon_key
    env = {**supabase_env(database, fake), "SUPABASE_SERVICE_ROLE_KEY": key}
    output = assert_refused(tmp_path, env, "Supabase rejected SUPABASE_SERVICE_ROLE_KEY")
    assert ("401" if which == "unknown key" else "403") in output
    assert key not in output  # the key itself is never printed


def test_a_legacy_project_without_its_secret_is_refused(tmp_path: Path, database: str) -> None:
    with serve_fake_supabase(dsn=database, alg="HS256", legacy_secret=LEGACY_SECRET) as own:
        assert_refused(
            tmp_path, supabase_env(database, own), "JWKS is empty", "SUPABASE_JWT_SECRET"
        )


def test_a_database_of_another_project_is_refused(tmp_path: Path, database: str) -> None:
    with serve_fake_supabase(dsn=None) as elsewhere:
        made = httpx.post(
            f"{elsewhere.issuer}/signup",
            json={"email": unique_email(), "password": password()},
            headers={"apikey": elsewhere.anon_key},
        )
        assert made.status_code == 200, made.text
        assert_refused(
            tmp_path,
            supabase_env(database, elsewhere),
            "DATABASE_URL is not the database of the Supabase project",
        )


def test_a_short_legacy_secret_is_refused(
    tmp_path: Path, database: str, fake: FakeSupabaseAuth
) -> None:
    env = supabase_env(database, fake, SUPABASE_JWT_SECRET="too-short")
    assert_refused(tmp_path, env, "SUPABASE_JWT_SECRET is shorter than 32 bytes")
    assert "too-short" not in serve_expecting_failure(tmp_path, env)[1]


# --- the same project's Storage: résumés and screenshots ----------------------------------


async def test_resumes_and_screenshots_go_to_the_projects_storage(
    supabase_server: ServerProcess, fake: FakeSupabaseAuth
) -> None:
    storage = fake.storage
    iv = await new_interview(supabase_server)
    applicant = await _signup(supabase_server.url, "candidate")
    try:
        pdf = minimal_pdf("Supabase résumé")
        applied = await applicant.post(
            f"/jobs/{iv.job_id}/applications",
            files={"cover_letter": (None, "Hello"), "resume": ("cv.pdf", pdf, "application/pdf")},
        )
        assert applied.status_code == 201, applied.text
        application_id = applied.json()["id"]
        stored = storage.object("resumes", f"{application_id}/resume.pdf")
        assert stored is not None and stored.data == pdf
        assert stored.content_type == "application/pdf"
        # The recruiter downloads it through OpenHire, which reads it back from Storage.
        resume = await iv.recruiter.get(f"/applications/{application_id}/resume")
        assert resume.status_code == 200 and resume.content == pdf

        session = await CandidateSession.open(iv.candidate, iv.id)
        await session.next_question()
        image = jpeg(320, 240)
        ack = await session.screenshot(image)
        assert ack["type"] == "ack"
        artifacts = (await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")).json()["items"]
        (artifact,) = artifacts
        (name,) = [n for (b, n) in storage.objects if b == "screenshots"]
        assert name.startswith(f"{iv.id}/") and name.endswith(".jpg")
        assert storage.object("screenshots", name).content_type == "image/jpeg"
        # The signed URL is Storage's own, absolute, and serves the image without a token.
        assert artifact["url"].startswith(f"{fake.url}/storage/v1/object/sign/screenshots/")
        async with httpx.AsyncClient(timeout=10) as anonymous:
            download = await anonymous.get(artifact["url"])
        assert download.status_code == 200 and download.content == image
        # Every upload went out with the service key, and never as a user.
        uploads = storage.seen("POST", "/object/")
        assert uploads and all(
            u.headers["apikey"] == fake.service_key
            and u.headers["authorization"] == f"Bearer {fake.service_key}"
            for u in uploads
        )
        await session.close()
    finally:
        await applicant.aclose()
        await close_clients(iv)


def test_service_key_headers() -> None:
    from server.auth.supabase_auth import api_headers

    secret = "sb_secret_" + secrets.token_urlsafe(24)
    assert api_headers(secret) == {"apikey": secret}
    legacy = jwt.encode({"role": "service_role"}, "x" * 32, algorithm="HS256")
    assert api_headers(legacy) == {"apikey": legacy, "Authorization": f"Bearer {legacy}"}
