"""OpenHire with Supabase Auth: a real `openhire serve` whose DATABASE_URL is a fresh database
in the machine's PostgreSQL and whose SUPABASE_URL is the fake Supabase Auth (GoTrue) on a
loopback port, reached through the real ``supabase`` package. Sign-up, log-in, tokens,
rotation, outages, and each start-up misconfiguration ending the process with its reason."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import argon2
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
from server.errors import BlobStoreUnavailable, NotFound
from server.store.blob_sweeper import BlobSweeper, reserve_blob, settle_blob
from server.store.blobs import LocalBlobStore
from server.store.migrations import prepare_database
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
)
from tests.live_helpers import _signup, close_clients, jpeg, new_interview
from tests.loopback import serve_app

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


@pytest.fixture(autouse=True)
def no_protocol_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """The module's stand-in is checked when it stops; this checks it after each test too, so
    that a request the real Auth server would refuse fails the test that made it."""
    if "fake" not in request.fixturenames:
        yield
        return
    fake: FakeSupabaseAuth = request.getfixturevalue("fake")
    before = len(fake.violations)
    yield
    made = fake.violations[before:]
    del fake.violations[before:]  # reported here, once, not again when the module ends
    assert made == [], f"requests the real Auth server would refuse: {made}"


def test_leaving_the_stand_in_fails_if_a_request_broke_the_documented_api() -> None:
    with (
        pytest.raises(AssertionError, match="would refuse"),
        serve_fake_supabase(dsn=None) as project,
    ):
        refused = httpx.post(
            f"{project.issuer}/token",
            params={"grant_type": "password"},
            data={"email": "someone@example.test", "password": "form-encoded"},
            headers={"apikey": project.anon_key},
        )
        assert refused.status_code == 400  # answered as Supabase would, and recorded
        assert project.violations == [
            "POST /auth/v1/token: Content-Type 'application/x-www-form-urlencoded',"
            " expected application/json"
        ]


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


DEMO_PASSWORD = "openhire-demo"
DEMO_ACCOUNTS = {
    "recruiter@demo.openhire.dev": "recruiter",
    "candidate@demo.openhire.dev": "candidate",
}


def test_the_demo_seed_logs_in_through_supabase_auth(tmp_path: Path, database: str) -> None:
    """supabase/seed.sql writes its accounts as Supabase Auth writes users (its instance and
    audience, a confirmed email, '' in the token columns, an email identity), so that Auth's
    password grant, which finds users in the database, logs them in."""
    own_db = f"openhire_seed_{uuid.uuid4().hex[:12]}"
    sql(ADMIN_URL, f'create database "{own_db}"')
    dsn = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + own_db))
    try:
        with serve_fake_supabase(dsn=dsn) as own:
            srv = ServerProcess(
                data_dir=tmp_path / "data",
                database_url=dsn,
                env_overrides=supabase_env(dsn, own, OPENHIRE_DEMO="1"),
            )
            srv.start()
            try:
                with httpx.Client(base_url=srv.url, timeout=30) as client:
                    for email, role in DEMO_ACCOUNTS.items():
                        login = client.post(
                            "/auth/login", json={"email": email, "password": DEMO_PASSWORD}
                        )
                        assert login.status_code == 200, login.text
                        token = login.json()["access_token"]
                        me = client.get("/users/me", headers=bearer(token))
                        assert me.status_code == 200, me.text
                        assert (me.json()["email"], me.json()["role"]) == (email, role)
                    wrong = {"email": email, "password": DEMO_PASSWORD + "-not"}
                    assert_error(client.post("/auth/login", json=wrong), 401, "invalid_credentials")
            finally:
                assert srv.stop() == 130, srv.output()
        identities = sql(
            dsn,
            "select u.id, u.email, i.provider, i.provider_id, i.identity_data::text as data"
            " from auth.users u join auth.identities i on i.user_id = u.id"
            " where u.email = any($1::text[])",
            list(DEMO_ACCOUNTS),
        )
        assert sorted(r["email"] for r in identities) == sorted(DEMO_ACCOUNTS)
        for row in identities:
            assert (row["provider"], row["provider_id"]) == ("email", str(row["id"]))
            data = json.loads(row["data"])
            assert (data["sub"], data["email"]) == (str(row["id"]), row["email"])
    finally:
        sql(ADMIN_URL, f'drop database if exists "{own_db}" with (force)')


def test_the_auth_stand_in_finds_users_as_supabase_auth_does(
    supabase_server: ServerProcess, fake: FakeSupabaseAuth, database: str
) -> None:
    """An account written straight into auth.users logs in through the stand-in only when
    Supabase Auth's own password grant would find and accept it."""
    email, secret = unique_email("direct"), password()
    user_id = uuid.uuid4()
    sql(
        database,
        "insert into auth.users (instance_id, id, aud, role, email, encrypted_password,"
        " email_confirmed_at, confirmation_token, recovery_token, email_change_token_new,"
        " email_change) values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated',"
        " 'authenticated', $2, $3, now(), '', '', '', '')",
        user_id,
        email,
        argon2.PasswordHasher().hash(secret),
    )

    def token() -> httpx.Response:
        return httpx.post(
            f"{fake.issuer}/token",
            params={"grant_type": "password"},
            json={"email": email.upper(), "password": secret},
            headers={"apikey": fake.anon_key, "X-Supabase-Api-Version": "2024-01-01"},
            timeout=10,
        )

    logged_in = token()
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["user"]["id"] == str(user_id)
    for change, status, code in (
        ("instance_id = null", 400, "invalid_credentials"),
        ("aud = 'other'", 400, "invalid_credentials"),
        ("is_sso_user = true", 400, "invalid_credentials"),
        ("email_confirmed_at = null", 400, "email_not_confirmed"),
        ("recovery_token = null", 500, "unexpected_failure"),
        ("encrypted_password = 'not a hash'", 400, "invalid_credentials"),
    ):
        sql(database, f"update auth.users set {change} where id = $1", user_id)
        try:
            refused = token()
            assert refused.status_code == status, (change, refused.text)
            assert refused.json()["code"] == code, (change, refused.text)
        finally:
            sql(
                database,
                "update auth.users set instance_id = '00000000-0000-0000-0000-000000000000',"
                " aud = 'authenticated', is_sso_user = false, email_confirmed_at = now(),"
                " recovery_token = '', encrypted_password = $2 where id = $1",
                user_id,
                argon2.PasswordHasher().hash(secret),
            )
    assert token().status_code == 200


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


