"""A stand-in for Supabase Storage's HTTP API (supabase/storage, "storage-api"), for tests.

The real Storage server cannot run here, so this one answers as it does, at the HTTP boundary,
for the routes the ``supabase`` package's storage client (storage3) uses; the real client
library runs unchanged against it. Shapes follow supabase/storage's sources (and were checked
against the real server, on its file backend behind a gateway):

- ``src/http/routes/object``: ``POST|PUT /object/{bucket}/{name}`` (multipart ``file`` part with
  its content type, or a binary body; ``x-upsert: true`` to overwrite, else 409
  ``KeyAlreadyExists``), ``GET /object/{bucket}/{name}`` (download; a key that does not verify
  counts as no key there, so a private bucket answers ``NoSuchBucket``; a valid non-service key
  is held back by row-level security, ``NoSuchKey``) and ``/object/authenticated/...`` (a valid
  key required), ``DELETE /object/{bucket}`` with ``{"prefixes": [...]}`` (at most 1,000;
  answers the removed objects, ``[]`` when none), ``POST /object/sign/{bucket}/{name}`` with
  ``{"expiresIn"}`` -> ``{"signedURL": "/object/sign/{bucket}/{name}?token=..."}`` (``POST
  /object/sign/{bucket}`` with ``{"expiresIn", "paths"}``, at most 1,000, for many at once) and
  ``GET`` on that URL without any header (the token is an HS256 JWT ``{url, iat, exp}`` made
  with the project's JWT secret; the answer carries ``Expires``, not ``Cache-Control``).
  Downloads carry ``Last-Modified`` as an HTTP date; ``?download=`` adds ``Content-Disposition:
  attachment``.
- ``src/http/routes/bucket``: ``GET /bucket`` and ``GET /bucket/{id}``.
- ``src/internal/errors`` and ``src/http/error-handler.ts``: an error answers HTTP 400 (500 for
  internal errors) with the real status in the body: ``{"statusCode": "404", "code":
  "NoSuchKey", "error": "not_found", "message": "Object not found"}``; a request that fails the
  route's schema (``routes-helper.ts``: every authenticated route requires an ``Authorization``
  header) answers ``{"statusCode": "400", "code": "InvalidRequest", "error": "Error"}``.
  JSON is ``application/json; charset=utf-8``.
- Authentication (``src/http/plugins/jwt.ts``): Storage verifies the ``Authorization`` bearer JWT
  with the project's secret (``AccessDenied``, statusCode 403, when it does not verify) and takes
  its ``role``. ``service_role`` bypasses row-level security; other roles see no private bucket
  or object and may not write (the project's policies are not modelled). In front of it, the
  ``gateway``: ``"hosted"`` (the default) refuses a request whose ``apikey`` header is not one of
  the project's keys with 401 ``{"message": "Invalid API key"}``, except on signed URLs, as a
  hosted project's gateway does; ``"plain"`` passes every request through (self-hosted Kong's
  Storage route, or storage-api on its own), so Storage itself answers a wrong key.
- Buckets come from ``supabase/config.toml`` (``[storage.buckets.<id>]``): the same declaration
  the migration makes, with its ``allowed_mime_types`` and ``file_size_limit`` enforced
  (``InvalidMimeType`` 415, ``EntityTooLarge`` 413), as is the global ``[storage]
  file_size_limit``, and object names follow Storage's key rule (``src/storage/limits.ts``:
  ASCII letters, digits and a few marks; ``InvalidKey``).

Every request is recorded (``requests``), and faults can be planned for the next requests: an
HTTP status from a gateway, a Storage error in its 400-with-statusCode shape, a dropped
connection, a delay (Storage aborts the request when the client goes away), a stall (a gateway
without abort-on-close: the request is carried out after the stall even though the client gave
up). The fake's clock can be moved forward to expire signed URLs, and its JWT secret rotated
(``rotate_keys``) so that the keys handed out before stop verifying.

It runs uvicorn in a thread of the test process, so a server subprocess can reach it too
(``SUPABASE_URL=fake.url``, ``SUPABASE_SERVICE_ROLE_KEY=fake.service_key``).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import re
import secrets
import threading
import time
import tomllib
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jwt
import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from tests.loopback import serve_app

ROOT = Path(__file__).resolve().parents[1]
CONFIG_TOML = ROOT / "supabase" / "config.toml"

# Storage's rule for object names (src/storage/limits.ts, isValidKey): S3-safe ASCII characters
# (Python's \w would also let letters like "é" through; JavaScript's does not).
_VALID_NAME = re.compile(r"^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$")
# src/storage/limits.ts, MAX_OBJECTS_PER_REQUEST: names per signing or deleting request.
MAX_OBJECTS_PER_REQUEST = 1000
JSON_TYPE = "application/json; charset=utf-8"
_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3}
_UNITS["gib"] = 1024**3


def parse_size(text: str | int) -> int:
    """A size as the Supabase CLI writes it: ``"10MiB"``, ``"512KiB"``, ``"50MB"``, bytes."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    if not match or match[2].lower() not in {"", *_UNITS}:
        raise ValueError(f"not a size: {text!r}")
    return int(match[1]) * _UNITS.get(match[2].lower(), 1)


