"""Accounts and access tokens: sign-up, log-in, /users/me, the token checks, the JWKS, the
log-in throttle (over HTTP and, with a fake clock, as a unit) and what the log never holds."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.auth.throttle import (
    LocalLoginThrottle,
    LoginPolicy,
    LoginThrottle,
    Reservation,
    address_key,
)
from server.errors import RateLimited
from tests.conftest import ServerProcess, unique_email

# --- helpers -----------------------------------------------------------------------------


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape, with the expected status (and code, if given)."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def signup_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": unique_email("auth"),
        "password": secrets.token_urlsafe(12),
        "full_name": "Ada Lovelace",
        "role": "candidate",
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_key(server: ServerProcess) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(
        (server.data_dir / "jwt_signing_key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def wait_for_log(server: ServerProcess, marker: str, timeout: float = 30.0) -> str:
    """The server writes a request's log line after answering it: wait until it is there."""
    deadline = time.monotonic() + timeout
    while True:
        output = server.output()
        if marker in output:
            return output
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} never appeared in the server log")
        time.sleep(0.02)


def create_account(server: ServerProcess) -> dict[str, Any]:
    body = signup_body()
    resp = httpx.post(server.url + "/auth/signup", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    session = resp.json()
    return {**body, "id": session["user"]["id"], "token": session["access_token"]}


@pytest.fixture(scope="module")
def account(server: ServerProcess) -> dict[str, Any]:
    """A candidate account the tests only read (each sign-up costs an argon2 hash); at most
    one failed log-in against it in the whole module, so the throttle never delays it."""
    return create_account(server)


# --- sign-up -----------------------------------------------------------------------------


def test_signup_returns_the_user_and_a_working_token(client: httpx.Client) -> None:
    body = signup_body(email=f"  Mixed.Case-{uuid.uuid4().hex[:8]}@Example.TEST ", role="recruiter")
    resp = client.post("/auth/signup", json=body)
    assert resp.status_code == 201, resp.text
    session = resp.json()
    # Without the cookie header, the refresh token is in the body (issue 16: every session has
    # one; tests/test_account.py covers the cookie).
    assert set(session) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 3600
    assert "set-cookie" not in resp.headers
    user = session["user"]
    assert set(user) == {"id", "email", "full_name", "role", "created_at", "company_name"}
    uuid.UUID(user["id"])
    assert user["email"] == body["email"].strip().lower()
    assert user["full_name"] == "Ada Lovelace"
    assert user["role"] == "recruiter"
    datetime.fromisoformat(user["created_at"])
    assert body["password"] not in resp.text

    me = client.get("/users/me", headers=bearer(session["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == user


def test_duplicate_email_is_409_whatever_its_case(
    client: httpx.Client, account: dict[str, Any]
) -> None:
    again = signup_body(
        email=account["email"].upper(), password="another-password", full_name="Impostor"
    )
    error = assert_error(client.post("/auth/signup", json=again), 409, "email_taken")
    assert "another-password" not in json.dumps(error)
    # The first account is untouched: its password still works, the impostor's does not.
    ok = client.post(
        "/auth/login", json={"email": account["email"], "password": account["password"]}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["full_name"] == "Ada Lovelace"
    assert ok.json()["user"]["id"] == account["id"]


def test_login_accepts_any_case_of_the_email(client: httpx.Client, account: dict[str, Any]) -> None:
    resp = client.post(
        "/auth/login",
        json={"email": "  " + account["email"].upper() + " ", "password": account["password"]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["user"]["id"] == account["id"]
    assert resp.json()["user"]["email"] == account["email"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@at@signs.test"}, "email"),
        ({"email": "spaces in@example.test"}, "email"),
        ({"email": ""}, "email"),
        ({"email": 42}, "email"),
        ({"email": "nul\x00byte@example.test"}, "email"),
        ({"email": "x" * 250 + "@example.test"}, "email"),
        ({"password": "seven77"}, "password"),
        ({"password": "p" * 129}, "password"),
        ({"password": None}, "password"),
        ({"role": "admin"}, "role"),
        ({"role": "Recruiter"}, "role"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "Ada\x00"}, "full_name"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_signup_validation(client: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    error = assert_error(
        client.post("/auth/signup", json=signup_body(**overrides)), 422, "validation_failed"
    )
    assert isinstance(error["details"], list) and error["details"]
    assert any(d["loc"][:2] == ["body", field] for d in error["details"]), error


@pytest.mark.parametrize("missing", ["email", "password", "full_name", "role"])
def test_signup_requires_every_field(client: httpx.Client, missing: str) -> None:
    body = signup_body()
    del body[missing]
    error = assert_error(client.post("/auth/signup", json=body), 422, "validation_failed")
    assert any(d["loc"] == ["body", missing] for d in error["details"]), error


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_signup_needs_a_json_content_type(client: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.post("/auth/signup", content=json.dumps(signup_body()).encode(), headers=headers)
    assert_error(resp, 415, "unsupported_media_type")


def test_json_content_type_with_charset_is_accepted(client: httpx.Client) -> None:
    resp = client.post(
        "/auth/signup",
        content=json.dumps(signup_body()).encode(),
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(
    "raw", [b"{bad json", b"", b"[]", b'"a string"', b"null", b'{"email": "\\ud800"}', b"{" * 5000]
)
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    resp = client.post("/auth/signup", content=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "malformed_json")


def test_oversized_json_body_is_413(client: httpx.Client) -> None:
    body = signup_body(full_name="x" * 300_000)
    assert_error(client.post("/auth/signup", json=body), 413, "payload_too_large")


def test_body_over_the_request_limit_is_413(client: httpx.Client) -> None:
    # Over the 11 MiB cap on any request: refused by the middleware from Content-Length.
    resp = client.post(
        "/auth/signup",
        content=b" " * (12 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert_error(resp, 413, "payload_too_large")


def test_chunked_body_over_the_json_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"full_name": "'
        for _ in range(10):
            yield b"x" * 65536
        yield b'"}'

    resp = client.post(
        "/auth/signup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in resp.request.headers
    assert_error(resp, 413, "payload_too_large")


# --- log-in ------------------------------------------------------------------------------


def test_login_returns_a_token_usable_on_users_me(
    client: httpx.Client, account: dict[str, Any]
) -> None:
    resp = client.post(
        "/auth/login", json={"email": account["email"], "password": account["password"]}
    )
    assert resp.status_code == 200, resp.text
    session = resp.json()
    assert session["token_type"] == "bearer"
    assert session["user"]["id"] == account["id"]
    assert session["access_token"] != account["token"]
    me = client.get("/users/me", headers=bearer(session["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == session["user"]


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.Client, account: dict[str, Any]
) -> None:
    wrong = client.post(
        "/auth/login", json={"email": account["email"], "password": "not-the-password"}
    )
    unknown = client.post(
        "/auth/login", json={"email": unique_email("nobody"), "password": "not-the-password"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401)
    assert wrong.json() == unknown.json()
    assert "access_token" not in wrong.text


def test_login_validation(client: httpx.Client) -> None:
    error = assert_error(
        client.post("/auth/login", json={"email": unique_email(), "password": "x", "extra": 1}),
        422,
        "validation_failed",
    )
    assert any(d["loc"] == ["body", "extra"] for d in error["details"])
    assert_error(client.post("/auth/login", json={"email": unique_email()}), 422)
    assert_error(client.post("/auth/login", content=b"email=a", headers={}), 415)


# --- tokens ------------------------------------------------------------------------------


def test_users_me_without_a_token_is_401(client: httpx.Client) -> None:
    resp = client.get("/users/me")
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", "bearer-abc", "Bearer a b"],
)
def test_malformed_authorization_header_is_401(client: httpx.Client, header: str) -> None:
    assert_error(client.get("/users/me", headers={"Authorization": header}), 401)


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.", "x" * 2000],
)
def test_garbage_token_is_401(client: httpx.Client, token: str) -> None:
    assert_error(client.get("/users/me", headers=bearer(token)), 401, "invalid_token")


def test_token_claims_match_supabase_and_verify_against_the_jwks(
    server: ServerProcess, client: httpx.Client, account: dict[str, Any]
) -> None:
    token = account["token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["typ"] == "JWT"

    keys = client.get("/auth/v1/.well-known/jwks.json")  # public: no token needed
    assert keys.status_code == 200, keys.text
    jwk_set = keys.json()
    assert [k["kid"] for k in jwk_set["keys"]] == [header["kid"]]
    (jwk,) = jwk_set["keys"]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256"
    assert "d" not in jwk  # the public half only

    signing_key = jwt.PyJWKClient(
        server.url + "/auth/v1/.well-known/jwks.json"
    ).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["ES256"], audience="authenticated")
    assert claims["sub"] == account["id"]
    assert claims["email"] == account["email"]
    assert claims["role"] == "authenticated"
    assert claims["aud"] == "authenticated"
    assert isinstance(claims["iss"], str) and claims["iss"]  # a setting: its value varies
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 120
    assert claims["is_anonymous"] is False
    uuid.UUID(claims["session_id"])

    # The JWKS key is the one in the data directory, not merely a key that verifies.
    assert jwt.PyJWK(jwk).key.public_numbers() == server_key(server).public_key().public_numbers()


class TestForgedAndStaleTokens:
    """Tokens minted here: with the server's own key (from its data directory) and with keys
    it never saw. The first case proves the minting is right, so the others fail for the
    reason they are meant to."""

    @pytest.fixture
    def mint(self, server: ServerProcess, account: dict[str, Any]) -> Any:
        real = jwt.decode(account["token"], options={"verify_signature": False})
        kid = jwt.get_unverified_header(account["token"])["kid"]

        def mint(
            key: Any = None, alg: str = "ES256", drop: tuple[str, ...] = (), **claims: Any
        ) -> str:
            now = int(time.time())
            payload = {
                "iss": real["iss"],
                "aud": "authenticated",
                "sub": account["id"],
                "email": account["email"],
                "role": "authenticated",
                "iat": now,
                "exp": now + 600,
                **claims,
            }
            for name in drop:
                del payload[name]
            return jwt.encode(
                payload,
                server_key(server) if key is None else key,
                algorithm=alg,
                headers={"kid": kid},
            )

        return mint

    def test_a_token_minted_with_the_server_key_works(
        self, client: httpx.Client, mint: Any, account: dict[str, Any]
    ) -> None:
        resp = client.get("/users/me", headers=bearer(mint()))
        assert resp.status_code == 200, resp.text
        assert resp.json()["id"] == account["id"]

    def test_token_signed_by_another_key_is_401(self, client: httpx.Client, mint: Any) -> None:
        other = ec.generate_private_key(ec.SECP256R1())
        assert_error(client.get("/users/me", headers=bearer(mint(other))), 401, "invalid_token")

    def test_expired_token_is_401(self, client: httpx.Client, mint: Any) -> None:
        past = int(time.time()) - 3600
        resp = client.get("/users/me", headers=bearer(mint(iat=past - 3600, exp=past)))
        assert_error(resp, 401, "token_expired")
        # Expired a second ago is expired too: no leeway.
        just = int(time.time()) - 1
        assert_error(client.get("/users/me", headers=bearer(mint(exp=just))), 401)

    @pytest.mark.parametrize(
        "claims",
        [
            {"aud": "anon"},
            {"aud": "service_role"},
            {"iss": "https://evil.example/auth/v1"},
            {"sub": "not-a-uuid"},
            {"sub": str(uuid.uuid4())},  # no such account
            {"nbf": int(time.time()) + 3600},
        ],
        ids=["aud-anon", "aud-service", "iss", "sub-not-uuid", "sub-unknown", "nbf-future"],
    )
    def test_wrong_claims_are_401(
        self, client: httpx.Client, mint: Any, claims: dict[str, Any]
    ) -> None:
        assert_error(client.get("/users/me", headers=bearer(mint(**claims))), 401, "invalid_token")

    @pytest.mark.parametrize("claim", ["exp", "sub", "aud", "iss"])
    def test_token_missing_a_required_claim_is_401(
        self, client: httpx.Client, mint: Any, claim: str
    ) -> None:
        resp = client.get("/users/me", headers=bearer(mint(drop=(claim,))))
        assert_error(resp, 401, "invalid_token")

    def test_algorithm_confusion_is_401(
        self, server: ServerProcess, client: httpx.Client, mint: Any
    ) -> None:
        public_pem = (
            server_key(server)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        # HS256 "signed" with the public key: a classic forgery against sloppy verifiers.
        header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        forged_payload = jwt.decode(mint(), options={"verify_signature": False})
        payload = jwt.utils.base64url_encode(json.dumps(forged_payload).encode())
        signature = jwt.utils.base64url_encode(
            hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
        )
        hs_token = (header + b"." + payload + b"." + signature).decode()
        assert_error(client.get("/users/me", headers=bearer(hs_token)), 401, "invalid_token")
        # alg "none": no signature at all.
        none_header = jwt.utils.base64url_encode(json.dumps({"alg": "none"}).encode())
        none_token = (none_header + b"." + payload + b".").decode()
        assert_error(client.get("/users/me", headers=bearer(none_token)), 401, "invalid_token")

    def test_expired_token_is_refused_on_other_endpoints_too(
        self, client: httpx.Client, mint: Any
    ) -> None:
        past = int(time.time()) - 60
        token = mint(iat=past - 60, exp=past)
        for method, path in [
            ("GET", "/jobs"),
            ("POST", "/jobs"),
            ("GET", f"/jobs/{uuid.uuid4()}"),
            ("GET", "/applications"),
        ]:
            resp = client.request(method, path, headers=bearer(token))
            assert_error(resp, 401, "token_expired")


# --- the log ------------------------------------------------------------------------------


def test_the_log_never_holds_a_password_or_a_token(
    server: ServerProcess, client: httpx.Client
) -> None:
    body = signup_body()
    signed_up = client.post("/auth/signup", json=body)
    assert signed_up.status_code == 201, signed_up.text
    wrong_password = "wrong-" + secrets.token_urlsafe(12)
    assert (
        client.post(
            "/auth/login", json={"email": body["email"], "password": wrong_password}
        ).status_code
        == 401
    )
    logged_in = client.post(
        "/auth/login", json={"email": body["email"], "password": body["password"]}
    )
    assert logged_in.status_code == 200
    tokens = [signed_up.json()["access_token"], logged_in.json()["access_token"]]
    # A token in the query string as well as in the header: neither may be logged.
    me = client.get("/users/me", params={"access_token": tokens[1]}, headers=bearer(tokens[1]))
    assert me.status_code == 200
    assert_error(client.get("/users/me", headers=bearer(tokens[0] + "x")), 401)

    marker = "log-check-" + uuid.uuid4().hex
    client.get("/healthz", headers={"X-Request-ID": marker})
    output = wait_for_log(server, marker)

    # The requests were logged (so their absence below means something)...
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    logins = [line for line in lines if line.get("path") == "/auth/login"]
    assert {line.get("status") for line in logins} >= {200, 401}
    assert all(line.get("request_id") for line in logins)
    # ...and none of the secrets were.
    for secret in [body["password"], wrong_password, *tokens]:
        assert secret not in output
        # Not even a token's signature, nor its payload.
        for part in secret.split(".") if secret in tokens else []:
            assert part not in output


# --- the log-in throttle over HTTP --------------------------------------------------------


def _login(url: str, email: str, password: str) -> tuple[httpx.Response, float]:
    """One log-in on a connection of its own (safe from several threads); and its duration."""
    started = time.monotonic()
    resp = httpx.post(url + "/auth/login", json={"email": email, "password": password}, timeout=30)
    return resp, time.monotonic() - started


@pytest.mark.slow
def test_failed_logins_are_slowed_then_refused(make_server: Any) -> None:
    """Settings: slowed after 3 failures for an account, refused after 10 in 900 s. A server of
    its own: the failures it counts for 127.0.0.1 must not reach the shared server's other
    tests. (The block per address, after 50 failures, is left to the unit tests below: fifty
    argon2 verifications cost more than this suite's time budget.)"""
    server = make_server()
    server.start()
    url = server.url
    victim, bystander = signup_body(), signup_body()
    for body in (victim, bystander):
        assert httpx.post(url + "/auth/signup", json=body, timeout=30).status_code == 201
    email = victim["email"]

    first_failure = time.monotonic()
    # Failures 1-3: refused (401), not delayed.
    for _ in range(3):
        assert_error(_login(url, email, "wrong-password")[0], 401, "invalid_credentials")
    # Failure 4 waits 0.25 s first, failure 5 0.5 s.
    resp, elapsed = _login(url, email, "wrong-password")
    assert_error(resp, 401, "invalid_credentials")
    assert elapsed >= 0.25
    resp, elapsed = _login(url, email, "wrong-password")
    assert_error(resp, 401, "invalid_credentials")
    assert elapsed >= 0.5

    # Failures 6-10 at once: each reserved in turn, they wait 1, 2, 2, 2 and 2 s.
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: _login(url, email, "nope"), range(5)))
    for resp, elapsed in answers:
        assert_error(resp, 401, "invalid_credentials")
        assert elapsed >= 1.0

    # The 11th attempt is refused outright, even with the right password.
    for password in ("wrong-password", victim["password"]):
        resp, _ = _login(url, email, password)
        error = assert_error(resp, 429, "rate_limited")
        retry_after = int(resp.headers["retry-after"])
        # Until the first failure leaves the 900 s window (and no later).
        assert 900 - (time.monotonic() - first_failure) <= retry_after <= 901
        assert error["details"] == {"retry_after_s": retry_after}
        assert "access_token" not in resp.text

    # Per account: another account from the same address still logs in.
    resp, _ = _login(url, bystander["email"], bystander["password"])
    assert resp.status_code == 200, resp.text

    # A success clears the account's count: three failures, a success, three failures, and
    # the next failure waits 0.25 s (its fourth), not the 2 s of a seventh.
    for _ in range(3):
        assert _login(url, bystander["email"], "bad-password")[0].status_code == 401
    assert _login(url, bystander["email"], bystander["password"])[0].status_code == 200
    for _ in range(3):
        assert _login(url, bystander["email"], "bad-password")[0].status_code == 401
    resp, elapsed = _login(url, bystander["email"], "bad-password")
    assert resp.status_code == 401
    assert 0.25 <= elapsed < 2.0

    output = server.output()
    for secret in (victim["password"], bystander["password"]):
        assert secret not in output


# --- the log-in throttle as a unit ---------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


POLICY = LoginPolicy(window_s=900, slow_after=3, block_after=10, block_after_ip=50)
A, ADDR = "a@x.test", "10.0.0.1"


@pytest.fixture(params=["local", "redis"])
async def make_throttle(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The throttle of one kind: the same suite runs against the in-memory one and the one
    several nodes share in Redis (server.cluster.throttle), each with a clock the test moves."""
    clients: list[Any] = []

    async def make(policy: LoginPolicy = POLICY) -> tuple[LoginThrottle, FakeClock]:
        clock = FakeClock()
        if request.param == "local":
            return LocalLoginThrottle(policy, clock=clock), clock
        import redis.asyncio as aioredis

        from server.cluster.throttle import RedisLoginThrottle

        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        clients.append(client)
        await client.flushdb()
        return RedisLoginThrottle(client, policy, clock=clock), clock

    yield make
    for client in clients:
        await client.aclose()


async def check(throttle: LoginThrottle, email: str = A, address: str = ADDR) -> float:
    """The delay an attempt would wait now (the attempt is then withdrawn, uncounted)."""
    reservation = await throttle.reserve(email, address)
    await throttle.settle(reservation, "void")
    return reservation.delay_s


async def fail(
    throttle: LoginThrottle,
    clock: FakeClock,
    times: int,
    email: str = A,
    address: str = ADDR,
    step: float = 1.0,
) -> None:
    for _ in range(times):
        await throttle.settle(await throttle.reserve(email, address), "failure")
        clock.now += step


async def retry_after(throttle: LoginThrottle, email: str = A, address: str = ADDR) -> int:
    with pytest.raises(RateLimited) as refused:
        await throttle.reserve(email, address)
    assert refused.value.status == 429
    retry = int(refused.value.headers["Retry-After"])
    assert refused.value.details == {"retry_after_s": retry}
    return retry


async def test_throttle_delays_double_after_the_third_failure_and_are_capped(
    make_throttle: Any,
) -> None:
    throttle, clock = await make_throttle()
    delays = []
    for _ in range(10):
        delays.append(await check(throttle))
        await fail(throttle, clock, 1)
    assert delays == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    await retry_after(throttle)  # the 11th attempt


async def test_throttle_refuses_after_the_tenth_failure_with_an_exact_retry_after(
    make_throttle: Any,
) -> None:
    throttle, clock = await make_throttle()
    first = clock.now
    await fail(throttle, clock, 10)  # at first, first + 1, ..., first + 9
    told_at = clock.now
    retry = await retry_after(throttle)
    # The oldest failure leaves the window at first + 900: the client is told that, give or
    # take the rounding up to a whole second.
    assert first + 900 <= told_at + retry <= first + 902
    clock.now = first + 899.5
    await retry_after(throttle)
    clock.now = told_at + retry
    assert await check(throttle) == 2.0  # nine left in the window: let in, slowed


async def test_attempts_in_flight_count_against_the_limit(make_throttle: Any) -> None:
    """The race: concurrent attempts all reserved before any is settled. Only ten get through
    to a password check; the others are refused at once, and told to look again in a second
    (the block lasts only as long as the attempts in flight, unless they fail)."""
    throttle, _clock = await make_throttle()
    reserved = []
    refused = 0
    for _ in range(24):
        try:
            reserved.append(await throttle.reserve(A, ADDR))
        except RateLimited as exc:
            refused += 1
            assert exc.headers["Retry-After"] == "1"
    assert (len(reserved), refused) == (10, 14)
    # Their delays are those of the first to tenth attempt in a row.
    assert [r.delay_s for r in reserved] == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    # Withdrawn (the check never ran: a 503, say): they count for nothing.
    for reservation in reserved:
        await throttle.settle(reservation, "void")
    assert await check(throttle) == 0.0


async def test_a_locked_pair_never_locks_the_account_from_another_address(
    make_throttle: Any,
) -> None:
    throttle, clock = await make_throttle()
    await fail(throttle, clock, 10, email="victim@x.test", address="203.0.113.9")
    await retry_after(throttle, "victim@x.test", "203.0.113.9")
    assert await check(throttle, "victim@x.test", "198.51.100.7") == 0.0
    assert await check(throttle, "other@x.test", "203.0.113.9") == 0.0


async def test_throttle_window_slides(make_throttle: Any) -> None:
    throttle, clock = await make_throttle()
    await fail(throttle, clock, 5, step=0)
    assert await check(throttle) == 1.0
    clock.now += 899
    assert await check(throttle) == 1.0
    clock.now += 1
    assert await check(throttle) == 0.0


async def test_throttle_per_address_block(make_throttle: Any) -> None:
    throttle, clock = await make_throttle()
    for i in range(50):
        assert await check(throttle, f"u{i}@x.test", "10.0.0.9") == 0.0
        await fail(throttle, clock, 1, f"u{i}@x.test", "10.0.0.9")
    await retry_after(throttle, "never-failed@x.test", "10.0.0.9")
    assert await check(throttle, "never-failed@x.test", "10.0.0.10") == 0.0
    assert await check(throttle, "u1@x.test", "10.0.0.10") == 0.0


def test_addresses_are_counted_per_ipv6_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("unknown") == "unknown"


async def test_throttle_success_clears_the_pair_but_not_the_address(make_throttle: Any) -> None:
    throttle, clock = await make_throttle()
    await fail(throttle, clock, 9)
    assert await check(throttle) == 2.0
    await throttle.settle(await throttle.reserve(A, ADDR), "success")
    assert await check(throttle) == 0.0
    for i in range(41):  # 9 + 41 = 50 for the address
        await fail(throttle, clock, 1, email=f"b{i}@x.test")
    await retry_after(throttle)


async def test_an_account_guessed_from_many_addresses_is_spaced_not_locked(
    make_throttle: Any,
) -> None:
    """Past 100 failures on an account from all addresses, the addresses that failed on it
    get one turn per second between them (waiting at most 5 s, else 429 for a few seconds);
    an address that never failed on it (its owner's) is not held up."""
    throttle, clock = await make_throttle(LoginPolicy(account_slow_after=100))
    for i in range(100):
        await fail(throttle, clock, 1, "victim@x.test", f"10.1.{i}.1", step=0)
    suspects = [await throttle.reserve("victim@x.test", f"10.1.{i}.1") for i in range(6)]
    assert [r.delay_s for r in suspects] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    retry = await retry_after(throttle, "victim@x.test", "10.1.50.1")
    assert 1 <= retry <= 2
    assert await check(throttle, "victim@x.test", "192.0.2.77") == 0.0  # the owner, elsewhere
    for reservation in suspects:
        await throttle.settle(reservation, "void")
    clock.now += 10  # the turns taken have passed: spaced again, never locked
    assert await check(throttle, "victim@x.test", "10.1.50.1") == 0.0
    assert await check(throttle, "victim@x.test", "10.1.51.1") == 1.0


@pytest.mark.parametrize(
    "scenario",
    ["account-only", "older-address-failure", "account-overshoot", "address-blocks-longer"],
)
async def test_throttle_retry_after_is_when_every_block_has_lifted(
    make_throttle: Any, scenario: str
) -> None:
    """Waiting as long as Retry-After says must be enough, and not much more than needed."""
    throttle, clock = await make_throttle()
    if scenario == "account-only":
        await fail(throttle, clock, 10)
    elif scenario == "older-address-failure":
        # Someone else failed from this address long ago; it must not shorten the wait.
        await fail(throttle, clock, 1, email="someone-else@x.test", step=800)
        await fail(throttle, clock, 10)
    elif scenario == "account-overshoot":
        # Failures counted past the limit (a lower limit before a restart, say): the pair
        # stays blocked until three of them have left the window.
        for _ in range(12):
            await throttle.settle(Reservation(A, ADDR, 0.0), "failure")
            clock.now += 1
    else:
        # The pair is blocked, and the address longer: 10 + 50 failures from it.
        await fail(throttle, clock, 10)
        clock.now += 300
        for i in range(40):
            await fail(throttle, clock, 1, email=f"b{i % 4}@x.test")
        for _ in range(10):
            await throttle.settle(Reservation("c@x.test", ADDR, 0.0), "failure")
            clock.now += 1
    retry = await retry_after(throttle)
    told_at = clock.now
    clock.now = told_at + retry - 2
    await retry_after(throttle)  # not yet
    clock.now = told_at + retry
    await check(throttle)  # let in


def test_throttle_memory_is_bounded() -> None:
    clock = FakeClock()
    throttle = LocalLoginThrottle(POLICY, clock=clock)
    for i in range(100_100):
        address = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        throttle.settle_now(throttle.reserve_now(f"user{i}@x.test", address), "failure")
    # Three keys an attempt (pair, address, account); at most one attempt's past the bound.
    assert len(throttle._windows) <= 100_003