def test_concurrent_attempts_reach_supabase_no_more_often_than_the_limit(
    supabase_server: ServerProcess, fake: FakeSupabaseAuth
) -> None:
    """The throttle reserves each attempt before Supabase is asked: of 16 wrong passwords at
    once for one account, 10 reach Supabase and 6 are refused here. And a sign-up answered
    409 email_taken counts like a wrong password: the 11th for the same email is refused
    without asking Supabase."""
    url = supabase_server.url
    with httpx.Client(base_url=url, timeout=30) as client:
        created = account(client, "candidate")
    asked = len(fake.requests_to("POST", "/token"))

    def attempt(i: int) -> int:
        body = {"email": created["email"], "password": f"wrong-password-{i}"}
        return httpx.post(url + "/auth/login", json=body, timeout=60).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = sorted(pool.map(attempt, range(16)))
    assert answers == [401] * 10 + [429] * 6
    assert len(fake.requests_to("POST", "/token")) == asked + 10

    # Another email than the log-ins' (whose pair is now locked).
    with httpx.Client(base_url=url, timeout=30) as client:
        other = account(client, "recruiter")
        taken = {
            "email": other["email"],
            "password": password(),
            "full_name": "P",
            "role": "recruiter",
        }
        signups = len(fake.requests_to("POST", "/signup"))
        for _ in range(10):
            assert_error(client.post("/auth/signup", json=taken), 409, "email_taken")
        assert_error(client.post("/auth/signup", json=taken), 429, "rate_limited")
    assert len(fake.requests_to("POST", "/signup")) == signups + 10


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


# --- storage hygiene: a bounded wait, no orphaned résumé, a rejected key said plainly -------

# Short enough for a test; the defaults are 5 s and 10 minutes (docs/operations.md).
HYGIENE_DEADLINE_S = 1.5
HYGIENE_GRACE_S = 8.0