def _now_iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def _http_date(at: float) -> str:
    """As JavaScript's ``Date.toUTCString()``: ``Tue, 02 Dec 2025 10:00:00 GMT``."""
    return email.utils.formatdate(at, usegmt=True)


def json_response(body: Any, status_code: int = 200) -> Response:
    """JSON as Storage (fastify) and the gateway send it: ``application/json; charset=utf-8``."""
    return Response(orjson.dumps(body), status_code=status_code, media_type=JSON_TYPE)


@dataclass
class FakeBucket:
    id: str
    public: bool = False
    file_size_limit: int | None = None
    allowed_mime_types: list[str] | None = None
    created_at: str = field(default_factory=lambda: _now_iso(time.time()))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.id,
            "owner": "",
            "public": self.public,
            "type": "STANDARD",
            "file_size_limit": self.file_size_limit,
            "allowed_mime_types": self.allowed_mime_types,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }


def buckets_from_config(path: Path = CONFIG_TOML) -> tuple[list[FakeBucket], int | None]:
    """The buckets ``[storage.buckets.<id>]`` and the global ``[storage] file_size_limit``
    of a Supabase CLI config.toml."""
    config = tomllib.loads(path.read_text())
    storage = config.get("storage", {})
    limit = storage.get("file_size_limit")
    buckets = []
    for bucket_id, spec in storage.get("buckets", {}).items():
        size = spec.get("file_size_limit")
        buckets.append(
            FakeBucket(
                id=bucket_id,
                public=bool(spec.get("public", False)),
                file_size_limit=parse_size(size) if size is not None else None,
                allowed_mime_types=list(spec["allowed_mime_types"])
                if spec.get("allowed_mime_types")
                else None,
            )
        )
    return buckets, parse_size(limit) if limit is not None else None


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str
    id: str
    created_at: str
    updated_at: str
    updated_at_s: float

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data).hexdigest() + '"'


@dataclass
class UploadedPart:
    """The ``file`` part of a multipart upload, as the fake received it."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Seen:
    """One request the fake received (every one, faulted or not)."""

    method: str
    path: str  # below /storage/v1, e.g. "/object/screenshots/<id>/000001.jpg"
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    peer: tuple[str, int] | None
    fields: dict[str, str] = field(default_factory=dict)
    part: UploadedPart | None = None

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Fault:
    kind: str  # "http", "storage", "drop", "delay" or "stall"
    status: int = 503
    seconds: float = 0.0
    code: str = "DatabaseConnectionLimit"
    error: str | None = None
    message: str = "planned failure (a test fault)"


class _DropConnection(Exception):
    """Raised after a response has started, so that uvicorn closes the connection."""


class _Dropped(Response):
    """Starts a response, sends part of its body, then breaks the connection."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"Key"', "more_body": True})
        raise _DropConnection


