"""A stand-in for Supabase Auth (GoTrue) at the HTTP boundary, mounted under ``/auth/v1``.

It answers what OpenHire and the ``supabase`` package's auth client call, in GoTrue's shapes
(``supabase/auth``: ``internal/api/signup.go``, ``token.go``, ``admin.go``, ``errors.go``):

    GET    /.well-known/jwks.json       the public signing keys (no API key needed)
    GET    /health
    POST   /signup                      200: a session, or a user awaiting confirmation
    POST   /token?grant_type=password   200: a session; 400 invalid_credentials, ...
    POST   /token?grant_type=refresh_token   rotates; a used token is 400
                                        refresh_token_already_used
    POST   /recover?redirect_to=...     200 {} whether the email is known or not; a known one
                                        gets a recovery link (``recoveries``)
    GET    /verify?type=recovery&token=...&redirect_to=...
                                        303 to redirect_to#access_token=...&type=recovery
    GET    /user                        the user of a Bearer access token
    PUT    /user                        the Bearer's user changes their password
    POST   /logout?scope=local          the Bearer's session ends (its refresh tokens)
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

Users are kept in memory and, given a DSN, also written into ``auth.users`` and
``auth.identities`` of that database as the real Auth server writes them (its instance, audience,
role, confirmation and token columns), so that ``public.users``' foreign key holds. With a DSN,
the password grant finds its user in the database as the real one does
(``models.FindUserByEmailAndAudience``: the default instance, the lowercased email, the
``authenticated`` audience, not an SSO user), fails as it does on a NULL in a token column it
reads as a string, and checks the stored hash (its own, or argon2 as Supabase Auth accepts), so
that accounts written straight into the database (supabase/seed.sql) log in only if the real
server would log them in.

Tokens are signed with a freshly generated key (ES256 or RS256; ``rotate`` adds a new one and
signs with it from then on) or, in legacy mode, HS256 with a shared secret, which
is not published. Requests whose shape the documented API would refuse (wrong content type,
missing or mistyped fields) are answered 400 and listed in ``violations``;
leaving ``serve_fake_supabase_auth`` fails if there are any.

    with serve_fake_supabase_auth(dsn=database_url) as fake:
        env = {"SUPABASE_URL": fake.url, "SUPABASE_SERVICE_ROLE_KEY": fake.service_key}
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import argon2
import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from tests.loopback import serve_app

API_VERSION = "2024-01-01"
# Supabase Auth's single instance: every user it writes, and every user it looks up, has it.
INSTANCE_ID = uuid.UUID(int=0)
# The columns Supabase Auth reads into Go strings: a NULL there fails its query.
STRING_TOKEN_COLUMNS = (
    "confirmation_token",
    "recovery_token",
    "email_change_token_new",
    "email_change",
)
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
    # The rows of auth.identities, for a user found in the database.
    identities: list[dict[str, Any]] | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _json(value: Any) -> Any:
    """A jsonb value as asyncpg returns it (text, without a codec)."""
    return json.loads(value) if isinstance(value, str) else value


def _hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return f"pbkdf2${salt.hex()}${digest.hex()}"


def _check(password: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        try:
            return argon2.PasswordHasher().verify(stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
    if not stored.startswith("pbkdf2$"):
        return False
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
        self.used_refresh_tokens: set[str] = set()
        # The recovery emails "sent": (email, the link in it), and the live recovery tokens.
        self.recoveries: list[tuple[str, str]] = []
        self.recovery_tokens: dict[str, tuple[uuid.UUID, str]] = {}
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.jwks_fetches = 0
        self.rate_limited = False
        self.url = ""  # the project URL, set when served
        self.stop: Callable[[], None] = lambda: None  # set when served
        # The Storage stand-in served beside it (tests/fake_supabase.py), if any.
        self.storage: Any = None

    # --- what tests use ------------------------------------------------------------------

    def check(self) -> None:
        """Raise if any request broke the documented API: the stand-in answered it 400, but a
        test expecting a refusal anyway would not notice. Run when the stand-in is left."""
        assert not self.violations, f"requests the real Auth server would refuse: {self.violations}"

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
        user = self.users[email.lower()]
        user.confirmed_at = datetime.now(UTC)
        if self.dsn is not None:
            # Called from a test, whose own event loop may be running: a loop of its own.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(
                    asyncio.run,
                    self._db(
                        "update auth.users set email_confirmed_at = $2, confirmation_token = ''"
                        " where id = $1",
                        user.id,
                        user.confirmed_at,
                    ),
                ).result()

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/.well-known/jwks.json", self._jwks, methods=["GET"]),
            Route("/health", self._health, methods=["GET"]),
            Route("/signup", self._signup, methods=["POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/user", self._user, methods=["GET"]),
            Route("/user", self._update_user, methods=["PUT"]),
            Route("/recover", self._recover, methods=["POST"]),
            Route("/verify", self._verify, methods=["GET"]),
            Route("/logout", self._logout, methods=["POST"]),
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
        if user.identities is not None:
            identities = [
                {
                    "identity_id": str(row["id"]),
                    "id": row["provider_id"],
                    "user_id": str(row["user_id"]),
                    "identity_data": row["identity_data"],
                    "provider": row["provider"],
                    "last_sign_in_at": _iso(row["last_sign_in_at"]),
                    "created_at": _iso(row["created_at"]),
                    "updated_at": _iso(row["updated_at"]),
                    "email": row["email"],
                }
                for row in user.identities
            ]
        else:
            identities = [self._email_identity(user)]
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
            "identities": identities,
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.created_at),
            "is_anonymous": False,
        }
        if user.confirmed_at is None:
            body["confirmation_sent_at"] = _iso(user.created_at)
        return body

    def _email_identity(self, user: FakeUser) -> dict[str, Any]:
        return {
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

    def _session(self, user: FakeUser, amr: str = "password") -> dict[str, Any]:
        user.last_sign_in_at = datetime.now(UTC)
        refresh = secrets.token_urlsafe(12)
        self.refresh_tokens[refresh] = user.id
        token = self.mint(
            user.id,
            email=user.email,
            user_metadata=user.user_metadata,
            amr=[{"method": amr, "timestamp": int(time.time())}],
        )
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

    async def _find_for_login(self, email: str) -> FakeUser | None:
        """The user the real password grant would find, from the database; LookupError where
        it would fail to read the row (a NULL in a column it reads as a string)."""
        assert self.dsn is not None
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            row = await conn.fetchrow(
                "select * from auth.users where instance_id = $1 and lower(email) = $2"
                " and aud = 'authenticated' and is_sso_user = false",
                INSTANCE_ID,
                email,
            )
            if row is None:
                return None
            if any(row[column] is None for column in STRING_TOKEN_COLUMNS):
                raise LookupError(f"NULL in a string column of auth.users {row['id']}")
            identities = await conn.fetch(
                "select * from auth.identities where user_id = $1 order by created_at", row["id"]
            )
        finally:
            await conn.close()
        user = self.users.get(email)
        if user is None:
            user = FakeUser(
                id=row["id"],
                email=email,
                password_hash="",
                user_metadata=_json(row["raw_user_meta_data"]),
                created_at=row["created_at"],
            )
            self.users[email] = user
        user.password_hash = row["encrypted_password"] or ""
        user.confirmed_at = row["email_confirmed_at"]
        user.identities = [
            {**dict(i), "identity_data": _json(i["identity_data"])} for i in identities
        ]
        return user

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
        identity = self._email_identity(user)
        try:
            await self._db(
                "with new_user as (insert into auth.users (instance_id, id, aud, role, email,"
                " encrypted_password, email_confirmed_at, confirmation_token, recovery_token,"
                " email_change_token_new, email_change, raw_user_meta_data, raw_app_meta_data,"
                " created_at, updated_at) values ($1, $2, 'authenticated', 'authenticated', $3,"
                " $4, $5, $6, '', '', '', $7::jsonb, $8::jsonb, $9, $9) returning id)"
                " insert into auth.identities (provider_id, user_id, identity_data, provider,"
                " created_at, updated_at) select id::text, id, $10::jsonb, 'email', $9, $9"
                " from new_user",
                INSTANCE_ID,
                user.id,
                email,
                user.password_hash,
                user.confirmed_at,
                "" if user.confirmed_at else secrets.token_hex(28),
                json.dumps(user.user_metadata),
                json.dumps({"provider": "email", "providers": ["email"]}),
                now,
                json.dumps(identity["identity_data"]),
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
            token = body["refresh_token"]
            user_id = self.refresh_tokens.pop(token, None)
            if user_id is None and token in self.used_refresh_tokens:
                return self._error(
                    request,
                    400,
                    "refresh_token_already_used",
                    "Invalid Refresh Token: Already Used",
                )
            self.used_refresh_tokens.add(token)
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
        email = body["email"].strip().lower()
        if self.dsn is not None:
            try:
                user = await self._find_for_login(email)
            except LookupError:
                return self._error(
                    request, 500, "unexpected_failure", "Database error querying schema"
                )
        else:
            user = self.users.get(email)
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

    async def _update_user(self, request: Request) -> Response:
        body = await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        token = self._bearer(request)
        user = self._verified_user(token) if token else None
        if user is None:
            return self._error(
                request,
                403,
                "bad_jwt",
                "invalid JWT: unable to parse or verify signature, token is invalid",
            )
        if (problem := self._json_body(request, body, "password")) is not None:
            return self._violation(request, problem)
        password = body["password"]
        if len(password) < self.password_min_length:
            return self._error(
                request,
                422,
                "weak_password",
                f"Password should be at least {self.password_min_length} characters.",
                weak_password={"reasons": ["length"]},
            )
        if _check(password, user.password_hash):
            return self._error(
                request,
                422,
                "same_password",
                "New password should be different from the old password.",
            )
        user.password_hash = _hash(password)
        await self._db(
            "update auth.users set encrypted_password = $2, updated_at = now() where id = $1",
            user.id,
            user.password_hash,
        )
        return JSONResponse(self._user_json(user))

    async def _recover(self, request: Request) -> Response:
        body = await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        if (problem := self._json_body(request, body, "email")) is not None:
            return self._violation(request, problem)
        if self.rate_limited:
            return self._error(
                request,
                429,
                "over_email_send_rate_limit",
                "For security purposes, you can only request this after 60 seconds.",
            )
        email = body["email"].strip().lower()
        user = self.users.get(email)
        if user is None and self.dsn is not None:
            user = await self._find_for_login(email)
        if user is not None:
            token = secrets.token_hex(28)
            redirect_to = request.query_params.get("redirect_to") or self.url
            self.recovery_tokens[token] = (user.id, redirect_to)
            link = (
                f"{self.url}/auth/v1/verify?token={token}&type=recovery&redirect_to={redirect_to}"
            )
            self.recoveries.append((email, link))
        # The same answer for a known and an unknown email.
        return JSONResponse({})

    async def _verify(self, request: Request) -> Response:
        await self._record(request)
        token = request.query_params.get("token", "")
        found = self.recovery_tokens.pop(token, None)
        redirect_to = request.query_params.get("redirect_to") or self.url
        if request.query_params.get("type") != "recovery" or found is None:
            fragment = (
                "error=access_denied&error_code=otp_expired"
                "&error_description=Email+link+is+invalid+or+has+expired"
            )
            return Response(status_code=303, headers={"Location": f"{redirect_to}#{fragment}"})
        user = self._user_by_id(found[0])
        assert user is not None
        session = self._session(user, amr="otp")
        fragment = "&".join(
            f"{k}={session[k]}"
            for k in ("access_token", "expires_at", "expires_in", "refresh_token", "token_type")
        )
        return Response(
            status_code=303, headers={"Location": f"{found[1]}#{fragment}&type=recovery"}
        )

    async def _logout(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._gateway(request)) is not None:
            return refused
        token = self._bearer(request)
        user = self._verified_user(token) if token else None
        if user is None:
            return self._error(
                request, 401, "no_authorization", "This endpoint requires a valid Bearer token"
            )
        for refresh, owner in list(self.refresh_tokens.items()):
            if owner == user.id:
                del self.refresh_tokens[refresh]
        return Response(status_code=204)

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


@contextmanager
def serve_fake_supabase_auth(**options: Any) -> Iterator[FakeSupabaseAuth]:
    """A FakeSupabaseAuth on a free loopback port; ``fake.url`` is the project URL (the
    ``SUPABASE_URL``) and ``fake.stop()`` takes it off the network."""
    fake = FakeSupabaseAuth(**options)
    with serve_app(Starlette(routes=[fake.mount()])) as running:
        fake.url = running.url
        fake.stop = running.stop
        yield fake
        fake.check()  # only when the block ended normally: a failure inside it comes first