@pytest.fixture(scope="module")
def hygiene_server(
    tmp_path_factory: pytest.TempPathFactory, database: str, fake: FakeSupabaseAuth
) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        data_dir=tmp_path_factory.mktemp("hygiene") / "data",
        database_url=database,
        env_overrides=supabase_env(
            database,
            fake,
            OPENHIRE_STORAGE_DEADLINE=str(HYGIENE_DEADLINE_S),
            OPENHIRE_BLOB_SWEEP_GRACE=str(HYGIENE_GRACE_S),
        ),
    )
    srv.start()
    yield srv
    if srv.proc is not None:
        assert srv.stop() == 130, srv.output()


@pytest.fixture
def hygiene(hygiene_server: ServerProcess, fake: FakeSupabaseAuth) -> Iterator[httpx.Client]:
    fake.storage.reset()
    # A client that would give up after 10 s: it must see the server's answer before that.
    with httpx.Client(base_url=hygiene_server.url, timeout=10) as client:
        yield client


def open_job(client: httpx.Client) -> tuple[dict[str, str], dict[str, str], str]:
    """A recruiter's open job and a candidate: (recruiter auth, candidate auth, job id)."""
    recruiter = bearer(account(client, "recruiter")["access_token"])
    candidate = bearer(account(client, "candidate")["access_token"])
    job = client.post("/jobs", json=job_payload(), headers=recruiter)
    assert job.status_code == 201, job.text
    return recruiter, candidate, job.json()["id"]


def apply_with_resume(
    client: httpx.Client, candidate: dict[str, str], job_id: str, pdf: bytes
) -> httpx.Response:
    return client.post(
        f"/jobs/{job_id}/applications",
        files={"cover_letter": (None, "Hello"), "resume": ("cv.pdf", pdf, "application/pdf")},
        headers=candidate,
    )


def wait_until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        time.sleep(0.2)


def pending_blobs(database: str, key: str) -> int:
    return len(sql(database, "select 1 from openhire.pending_blobs where key = $1", key))


def test_a_resume_upload_that_lands_after_the_503_is_swept(
    hygiene: httpx.Client, fake: FakeSupabaseAuth, database: str
) -> None:
    storage = fake.storage
    _, candidate, job_id = open_job(hygiene)
    # An application that succeeds: its résumé must outlive every sweep.
    kept = apply_with_resume(hygiene, candidate, job_id, minimal_pdf("Kept"))
    assert kept.status_code == 201, kept.text
    kept_name = f"{kept.json()['id']}/resume.pdf"
    _, other, _ = open_job(hygiene)

    # Storage freezes for longer than the server's deadline, then recovers, and the gateway
    # carries the abandoned upload through: it lands after the candidate was told 503.
    storage.stall_next(1, HYGIENE_DEADLINE_S + 2.5)
    failed = apply_with_resume(hygiene, other, job_id, minimal_pdf("Stalled"))
    assert_error(failed, 503, "storage_unavailable")
    assert hygiene.get("/applications", headers=other).json()["items"] == []
    upload = storage.seen("POST", "/object/resumes/")[-1]
    name = upload.path.removeprefix("/object/resumes/")
    key = f"resumes/{name}"
    wait_until(lambda: storage.object("resumes", name) is not None, 10, "the late upload lands")
    # The sweeper's first delete fails (every attempt of it): the record stays for the next.
    storage.fail_next(3, 503)

    wait_until(
        lambda: storage.object("resumes", name) is None and pending_blobs(database, key) == 0,
        # Eventually, not by a deadline: the sweeps' pace is the machine's under a full suite.
        HYGIENE_GRACE_S + 60,
        "the orphaned résumé is deleted and its record dropped",
    )
    deletes = [
        r for r in storage.seen("DELETE", "/object/resumes") if r.json()["prefixes"] == [name]
    ]
    assert len(deletes) >= 4, "the failed delete was tried again"
    # The stored application's résumé was never touched, and no record of it remains.
    assert storage.object("resumes", kept_name) is not None
    assert pending_blobs(database, f"resumes/{kept_name}") == 0


