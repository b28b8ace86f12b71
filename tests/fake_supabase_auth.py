"""A stand-in for Supabase Auth (GoTrue) at the HTTP boundary, mounted under ``/auth/v1``.

It answers what OpenHire and the ``supabase`` package's auth client call, in GoTrue's shapes
(``supabase/auth``: ``internal/api/signup.go``, ``token.go``, ``admin.go``, ``errors.go``):

    GET    /.well-known/jwks.json       the public signing keys (no API key needed)
    GET    /health
    POST   /signup                      200: a session, or a user awaiting confirmation
    POST   /token?grant_type=password   200: a session; 400 invalid_credentials, ...
    POST   /token?grant_type=refresh_token
    GET    /user                        the user of a Bearer access token
    GET    /admin/users                 service key only
    DELETE /admin/users/{id}            service key only

In front of it sits what Supabase's API gateway does: no ``apikey`` (header or query) is 401
"No API key found in request", an unknown one 401 "Invalid API key". The admin routes need
the service key as the bearer (``Authorization: Bearer <key>``, or, for a new-style
``sb_secret_`` key sent alone in ``apikey``, the gateway's stand-in for it); the anon key or a
user's token there is 403 ``not_admin``, garbage 403 ``bad_jwt``, nothing 401 ``no_authorization``.

Errors follow the client's ``X-Supabase-Api-Version``: from 2024-01-01 on,
``{"code": "<error code>", "message": ...}`` with the version echoed; before,
``{"code": <status>, "error_code": ..., "msg": ...}``.

Users are kept in memory and, given a DSN, also written into ``auth.users`` of that database,
as the real Auth server writes into the project's database, so that ``public.users``' foreign
key holds. Tokens are signed with a freshly generated key (ES256 or RS256; ``rotate`` adds a
new one and signs with it from then on) or, in legacy mode, HS256 with a shared secret, which
is not published. Requests whose shape the documented API would refuse (wrong content type,
missing or mistyped fields) are answered 400 and listed in ``violations``.

    with serve_fake_supabase_auth(dsn=database_url) as fake:
        env = {"SUPABASE_URL": fake.url, "SUPABASE_SERVICE_ROLE_KEY": fake.service_key}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

API_VERSION = "2024-01-01"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class SigningKey:
    kid: str
    alg: str  # ES256, RS256 or HS256
    private: Any  # an EC or RSA private key, or the HS256 secret as bytes

    @classmethod
    def generate(cls, alg: str) -> SigningKey:
        kid = secrets.token_hex(8)
        if alg == "ES256":
            return cls(kid, alg, ec.generate_private_key(ec.SECP256R1()))
        if alg == "RS256":
            return cls(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        raise ValueError(f"not an asymmetric algorithm: {alg}")

    @property
    def public_jwk(self) -> dict[str, Any]:
        """As Supabase publishes it."""
        if self.alg == "ES256":
            jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig", "key_ops": ["verify"]}

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        header = {"kid": self.kid, "typ": "JWT", **headers}
        if self.alg == "HS256":
            header.pop("kid")
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=header)


@dataclass
class FakeUser:
    id: uuid.UUID
    email: str
    password_hash: str
    user_metadata: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None = None
    last_sign_in_at: datetime | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return f"pbkdf2${salt.hex()}${digest.hex()}"


def _check(password: str, stored: str) -> bool:
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_hash(password, bytes.fromhex(salt)), stored)


class FakeSupabaseAuth:
    def __init__(
        self,
        *,
        dsn: str | None = None,
        alg: str = "ES256",
        legacy_secret: str | None = None,
        confirm_email: bool = False,
        service_key: str | None = None,
        anon_key: str | None = None,
        password_min_length: int = 6,
        access_token_ttl_s: int = 3600,
    ) -> None:
        self.dsn = dsn
        self.service_key = service_key or "sb_secret_" + secrets.token_urlsafe(24)
        self.anon_key = anon_key or "sb_publishable_" + secrets.token_urlsafe(24)
        self.confirm_email = confirm_email
        self.password_min_length = password_min_length
        self.access_token_ttl_s = access_token_ttl_s
        self.published: list[SigningKey] = []
        self.legacy: SigningKey | None = None
        if legacy_secret is not None:
            self.legacy = SigningKey("", "HS256", legacy_secret.encode())
        if alg == "HS256":
            assert self.legacy is not None, "HS256 needs a legacy_secret"
            self.current = self.legacy
        else:
            self.current = self.rotate(alg)
        self.users: dict[str, FakeUser] = {}
        self.created: list[uuid.UUID] = []  # ids of the users signed up, in order
        self.refresh_tokens: dict[str, uuid.UUID] = {}
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.jwks_fetches = 0
        self.rate_limited = False
        self.url = ""  # the project URL, set when served
        self.stop: Callable[[], None] = lambda: None  # set when served
        # The Storage stand-in served beside it (tests/fake_supabase.py), if any.
        self.storage: Any = None

    # --- what tests use ------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def rotate(self, alg: str = "ES256") -> SigningKey:
        """Publish a new key and sign with it from now on (the old one stays published)."""
        key = SigningKey.generate(alg)
        self.published.append(key)
        self.current = key
        return key

    def retire(self, kid: str) -> None:
        self.published = [k for k in self.published if k.kid != kid]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.published]}

    def mint(
        self,
        sub: uuid.UUID | str,
        /,
        *,
        key: SigningKey | None = None,
        email: str | None = None,
        ttl_s: int | None = None,
        **claims: Any,
    ) -> str:
        """An access token as Supabase Auth issues it; ``claims`` override or add (a value
        of None removes the claim)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(sub),
            "aud": "authenticated",
            "exp": now + (self.access_token_ttl_s if ttl_s is None else ttl_s),
            "iat": now,
            "email": email or "",
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now}],
            "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return (key or self.current).sign(payload)

    def confirm(self, email: str) -> None:
        """What following the link in the confirmation email does."""
        self.users[email.lower()].confirmed_at = datetime.now(UTC)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/.well-known/jwks.json", self._jwks, methods=["GET"]),
            Route("/health", self._health, methods=["GET"]),
            Route("/signup", self._signup, methods=["POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/user", self._user, methods=["GET"]),
            Route("/admin/users", self._admin_list, methods=["GET"]),
            Route("/admin/users/{user_id}", self._admin_delete, methods=["DELETE"]),
        ]

    def mount(self) -> Mount:
        return Mount("/auth/v1", routes=self.routes())

    # --- the gateway and errors ----------------------------------------------------------

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                body = await request.json()
            except ValueError:
                body = raw
        self.requests.append(
            Seen(
                request.method,
                request.url.path.removeprefix("/auth/v1"),
                dict(request.query_params),
                dict(request.headers),
                body,
            )
        )
        return body

    def _gateway(self, request: Request) -> Response | None:
        apikey = request.headers.get("apikey") or request.query_params.get("apikey")
        if not apikey:
            return JSONResponse(
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
                status_code=401,
            )
        if apikey not in (self.service_key, self.anon_key):
            return JSONResponse(
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
                status_code=401,
            )
        return None

    def _bearer(self, request: Request) -> str | None:
        header = request.headers.get("authorization")
        if header is None:
            apikey = request.headers.get("apikey") or request.query_params.get("apikey") or ""
            # The gateway stands in a role token for a new-style key sent alone.
            return apikey if apikey.startswith("sb_") else None
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _error(
        self, request: Request, status: int, code: str, message: str, **extra: Any
    ) -> Response:
        version = request.headers.get("x-supabase-api-version", "")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", version) and version >= API_VERSION:
            body = {"code": code, "message": message, **extra}
            headers = {"X-Supabase-Api-Version": API_VERSION}
        else:
            body = {"code": status, "error_code": code, "msg": message, **extra}
            headers = {}
        return JSONResponse(body, status_code=status, headers=headers)

    def _violation(self, request: Request, problem: str) -> Response:
        self.violations.append(f"{request.method} {request.url.path}: {problem}")
        return self._error(request, 400, "bad_json", f"Could not parse request body: {problem}")

    def _json_body(self, request: Request, body: Any, *required: str) -> str | None:
        """What is wrong with a JSON body, or None."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return f"Content-Type {content_type!r}, expected application/json"
        if not isinstance(body, dict):
            return "the body is not a JSON object"
        for name in required:
            if not isinstance(body.get(name), str):
                return f"{name!r} must be a string"
        if "data" in body and not isinstance(body["data"], dict | None):
            return "'data' must be an object"
        return None

    # --- users and sessions --------------------------------------------------------------

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        identity = {
            "identity_id": str(uuid.uuid5(user.id, "email")),
            "id": str(user.id),
            "user_id": str(user.id),
            "identity_data": {
                "email": user.email,
                "email_verified": user.confirmed_at is not None,
                "phone_verified": False,
                "sub": str(user.id),
            },
            "provider": "email",
            "last_sign_in_at": _iso(user.last_sign_in_at),
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.created_at),
            "email": user.email,
        }
        body: dict[str, Any] = {
            "id": str(user.id),
            "aud": "authenticated",
            "role": "authenticated",
            "email": user.email,
            "email_confirmed_at": _iso(user.confirmed_at),
            "phone": "",
            "confirmed_at": _iso(user.confirmed_at),
            "last_sign_in_at": _iso(user.last_sign_in_at),
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": user.user_metadata,
            "identities": [identity],
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.created_at),
            "is_anonymous": False,
        }
        if user.confirmed_at is None:
            body["confirmation_sent_at"] = _iso(user.created_at)
        return body

    def _session(self, user: FakeUser) -> dict[str, Any]:
        user.last_sign_in_at = datetime.now(UTC)
        refresh = secrets.token_urlsafe(12)
        self.refresh_tokens[refresh] = user.id
        token = self.mint(user.id, email=user.email, user_metadata=user.user_metadata)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.access_token_ttl_s,
            "expires_at": int(time.time()) + self.access_token_ttl_s,
            "refresh_token": refresh,
            "user": self._user_json(user),
        }

    def _user_by_id(self, user_id: uuid.UUID) -> FakeUser | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    async def _db(self, query: str, *args: Any) -> None:
        if self.dsn is None:
            return
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    # --- routes --------------------------------------------------------------------------

    async def _jwks(self, request: Request) -> Response:
        await self._record(request)
        self.jwks_fetches += 1
        return JSONResponse(self.jwks())

    async def _health(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        return JSONResponse(
            {"version": "v2.170.0", "name": "GoTrue", "description": "GoTrue is a user registry"}
        )

    async def _signup(self, request: Request) -> Response:
        body = await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        if (problem := self._json_body(request, body, "email", "password")) is not None:
            return self._violation(request, problem)
        if self.rate_limited:
            return self._error(
                request, 429, "over_request_rate_limit", "Request rate limit reached"
            )
        email = body["email"].strip().lower()
        password = body["password"]
        if len(password) < self.password_min_length:
            return self._error(
                request,
                422,
                "weak_password",
                f"Password should be at least {self.password_min_length} characters.",
                weak_password={"reasons": ["length"]},
            )
        if not _EMAIL.match(email):
            return self._error(
                request,
                400,
                "email_address_invalid",
                "Unable to validate email address: invalid format",
            )
        existing = self.users.get(email)
        if existing is not None:
            if existing.confirmed_at is not None:
                if not self.confirm_email:
                    return self._error(
                        request, 422, "user_already_exists", "User already registered"
                    )
                # Not telling whether the email is registered: a made-up user, no session.
                decoy = FakeUser(
                    id=uuid.uuid4(),
                    email=email,
                    password_hash="",
                    user_metadata=body.get("data") or {},
                    created_at=datetime.now(UTC),
                )
                return JSONResponse(self._user_json(decoy))
            # Unconfirmed: the confirmation is sent again; the user is not changed.
            return JSONResponse(self._user_json(existing))
        now = datetime.now(UTC)
        user = FakeUser(
            id=uuid.uuid4(),
            email=email,
            password_hash=_hash(password),
            user_metadata=body.get("data") or {},
            created_at=now,
            confirmed_at=None if self.confirm_email else now,
        )
        try:
            await self._db(
                "insert into auth.users (id, email, encrypted_password, raw_user_meta_data,"
                " raw_app_meta_data, created_at, updated_at) values ($1, $2, $3, $4::jsonb,"
                " $5::jsonb, $6, $6)",
                user.id,
                email,
                user.password_hash,
                json.dumps(user.user_metadata),
                json.dumps({"provider": "email", "providers": ["email"]}),
                now,
            )
        except asyncpg.PostgresError:
            return self._error(request, 500, "unexpected_failure", "Database error saving new user")
        self.users[email] = user
        self.created.append(user.id)
        if self.confirm_email:
            return JSONResponse(self._user_json(user))
        return JSONResponse(self._session(user))

    async def _token(self, request: Request) -> Response:
        body = await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        grant = request.query_params.get("grant_type")
        if grant == "refresh_token":
            if (problem := self._json_body(request, body, "refresh_token")) is not None:
                return self._violation(request, problem)
            user_id = self.refresh_tokens.pop(body["refresh_token"], None)
            user = self._user_by_id(user_id) if user_id else None
            if user is None:
                return self._error(
                    request, 400, "refresh_token_not_found", "Invalid Refresh Token: Not Found"
                )
            return JSONResponse(self._session(user))
        if grant != "password":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "unsupported grant"},
                status_code=400,
            )
        if (problem := self._json_body(request, body, "email", "password")) is not None:
            return self._violation(request, problem)
        if self.rate_limited:
            return self._error(
                request, 429, "over_request_rate_limit", "Request rate limit reached"
            )
        user = self.users.get(body["email"].strip().lower())
        if user is None or not _check(body["password"], user.password_hash):
            return self._error(request, 400, "invalid_credentials", "Invalid login credentials")
        if user.confirmed_at is None:
            return self._error(request, 400, "email_not_confirmed", "Email not confirmed")
        return JSONResponse(self._session(user))

    def _verified_user(self, token: str) -> FakeUser | None:
        keys = {k.kid: k for k in self.published}
        try:
            header = jwt.get_unverified_header(token)
            key = self.legacy if header.get("alg") == "HS256" else keys.get(header.get("kid"))
            if key is None:
                return None
            verifying = key.private if key.alg == "HS256" else key.private.public_key()
            claims = jwt.decode(token, verifying, algorithms=[key.alg], audience="authenticated")
        except jwt.InvalidTokenError:
            return None
        return self._user_by_id(uuid.UUID(claims["sub"]))

    async def _user(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        token = self._bearer(request)
        if not token:
            return self._error(
                request, 401, "no_authorization", "This endpoint requires a Bearer token"
            )
        user = self._verified_user(token)
        if user is None:
            return self._error(
                request,
                403,
                "bad_jwt",
                "invalid JWT: unable to parse or verify signature, token is invalid",
            )
        return JSONResponse(self._user_json(user))

    def _admin_refusal(self, request: Request) -> Response | None:
        if (refused := self._gateway(request)) is not None:
            return refused
        token = self._bearer(request)
        if not token:
            return self._error(
                request, 401, "no_authorization", "This endpoint requires a Bearer token"
            )
        if token == self.service_key:
            return None
        if token == self.anon_key or self._verified_user(token) is not None:
            return self._error(request, 403, "not_admin", "User not allowed")
        return self._error(
            request,
            403,
            "bad_jwt",
            "invalid JWT: unable to parse or verify signature, token is malformed",
        )

    async def _admin_list(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._admin_refusal(request)) is not None:
            return refused
        try:
            page = int(request.query_params.get("page", "1"))
            per_page = int(request.query_params.get("per_page", "50"))
        except ValueError:
            return self._error(request, 400, "validation_failed", "Bad Pagination Parameters")
        users = sorted(self.users.values(), key=lambda u: u.created_at)
        chosen = users[(page - 1) * per_page : page * per_page]
        return JSONResponse(
            {"users": [self._user_json(u) for u in chosen], "aud": "authenticated"},
            headers={"X-Total-Count": str(len(users))},
        )

    async def _admin_delete(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._admin_refusal(request)) is not None:
            return refused
        try:
            user_id = uuid.UUID(request.path_params["user_id"])
        except ValueError:
            return self._error(request, 404, "user_not_found", "User not found")
        user = self._user_by_id(user_id)
        if user is None:
            return self._error(request, 404, "user_not_found", "User not found")
        del self.users[user.email]
        await self._db("delete from auth.users where id = $1", user_id)
        return JSONResponse({})


@dataclass
class RunningApp:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket
    stopped: bool = field(default=False)

    def stop(self) -> None:
        """Stop answering: connections to the port are refused from now on."""
        if self.stopped:
            return
        self.stopped = True
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serve_app(app: Starlette) -> Iterator[RunningApp]:
    """Run an ASGI app on a free loopback port, in a thread, for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app, log_level="critical", lifespan="off", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    running = RunningApp(url, server, thread, sock)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)
        yield running
    finally:
        running.stop()


@contextmanager
def serve_fake_supabase_auth(**options: Any) -> Iterator[FakeSupabaseAuth]:
    """A FakeSupabaseAuth on a free loopback port; ``fake.url`` is the project URL (the
    ``SUPABASE_URL``) and ``fake.stop()`` takes it off the network."""
    fake = FakeSupabaseAuth(**options)
    with serve_app(Starlette(routes=[fake.mount()])) as running:
        fake.url = running.url
        fake.stop = running.stop
        yield fake