def storage_error(status: int, code: str, message: str, error: str | None = None) -> Response:
    """An error as Storage renders it: HTTP 400 (500 for internal errors), the real status in
    the body's ``statusCode``, ``error`` the legacy name (or the code)."""
    body = {"statusCode": str(status), "code": code, "error": error or code, "message": message}
    return json_response(body, 500 if status == 500 else 400)


def validation_error(message: str) -> Response:
    """A request that fails the route's schema (fastify's FST_ERR_VALIDATION), as Storage's
    error handler renders it: the code mapped to InvalidRequest, ``error`` the error's name."""
    body = {"statusCode": "400", "code": "InvalidRequest", "error": "Error", "message": message}
    return json_response(body, 400)


def _no_such_bucket() -> Response:
    return storage_error(404, "NoSuchBucket", "Bucket not found", "Bucket not found")


def _no_such_key() -> Response:
    return storage_error(404, "NoSuchKey", "Object not found", "not_found")


# The caller's role, or None when the request carries no key Storage could verify (allowed on
# the download route only).
Handler = Callable[[Request, str | None], Awaitable[Response]]
Auth = Literal["required", "optional", "none"]


class FakeSupabaseStorage:
    def __init__(
        self,
        buckets: list[FakeBucket] | None = None,
        *,
        global_file_size_limit: int | None = None,
        project_ref: str = "openhiretest",
        gateway: Literal["hosted", "plain"] = "hosted",
    ) -> None:
        if buckets is None:
            buckets, global_file_size_limit = buckets_from_config()
        self.buckets = {b.id: b for b in buckets}
        self.global_file_size_limit = global_file_size_limit or 50 * 1024**2
        self.project_ref = project_ref
        self.gateway = gateway
        self.jwt_secret = secrets.token_urlsafe(32)
        self.service_key = self.make_key("service_role")
        self.anon_key = self.make_key("anon")
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.requests: list[Seen] = []
        self.url = ""  # the project URL, set when served: http://127.0.0.1:<port>
        self._faults: deque[Fault] = deque()
        self._clock_offset = 0.0
        self._lock = threading.Lock()
        object_routes = [
            Route("/bucket", self._route(self.list_buckets), methods=["GET"]),
            Route("/bucket/{bucket}", self._route(self.get_bucket), methods=["GET"]),
            Route(
                "/object/sign/{bucket}/{name:path}",
                self._route(self.signed_download, auth="none"),
                methods=["GET"],
            ),
            Route("/object/sign/{bucket}/{name:path}", self._route(self.sign), methods=["POST"]),
            Route("/object/sign/{bucket}", self._route(self.sign_many), methods=["POST"]),
            Route(
                "/object/authenticated/{bucket}/{name:path}",
                self._route(self.download),
                methods=["GET"],
            ),
            Route(
                "/object/{bucket}/{name:path}",
                self._route(self.download, auth="optional"),
                methods=["GET"],
            ),
            Route(
                "/object/{bucket}/{name:path}", self._route(self.upload), methods=["POST", "PUT"]
            ),
            Route("/object/{bucket}", self._route(self.delete_objects), methods=["DELETE"]),
            Route(
                "/{rest:path}",
                self._route(self.no_route, auth="none"),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
            ),
        ]
        self.asgi = Starlette(routes=object_routes)
        """The Storage API alone, to mount at ``/storage/v1`` of a larger fake project."""
        self.app = Starlette(
            routes=[
                Mount("/storage/v1", app=self.asgi),
                Route(
                    "/{rest:path}",
                    self._gateway_no_route,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                ),
            ]
        )

    # Test controls

    def make_key(self, role: str, *, secret: str | None = None) -> str:
        """A legacy API key (a long-lived JWT) of this project for ``role``; with another
        ``secret``, a key that looks right but was not made by this project."""
        now = int(time.time())
        claims = {"iss": "supabase", "ref": self.project_ref, "role": role}
        claims |= {"iat": now, "exp": now + 10 * 365 * 86400}
        return jwt.encode(claims, secret or self.jwt_secret, algorithm="HS256")

    def rotate_keys(self) -> str:
        """A new JWT secret, as when a project's legacy JWT secret is rotated: the keys made
        before (the service key a server holds) no longer verify. Returns the new service key."""
        with self._lock:
            self.jwt_secret = secrets.token_urlsafe(32)
            self.service_key = self.make_key("service_role")
            self.anon_key = self.make_key("anon")
            return self.service_key

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` requests get ``status`` from the gateway (a non-Storage body)."""
        self._plan(count, Fault("http", status))

    def fail_next_in_storage(
        self,
        count: int = 1,
        status: int = 503,
        code: str = "DatabaseConnectionLimit",
        error: str | None = None,
        message: str = "planned failure (a test fault)",
    ) -> None:
        """The next ``count`` requests get a Storage error of ``status`` in its usual shape:
        HTTP 400 (500 for 500) with the status, ``code`` and ``error`` in the body, as for a
        database out of connections (503) or timing out (544 DatabaseTimeout)."""
        self._plan(count, Fault("storage", status, code=code, error=error, message=message))

    def drop_next(self, count: int = 1) -> None:
        """The next ``count`` requests see their connection broken mid-answer."""
        self._plan(count, Fault("drop"))

    def delay_next(self, count: int = 1, seconds: float = 1.0) -> None:
        """The next ``count`` requests are answered after ``seconds``; one whose client has
        gone by then is dropped, as Storage aborts it."""
        self._plan(count, Fault("delay", seconds=seconds))

    def stall_next(self, count: int = 1, seconds: float = 1.0) -> None:
        """The next ``count`` requests are held for ``seconds`` and then carried out even if
        their client gave up meanwhile: Storage frozen, then recovering, behind a gateway that
        does not abort a forwarded request when the client closes. An upload lands late."""
        self._plan(count, Fault("stall", seconds=seconds))

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward: signed URLs expire by it."""
        with self._lock:
            self._clock_offset += seconds

    def reset(self) -> None:
        """Forget objects, requests, planned faults and clock moves; keep buckets and keys."""
        with self._lock:
            self.objects.clear()
            self.requests.clear()
            self._faults.clear()
            self._clock_offset = 0.0

    def object(self, bucket: str, name: str) -> StoredObject | None:
        with self._lock:
            return self.objects.get((bucket, name))

    def seen(self, method: str | None = None, prefix: str = "") -> list[Seen]:
        """The requests received so far, optionally of one method and under a path prefix."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(prefix)
            ]

    def _plan(self, count: int, fault: Fault) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def now(self) -> float:
        return time.time() + self._clock_offset

    # Plumbing: record, faults, gateway and JWT checks, then the route's handler

    def _route(
        self, handler: Handler, *, auth: Auth = "required"
    ) -> Callable[[Request], Awaitable[Response]]:
        """``auth``: "required" (the route's schema wants an Authorization header, and the
        key must verify), "optional" (the download route: no key, or one that does not
        verify, is served as to no one) or "none" (signed URLs, and no gateway check)."""

        async def endpoint(request: Request) -> Response:
            body = await request.body()
            seen = Seen(
                method=request.method,
                path=request.url.path.removeprefix("/storage/v1"),
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                peer=(request.client.host, request.client.port) if request.client else None,
            )
            with self._lock:
                self.requests.append(seen)
                fault = self._faults.popleft() if self._faults else None
            if fault is not None:
                if fault.kind == "delay":
                    # Storage aborts a request whose client went away: a write that timed out
                    # on the client's side must not land later, in another test.
                    ends = time.monotonic() + fault.seconds
                    while time.monotonic() < ends:
                        if await request.is_disconnected():
                            return Response(status_code=499)
                        await asyncio.sleep(min(0.1, max(0.0, ends - time.monotonic())))
                elif fault.kind == "stall":
                    # The body was read already (a gateway buffers it): carry on regardless.
                    await asyncio.sleep(fault.seconds)
                elif fault.kind == "drop":
                    return _Dropped()
                elif fault.kind == "storage":
                    return storage_error(fault.status, fault.code, fault.message, fault.error)
                else:
                    return json_response(
                        {"message": "upstream unavailable (a test fault)"}, fault.status
                    )
            role: str | None = None
            if auth != "none":
                denied = self._gateway(seen)
                if denied is not None:
                    return denied
                role_or_error = self._verify_bearer(seen, required=auth == "required")
                if isinstance(role_or_error, Response):
                    return role_or_error
                role = role_or_error
            request.state.seen = seen
            return await handler(request, role)

        return endpoint

    def _gateway(self, seen: Seen) -> Response | None:
        if self.gateway == "plain":
            return None
        key = seen.headers.get("apikey") or seen.query.get("apikey")
        if not key:
            return json_response(
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
                401,
            )
        if key not in (self.service_key, self.anon_key):
            return json_response(
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
                401,
            )
        return None

    def _verify_bearer(self, seen: Seen, *, required: bool) -> str | Response | None:
        """The key's role; None for no verified key where that is allowed. The schema check
        (a missing header) comes before the key check, as fastify validates before hooks."""
        header = seen.headers.get("authorization")
        if header is None:
            if required:
                return validation_error("headers must have required property 'authorization'")
            return None
        token = re.sub(r"^Bearer\s+", "", header, flags=re.I)
        try:
            claims = jwt.decode(
                token, self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError as exc:
            if not required:
                return None
            return storage_error(403, "AccessDenied", str(exc) or "invalid JWT", "Unauthorized")
        return str(claims.get("role", "anon"))

    async def _gateway_no_route(self, request: Request) -> Response:
        return json_response({"message": "no Route matched with those values"}, 404)

    async def no_route(self, request: Request, role: str | None) -> Response:
        body = {
            "statusCode": 404,
            "error": "Not Found",
            "message": f"Route {request.method}:{request.url.path} not found",
        }
        return json_response(body, 404)

    def _visible_bucket(self, bucket_id: str, role: str | None) -> FakeBucket | None:
        bucket = self.buckets.get(bucket_id)
        if bucket is None or (role != "service_role" and not bucket.public):
            return None  # row-level security hides private buckets from other roles
        return bucket

    # Buckets

    async def list_buckets(self, request: Request, role: str | None) -> Response:
        visible = [b.as_json() for b in self.buckets.values() if self._visible_bucket(b.id, role)]
        return json_response(visible)

    async def get_bucket(self, request: Request, role: str | None) -> Response:
        bucket = self._visible_bucket(request.path_params["bucket"], role)
        return json_response(bucket.as_json()) if bucket else _no_such_bucket()

    # Objects

    async def upload(self, request: Request, role: str | None) -> Response:
        bucket_id, name = request.path_params["bucket"], request.path_params["name"]
        seen: Seen = request.state.seen
        if not name or not _VALID_NAME.fullmatch(name):
            return storage_error(400, "InvalidKey", f"Invalid key: {name}")
        bucket = self.buckets.get(bucket_id)
        if bucket is None:
            return _no_such_bucket()
        if role != "service_role":
            return storage_error(
                403, "AccessDenied", "new row violates row-level security policy", "Unauthorized"
            )
        upsert = request.method == "PUT" or seen.headers.get("x-upsert") == "true"
        with self._lock:
            exists = (bucket_id, name) in self.objects
        if exists and not upsert:
            return storage_error(
                409, "KeyAlreadyExists", "The resource already exists", "Duplicate"
            )
        content_type = seen.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
            if upload is None:
                return storage_error(400, "InvalidRequest", "No content provided")
            data = await upload.read()
            seen.part = UploadedPart(upload.filename, upload.content_type, data)
            seen.fields = {k: v for k, v in form.items() if isinstance(v, str)}
            mime = seen.fields.get("contentType") or upload.content_type or ""
            cache_seconds = seen.fields.get("cacheControl")
            cache_control = f"max-age={cache_seconds}" if cache_seconds else "no-cache"
            await form.close()
        else:
            data = seen.body
            mime = content_type or "application/octet-stream"
            cache_control = seen.headers.get("cache-control", "no-cache")
        if bucket.allowed_mime_types and not _mime_allowed(mime, bucket.allowed_mime_types):
            return storage_error(
                415, "InvalidMimeType", f"mime type {mime} is not supported", "invalid_mime_type"
            )
        limit = self.global_file_size_limit
        if bucket.file_size_limit is not None:
            limit = min(limit, bucket.file_size_limit)
        if len(data) > limit:
            return storage_error(
                413,
                "EntityTooLarge",
                "The object exceeded the maximum allowed size",
                "Payload too large",
            )
        now = self.now()
        at = _now_iso(now)
        with self._lock:
            previous = self.objects.get((bucket_id, name))
            stored = StoredObject(
                data=data,
                content_type=mime,
                cache_control=cache_control,
                id=previous.id if previous else str(uuid.uuid4()),
                created_at=previous.created_at if previous else at,
                updated_at=at,
                updated_at_s=now,
            )
            self.objects[(bucket_id, name)] = stored
        return json_response({"Id": stored.id, "Key": f"{bucket_id}/{name}"})

    async def download(self, request: Request, role: str | None) -> Response:
        """getObject.ts: the bucket is looked up as the superuser; without a verified key only
        a public bucket serves (NoSuchBucket otherwise); with one, row-level security decides
        which objects exist (NoSuchKey for one it hides)."""
        bucket_id, name = request.path_params["bucket"], request.path_params["name"]
        bucket = self.buckets.get(bucket_id)
        if bucket is None or (role is None and not bucket.public):
            return _no_such_bucket()
        if role != "service_role" and not bucket.public:
            return _no_such_key()
        return self._serve(bucket_id, name, download=request.query_params.get("download"))

    def _serve(
        self, bucket_id: str, name: str, *, download: str | None, expires: float | None = None
    ) -> Response:
        """renderer.ts: a signed URL's answer says when it expires (``Expires``) instead of
        the object's ``Cache-Control``; ``download`` asks for an attachment."""
        stored = self.object(bucket_id, name)
        if stored is None:
            return _no_such_key()
        headers = {"etag": stored.etag, "last-modified": _http_date(stored.updated_at_s)}
        if expires is not None:
            headers["expires"] = _http_date(expires)
        else:
            headers["cache-control"] = stored.cache_control
        if download is not None:
            encoded = quote(download, safe="")
            headers["content-disposition"] = (
                f"attachment; filename={encoded}; filename*=UTF-8''{encoded}"
                if download
                else "attachment;"
            )
        return Response(stored.data, media_type=stored.content_type, headers=headers)

    async def delete_objects(self, request: Request, role: str | None) -> Response:
        seen: Seen = request.state.seen
        try:
            body = seen.json()
        except orjson.JSONDecodeError:
            return validation_error("body must be object")
        prefixes = body.get("prefixes") if isinstance(body, dict) else None
        if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
            return validation_error("body must have required property 'prefixes'")
        if not prefixes:
            return validation_error("body/prefixes must NOT have fewer than 1 items")
        if len(prefixes) > MAX_OBJECTS_PER_REQUEST:
            return storage_error(
                400,
                "InvalidRequest",
                f"Bulk object requests are limited to {MAX_OBJECTS_PER_REQUEST} objects per"
                " request.",
            )
        bucket_id = request.path_params["bucket"]
        removed = []
        if role == "service_role":
            with self._lock:
                for name in prefixes:
                    stored = self.objects.pop((bucket_id, name), None)
                    if stored is not None:
                        removed.append(_object_json(bucket_id, name, stored))
        return json_response(removed)

    async def sign(self, request: Request, role: str | None) -> Response:
        bucket_id, name = request.path_params["bucket"], request.path_params["name"]
        seen: Seen = request.state.seen
        try:
            body = seen.json()
        except orjson.JSONDecodeError:
            return validation_error("body must be object")
        if not isinstance(body, dict):
            return validation_error("body must be object")
        expires_in = self._expires_in(body)
        if isinstance(expires_in, Response):
            return expires_in
        if self._visible_bucket(bucket_id, role) is None or self.object(bucket_id, name) is None:
            return _no_such_key()
        return json_response({"signedURL": self._signed_path(bucket_id, name, expires_in)})

    async def sign_many(self, request: Request, role: str | None) -> Response:
        bucket_id = request.path_params["bucket"]
        seen: Seen = request.state.seen
        try:
            body = seen.json()
        except orjson.JSONDecodeError:
            return validation_error("body must be object")
        if not isinstance(body, dict):
            return validation_error("body must be object")
        expires_in = self._expires_in(body)
        if isinstance(expires_in, Response):
            return expires_in
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return validation_error("body must have required property 'paths'")
        if not paths:
            return validation_error("body/paths must NOT have fewer than 1 items")
        if len(paths) > MAX_OBJECTS_PER_REQUEST:
            return validation_error(
                f"body/paths must NOT have more than {MAX_OBJECTS_PER_REQUEST} items"
            )
        visible = self._visible_bucket(bucket_id, role) is not None
        items = []
        for name in paths:
            if visible and self.object(bucket_id, name) is not None:
                url = self._signed_path(bucket_id, name, expires_in)
                items.append({"error": None, "path": name, "signedURL": url})
            else:
                error = "Either the object does not exist or you do not have access to it"
                items.append({"error": error, "path": name, "signedURL": None})
        return json_response(items)

    def _expires_in(self, body: dict[str, Any]) -> int | Response:
        raw = body.get("expiresIn")
        if raw is None:
            return validation_error("body must have required property 'expiresIn'")
        try:  # fastify coerces "60" to 60, as storage3 sends it
            expires_in = int(raw)
        except (TypeError, ValueError):
            return validation_error("body/expiresIn must be integer")
        if expires_in < 1:
            return validation_error("body/expiresIn must be >= 1")
        return expires_in

    def _signed_path(self, bucket_id: str, name: str, expires_in: int) -> str:
        now = int(self.now())
        url = f"{bucket_id}/{name}"
        claims = {"url": url, "iat": now, "exp": now + expires_in}
        token = jwt.encode(claims, self.jwt_secret, algorithm="HS256")
        return f"/object/sign/{quote(url)}?token={token}"

    async def signed_download(self, request: Request, role: str | None) -> Response:
        bucket_id, name = request.path_params["bucket"], request.path_params["name"]
        token = request.query_params.get("token")
        if not token:
            return validation_error("querystring must have required property 'token'")
        try:
            claims = jwt.decode(
                token, self.jwt_secret, algorithms=["HS256"], options={"verify_exp": False}
            )
        except jwt.PyJWTError as exc:
            return storage_error(400, "InvalidJWT", str(exc) or "Invalid JWT")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.now():
            return storage_error(400, "InvalidJWT", "jwt expired")
        if claims.get("url") != f"{bucket_id}/{name}":
            return storage_error(400, "InvalidSignature", "Invalid signature")
        return self._serve(
            bucket_id,
            name,
            download=request.query_params.get("download"),
            expires=float(claims["exp"]),
        )


def _object_json(bucket_id: str, name: str, stored: StoredObject) -> dict[str, Any]:
    return {
        "name": name,
        "bucket_id": bucket_id,
        "owner": "",
        "id": stored.id,
        "updated_at": stored.updated_at,
        "created_at": stored.created_at,
        "last_accessed_at": stored.updated_at,
        "metadata": {
            "eTag": stored.etag,
            "size": len(stored.data),
            "mimetype": stored.content_type,
            "cacheControl": stored.cache_control,
        },
    }


def _mime_allowed(mime: str, allowed: list[str]) -> bool:
    """Storage's validateMimeType: ``type/sub`` matches ``type/sub`` or ``type/*``."""
    kind, _, sub = mime.partition("/")
    if not sub:
        return False
    sub = sub.split(";")[0].strip()
    for pattern in allowed:
        p_kind, _, p_sub = pattern.partition("/")
        if p_kind == kind and p_sub in (sub, "*"):
            return True
    return False


@contextmanager
def serve_fake_supabase_storage(
    buckets: list[FakeBucket] | None = None, **options: Any
) -> Iterator[FakeSupabaseStorage]:
    """Run a FakeSupabaseStorage (under ``/storage/v1``) for the duration of the block."""
    fake = FakeSupabaseStorage(buckets, **options)
    with serve_app(fake.app) as running:
        fake.url = running.url
        yield fake