def test_a_frozen_storage_is_a_503_before_the_clients_timeout(
    hygiene: httpx.Client, fake: FakeSupabaseAuth
) -> None:
    """3 attempts of 10 s used to hold the request for 30.6 s: a client with a 30 s timeout
    (here 10 s) never saw the 503."""
    _, candidate, job_id = open_job(hygiene)
    fake.storage.delay_next(1, 30.0)
    answer = apply_with_resume(hygiene, candidate, job_id, minimal_pdf())
    assert_error(answer, 503, "storage_unavailable")
    assert answer.headers["retry-after"] == "5"


def test_a_rotated_service_key_is_reported_not_a_missing_bucket(
    hygiene: httpx.Client, hygiene_server: ServerProcess, fake: FakeSupabaseAuth
) -> None:
    storage = fake.storage
    recruiter, candidate, job_id = open_job(hygiene)
    applied = apply_with_resume(hygiene, candidate, job_id, minimal_pdf())
    assert applied.status_code == 201, applied.text
    resume_url = f"/applications/{applied.json()['id']}/resume"
    assert hygiene.get(resume_url, headers=recruiter).status_code == 200
    # The project's key is rotated; Storage sits behind a gateway that passes requests through,
    # so the download route takes the old key for no key at all and says NoSuchBucket.
    saved = (storage.gateway, storage.jwt_secret, storage.service_key, storage.anon_key)
    storage.gateway = "plain"
    storage.rotate_keys()
    try:
        answer = hygiene.get(resume_url, headers=recruiter)
    finally:
        storage.gateway, storage.jwt_secret, storage.service_key, storage.anon_key = saved
    assert_error(answer, 503, "storage_unavailable")
    log = hygiene_server.output()
    assert "blob_store.key_rejected" in log
    assert "the service key was rejected" in log
    assert "Bucket not found" not in log
    assert hygiene.get(resume_url, headers=recruiter).status_code == 200


class FlakyStore(LocalBlobStore):
    """The local store, whose deletes fail while ``down`` (Storage unavailable)."""

    down = False

    async def delete(self, key: str, *, within_s: float | None = None) -> None:
        if self.down:
            raise BlobStoreUnavailable("file storage is unavailable at the moment")
        await super().delete(key, within_s=within_s)


@pytest.fixture
def own_database(database: str) -> Iterator[str]:
    """A database of its own, migrated: no running server's sweeper reaches it (``database``
    is asked for its check that PostgreSQL is there)."""
    name = f"openhire_sweep_{uuid.uuid4().hex[:12]}"
    sql(ADMIN_URL, f'create database "{name}"')
    url = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + name))

    async def migrate() -> None:
        conn = await asyncpg.connect(url)
        try:
            await prepare_database(conn, Settings(database_url=url, demo=False))
        finally:
            await conn.close()

    try:
        run_async(migrate)
        yield url
    finally:
        sql(ADMIN_URL, f'drop database if exists "{name}" with (force)')


async def test_the_sweeper_deletes_only_what_no_row_took_and_retries(
    own_database: str, tmp_path: Path
) -> None:
    store = FlakyStore(tmp_path / "blobs")
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=2)
    due, taken, recent = (f"resumes/{uuid.uuid4()}/resume.pdf" for _ in range(3))

    async def pending() -> dict[str, int]:
        rows = await pool.fetch("select key, sweep_attempts from openhire.pending_blobs")
        return {r["key"]: r["sweep_attempts"] for r in rows}

    try:
        for key, grace in ((due, 0.0), (taken, 0.0), (recent, 600.0)):
            await reserve_blob(pool, key, grace)
            await store.put(key, minimal_pdf(), "application/pdf")
        async with pool.acquire() as conn, conn.transaction():
            assert await settle_blob(conn, taken)  # its row was written
        sweeper = BlobSweeper(pool, store, every_s=0.3)

        store.down = True
        assert await sweeper.sweep() == 0
        assert await pending() == {due: 1, recent: 0}  # pushed back, not dropped
        assert await store.get(due)

        store.down = False
        await asyncio.sleep(0.4)  # past the push-back (every_s)
        assert await sweeper.sweep() == 1
        assert await pending() == {recent: 0}
        with pytest.raises(NotFound):
            await store.get(due)
        assert await store.get(taken) and await store.get(recent)

        # A request that outlived the grace finds its record swept: it must not write its row.
        late = f"resumes/{uuid.uuid4()}/resume.pdf"
        await reserve_blob(pool, late, 0.0)
        assert await sweeper.sweep() == 1
        async with pool.acquire() as conn, conn.transaction():
            assert not await settle_blob(conn, late)
    finally:
        await pool.close()


# --- staying signed in and password recovery (issue 16 §3) ---------------------------------


def test_the_browser_sign_in_renews_through_supabase_refresh_grant(
    api: httpx.Client, fake: FakeSupabaseAuth
) -> None:
    user = account(api, "recruiter")
    mode = {"X-OpenHire-Session": "cookie"}
    login = api.post(
        "/auth/login", json={"email": user["email"], "password": user["password"]}, headers=mode
    )
    assert login.status_code == 200 and "refresh_token" not in login.json()
    first = api.cookies["openhire_refresh"]
    assert first in fake.refresh_tokens  # Supabase's own refresh token, kept in the cookie
    before = len(fake.requests_to("POST", "/token"))
    renewed = api.post("/auth/token", json={}, headers=mode)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["user"]["id"] == user["user"]["id"]
    grants = fake.requests_to("POST", "/token")[before:]
    assert [g.query.get("grant_type") for g in grants] == ["refresh_token"]
    assert grants[0].body == {"refresh_token": first}
    second = api.cookies["openhire_refresh"]
    assert second != first and second in fake.refresh_tokens
    me = api.get("/users/me", headers=bearer(renewed.json()["access_token"]))
    assert me.status_code == 200
    # The used one again: Supabase says already used; the sign-in is not renewed.
    replay = httpx.post(
        api.base_url.join("/auth/token"),
        json={},
        headers=mode,
        cookies={"openhire_refresh": first},
    )
    assert_error(replay, 401, "invalid_refresh_token")
    # Log-out ends the Supabase session by its access token.
    out = api.post(
        "/auth/logout", json={}, headers={**mode, **bearer(renewed.json()["access_token"])}
    )
    assert out.status_code == 204 and second not in fake.refresh_tokens
    api.cookies.clear()


def test_password_recovery_goes_through_supabase_auth(
    api: httpx.Client, fake: FakeSupabaseAuth, supabase_server: ServerProcess
) -> None:
    assert api.get("/config").json() == {
        "identity": "supabase",
        "demo": False,
        "password_reset": "supabase",
    }
    user = account(api, "candidate")
    sent = len(fake.recoveries)
    known = api.post("/auth/recover", json={"email": user["email"]})
    unknown = api.post("/auth/recover", json={"email": "nobody-" + user["email"]})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json() and known.json()["method"] == "supabase"
    ((to, link),) = fake.recoveries[sent:]
    assert to == user["email"]
    (recover,) = fake.requests_to("POST", "/recover")[-2:-1]
    assert recover.query["redirect_to"] == supabase_server.url + "/"
    # The link: Supabase verifies it and comes back to the app with a recovery session.
    landed = httpx.get(link)
    assert landed.status_code == 303
    location = landed.headers["location"]
    assert location.startswith(supabase_server.url + "/#access_token=")
    fragment = dict(part.split("=", 1) for part in location.split("#", 1)[1].split("&"))
    assert fragment["type"] == "recovery"
    # The same password again is Supabase's refusal, passed on.
    same = api.post(
        "/auth/reset", json={"token": fragment["access_token"], "password": user["password"]}
    )
    assert same.status_code == 422
    new_password = password()
    done = api.post(
        "/auth/reset", json={"token": fragment["access_token"], "password": new_password}
    )
    assert done.status_code == 204, done.text
    assert (
        api.post("/auth/login", json={"email": user["email"], "password": new_password}).status_code
        == 200
    )
    assert_error(
        api.post("/auth/login", json={"email": user["email"], "password": user["password"]}),
        401,
        "invalid_credentials",
    )
    # A link used once is spent; a forged token is not a recovery session.
    assert "error_code=otp_expired" in httpx.get(link).headers["location"]
    assert_error(
        api.post("/auth/reset", json={"token": "not.a.jwt", "password": new_password}),
        401,
        "invalid_token",
    )
