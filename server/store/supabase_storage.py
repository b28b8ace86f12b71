"""Supabase Storage as a ``BlobStore``, through the ``supabase`` package's storage client.

A blob key's first segment is the bucket, the rest the object's name in it:
``screenshots/<interview id>/000042.jpg`` is ``<interview id>/000042.jpg`` in bucket
``screenshots``. The buckets are declared by the migrations (and ``supabase/config.toml``);
``SupabaseBlobStore.open`` checks at start-up that they exist, are private and accept what the
server stores, so a misconfigured project stops the server with a message that says what to fix.

One client for the life of the server, authenticated with the service key only: it never signs
a user in (a signed-in supabase client sends the user's token instead of the key), and its HTTP
client is ours, so timeouts and connection limits are set here and ``close`` closes it.

Writes are upserts (``x-upsert: true``). Keys are deterministic (one résumé per application,
one screenshot per interview offset), so writing a key again is the same write retried: after a
timeout whose answer was lost, or after a crash before the event was committed. It must succeed,
not fail with 409 Duplicate.

Every operation has a deadline across its retries: ``within_s`` from the caller, else the
store's ``deadline_s`` (``OPENHIRE_STORAGE_DEADLINE``, a few seconds, sized for an API request
so that a client sees the 503 before its own timeout). Past it the operation is abandoned and
raises ``BlobStoreUnavailable``; an abandoned upload may still land later (a gateway may finish
forwarding it), which the caller must allow for (``server.store.blob_sweeper``).

Storage answers most errors with HTTP 400 and the real status and code in the body
(``{"statusCode": "404", "code": "NoSuchKey", "error": "not_found", "message": "Object not
found"}``), so failures are classified on both. Transient ones (connection errors, timeouts,
408, 423, 429, 5xx) are retried with exponential backoff and jitter, then raise
``BlobStoreUnavailable`` (503 to a client); a missing object raises ``NotFound``; a refused
service key (a gateway's 401, Storage's ``AccessDenied``) raises ``BlobStoreKeyRejected`` and
logs ``blob_store.key_rejected``; anything else ``BlobStoreFailed`` at once.

A download goes to Storage's public-or-authenticated route, which treats a key it cannot verify
as no key at all and answers ``NoSuchBucket`` for a private bucket. The buckets were checked at
start-up, so on that answer the store asks for the bucket with the same key on a route that
needs a valid one, and tells a rejected key (rotated since start-up) from a missing bucket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog
from storage3 import AsyncStorageClient
from storage3.exceptions import StorageApiError
from storage3.types import BaseBucket, CreateSignedUrlResponse, FileOptions
from storage3.utils import StorageException

from server.config import Settings
from server.errors import (
    BlobStoreFailed,
    BlobStoreKeyRejected,
    BlobStoreUnavailable,
    ConfigurationError,
    NotFound,
    OpenHireError,
)
from server.store.blobs import BlobStore, check_key
from supabase import AsyncClientOptions, AsyncSupabaseException, acreate_client

log = structlog.get_logger(__name__)

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({408, 423, 429})
# Names signed per request: a long interview has hundreds of screenshots to review.
_SIGN_BATCH = 200
_UNAVAILABLE_MESSAGE = "file storage is unavailable at the moment; try again shortly"
_RETRY_AFTER = {"Retry-After": "5"}


# The largest recording segment the server stores (server/media/recorder.py): Storage's global
# limit; a 10 s segment of 720p VP8 is about 2 MiB.
MAX_RECORDING_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BucketNeed:
    """What the server stores in a bucket: the content types it sends and the largest blob."""

    name: str
    content_types: tuple[str, ...]
    max_bytes: int


def required_buckets(settings: Settings) -> tuple[BucketNeed, ...]:
    return (
        BucketNeed("resumes", ("application/pdf",), settings.max_resume_bytes),
        BucketNeed("screenshots", ("image/jpeg", "image/png"), settings.max_screenshot_bytes),
        *(
            (
                BucketNeed(
                    "recordings", ("audio/webm", "video/webm", "audio/wav"), MAX_RECORDING_BYTES
                ),
            )
            if settings.webrtc
            else ()
        ),
    )


def split_key(key: str) -> tuple[str, str]:
    """``bucket/name/in/bucket`` -> (bucket, name); the key is checked first."""
    bucket, _, name = check_key(key).partition("/")
    return bucket, name


class _Transient(OpenHireError):
    """One failed attempt that another attempt may fix."""


class _NoSuchBucket(OpenHireError):
    """Storage answered NoSuchBucket: a missing bucket, or a key it did not accept."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class SupabaseBlobStore(BlobStore):
    def __init__(
        self,
        storage: AsyncStorageClient,
        http: httpx.AsyncClient,
        *,
        url: str,
        attempts: int = 3,
        backoff_s: float = 0.2,
        deadline_s: float = 5.0,
    ) -> None:
        if not deadline_s > 0:
            raise ValueError(f"the deadline must be more than 0 s, got {deadline_s}")
        self._storage = storage
        self._http = http
        self.url = url
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s

    @classmethod
    async def create(
        cls,
        url: str,
        key: str,
        *,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
        deadline_s: float = 5.0,
        max_connections: int = 32,
    ) -> SupabaseBlobStore:
        """The store and its one client, without touching the network."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                "SUPABASE_URL must be the project's URL, like https://<project>.supabase.co,"
                f" got {url!r}"
            )
        http = httpx.AsyncClient(
            # Per operation (connect, each read, each write): one stalled step fails its
            # attempt. The whole call, retries included, is bounded by its deadline (_call).
            # Waiting for a free connection is bounded separately, since a batch of
            # screenshots queues for the pool.
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0), pool=60.0),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            http2=True,
        )
        try:
            client = await acreate_client(
                url,
                key,
                options=AsyncClientOptions(
                    httpx_client=http, auto_refresh_token=False, persist_session=False
                ),
            )
        except AsyncSupabaseException as exc:
            await http.aclose()
            raise ConfigurationError(
                f"SUPABASE_URL or the key is not usable: {exc.message}"
            ) from None
        except BaseException:
            await http.aclose()
            raise
        # Held here, so nothing that happens to the supabase client (an auth event resets
        # its storage client) changes the headers this store sends.
        return cls(
            client.storage,
            http,
            url=url,
            attempts=attempts,
            backoff_s=backoff_s,
            deadline_s=deadline_s,
        )

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        check_timeout_s: float = 5.0,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
        deadline_s: float | None = None,
    ) -> SupabaseBlobStore:
        """The store for ``settings``, after checking the project: fails fast with a
        ConfigurationError that says what is wrong, within ``check_timeout_s``."""
        url = (settings.supabase_url or "").strip()
        key = (settings.supabase_service_role_key or "").strip()
        if not key:
            raise ConfigurationError(
                "SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY is not: the server needs the"
                " project's service_role key (or a secret key, sb_secret_...) to store résumés"
                " and screenshots in Supabase Storage"
            )
        check_service_key(key)
        store = await cls.create(
            url,
            key,
            timeout_s=timeout_s,
            attempts=attempts,
            backoff_s=backoff_s,
            deadline_s=settings.storage_deadline_s if deadline_s is None else deadline_s,
        )
        try:
            await store.check(required_buckets(settings), within_s=check_timeout_s)
        except BaseException:
            await store.close()
            raise
        return store

    # Start-up check

    async def check(self, needs: Sequence[BucketNeed], *, within_s: float = 5.0) -> None:
        """Raise ConfigurationError unless Storage answers with this key and every bucket in
        ``needs`` exists, is private and accepts the server's blobs."""
        where = f"cannot reach Supabase Storage at {self.url}"
        try:
            buckets = await self._call(
                "list the buckets", "", self._storage.list_buckets, within_s=within_s
            )
        except BlobStoreKeyRejected as exc:
            raise ConfigurationError(_explain_check_failure(self.url, exc)) from None
        except BlobStoreUnavailable as exc:
            raise ConfigurationError(f"{where}: {_cause(exc)}") from None
        except (BlobStoreFailed, NotFound) as exc:
            raise ConfigurationError(_explain_check_failure(self.url, exc)) from None
        by_id = {bucket.id: bucket for bucket in buckets}
        for need in needs:
            bucket = by_id.get(need.name)
            if bucket is None:
                raise ConfigurationError(
                    f"bucket {need.name!r} does not exist in this project: push the migrations"
                    " (openhire migrate or supabase db push)"
                )
            problem = _bucket_problem(bucket, need)
            if problem:
                raise ConfigurationError(
                    f"bucket {need.name!r} {problem}: fix it in the dashboard or push the"
                    " migrations again (openhire migrate or supabase db push)"
                )
        log.info("blob_store.ready", store="supabase", url=self.url, buckets=len(needs))

    # BlobStore

    async def put(
        self, key: str, data: bytes, content_type: str, *, within_s: float | None = None
    ) -> None:
        bucket, name = split_key(key)
        options: FileOptions = {
            "content-type": content_type,
            "upsert": "true",
            "cache-control": "3600",
        }

        async def upload() -> None:
            await self._storage.from_(bucket).upload(name, data, options)

        await self._call("store", key, upload, within_s=within_s)

    async def get(self, key: str, *, within_s: float | None = None) -> bytes:
        bucket, name = split_key(key)
        return await self._call(
            "read", key, lambda: self._storage.from_(bucket).download(name), within_s=within_s
        )

    async def delete(self, key: str, *, within_s: float | None = None) -> None:
        bucket, name = split_key(key)

        async def remove() -> None:
            # Removing an object that is not there succeeds (with an empty list): idempotent.
            await self._storage.from_(bucket).remove([name])

        await self._call("delete", key, remove, within_s=within_s)

    async def signed_url(self, key: str, expires_in: int, *, within_s: float | None = None) -> str:
        bucket, name = split_key(key)
        if expires_in < 1:
            raise ValueError(f"a signed URL must live at least 1 s, got {expires_in}")

        async def sign() -> str:
            signed = await self._storage.from_(bucket).create_signed_url(name, expires_in)
            url = signed["signedURL"]
            if not url:
                raise BlobStoreFailed(f"Supabase Storage signed no URL for {key}")
            return url

        return await self._call("sign a URL for", key, sign, within_s=within_s)

    async def signed_urls(
        self, keys: Sequence[str], expires_in: int, *, within_s: float | None = None
    ) -> list[str | None]:
        """One request per bucket (per ``_SIGN_BATCH`` names), all at once, each within the
        same deadline; None for an object that does not exist."""
        if expires_in < 1:
            raise ValueError(f"a signed URL must live at least 1 s, got {expires_in}")
        wanted = [split_key(key) for key in keys]
        by_bucket: dict[str, list[str]] = {}
        for bucket, name in wanted:
            names = by_bucket.setdefault(bucket, [])
            if name not in names:
                names.append(name)
        batches = [
            (bucket, names[i : i + _SIGN_BATCH])
            for bucket, names in by_bucket.items()
            for i in range(0, len(names), _SIGN_BATCH)
        ]
        urls: dict[tuple[str, str], str | None] = {}
        budget = self.deadline_s if within_s is None else within_s

        async def sign(bucket: str, names: list[str]) -> None:
            async def request() -> list[CreateSignedUrlResponse]:
                return await self._storage.from_(bucket).create_signed_urls(names, expires_in)

            signed = await self._call("sign URLs in", f"{bucket}/", request, within_s=budget)
            for item in signed:
                urls[(bucket, item["path"])] = item["signedURL"]

        try:
            async with asyncio.TaskGroup() as group:
                for bucket, names in batches:
                    group.create_task(sign(bucket, names))
        except BaseExceptionGroup as failed:
            # The first failure, as one call would raise it (its siblings were cancelled).
            raise failed.exceptions[0]  # noqa: B904 - its own cause is kept
        return [urls.get(pair) for pair in wanted]

    async def close(self) -> None:
        await self._http.aclose()

    # Retries and errors

    async def _call(
        self,
        what: str,
        key: str,
        operation: Callable[[], Awaitable[T]],
        *,
        within_s: float | None = None,
    ) -> T:
        """``operation``, retried while it fails transiently, all within the deadline."""
        budget = self.deadline_s if within_s is None else within_s
        if not budget > 0:
            raise ValueError(f"the deadline must be more than 0 s, got {budget}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        attempt, last = 0, ""
        try:
            async with asyncio.timeout_at(deadline):
                delay = self.backoff_s
                while True:
                    attempt += 1
                    try:
                        return await self._attempt(what, key, operation)
                    except _Transient as exc:
                        last = str(exc)
                        pause = delay * random.uniform(0.75, 1.25)
                        # No attempt left, or none that could finish in time: say so now.
                        if attempt == self.attempts or loop.time() + pause >= deadline:
                            log.error(
                                "blob_store.unavailable",
                                action=what,
                                key=key,
                                attempts=attempt,
                                error=last,
                            )
                            raise BlobStoreUnavailable(
                                _UNAVAILABLE_MESSAGE, headers=dict(_RETRY_AFTER)
                            ) from exc
                        log.warning(
                            "blob_store.retrying", action=what, key=key, attempt=attempt, error=last
                        )
                        await asyncio.sleep(pause)
                        delay *= 2
                    except _NoSuchBucket as exc:
                        await self._explain_no_such_bucket(what, key, exc.failure)
        except TimeoutError:
            reason = f"no answer within {budget:g} s"
            log.error(
                "blob_store.unavailable",
                action=what,
                key=key,
                attempts=attempt,
                error=f"{reason} (before that: {last})" if last else reason,
            )
            raise BlobStoreUnavailable(_UNAVAILABLE_MESSAGE, headers=dict(_RETRY_AFTER)) from (
                TimeoutError(reason)
            )

    async def _attempt(self, what: str, key: str, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except httpx.TransportError as exc:  # connection refused or dropped, timeouts
            raise _Transient(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        except StorageApiError as exc:
            failure = _Failure.of(exc)
            if failure.transient:
                raise _Transient(str(failure)) from exc
            if failure.missing_object:
                raise NotFound("no such file") from None
            if failure.rejected_key:
                log.error(
                    "blob_store.key_rejected",
                    action=what,
                    key=key,
                    error=str(failure),
                    hint="the service key was rejected: set SUPABASE_SERVICE_ROLE_KEY to the"
                    " project's current secret (or service_role) key and restart",
                )
                raise BlobStoreKeyRejected(
                    _UNAVAILABLE_MESSAGE, headers=dict(_RETRY_AFTER)
                ) from exc
            if failure.missing_bucket:
                raise _NoSuchBucket(failure) from exc
            raise BlobStoreFailed(
                f"Supabase Storage refused to {what} {key or 'anything'}: {failure}"
            ) from exc
        except (StorageException, ValueError, TypeError, KeyError) as exc:
            # An answer that is not Storage's (a proxy's page, a changed shape).
            raise BlobStoreFailed(
                f"Supabase Storage gave an unexpected answer when asked to {what}"
                f" {key or 'anything'}: {exc!r}"
            ) from exc

    async def _explain_no_such_bucket(self, what: str, key: str, failure: _Failure) -> NoReturn:
        """Storage said NoSuchBucket for a bucket the start-up check found. Its public route
        says so when it could not verify the key (it then serves as to no one), so ask for
        the bucket on a route that requires a valid key: a rejected key raises
        BlobStoreKeyRejected from here; a bucket that is really gone, BlobStoreFailed."""
        bucket = key.partition("/")[0]
        try:
            await self._attempt(
                "check the bucket of", key, lambda: self._storage.get_bucket(bucket)
            )
        except _Transient as exc:
            raise BlobStoreFailed(
                f"Supabase Storage refused to {what} {key}: {failure}; asking for bucket"
                f" {bucket!r} to tell a rejected key from a missing bucket failed: {exc}"
            ) from None
        except _NoSuchBucket:
            raise BlobStoreFailed(
                f"Supabase Storage refused to {what} {key}: bucket {bucket!r} does not exist"
                " (it did at start-up): push the migrations (openhire migrate or supabase db"
                " push)"
            ) from None
        raise BlobStoreFailed(f"Supabase Storage refused to {what} {key}: {failure}")


def check_service_key(key: str) -> None:
    """Refuse, before any request, a key that cannot be the service key: the anon or
    publishable key would be let through and then see no private bucket."""
    if key.startswith("sb_publishable_"):
        raise ConfigurationError(
            "SUPABASE_SERVICE_ROLE_KEY is a publishable key (sb_publishable_...): the server"
            " needs a secret key (sb_secret_...) or the legacy service_role key"
        )
    parts = key.split(".")
    if len(parts) != 3:
        return  # an opaque secret key: only Supabase can tell
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return
    role = claims.get("role") if isinstance(claims, dict) else None
    if role is not None and role != "service_role":
        raise ConfigurationError(
            f"SUPABASE_SERVICE_ROLE_KEY is the project's {role} key: the server needs the"
            " service_role key (Project Settings, API keys), which only the server may hold"
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed request's answer, read from the HTTP response itself: storage3 keeps only
    part of it, and none when the body is not Storage's (a gateway's 401, a proxy's 503)."""

    http_status: int | None
    status: int | None  # Storage's statusCode when the body has Storage's shape
    code: str  # Storage's error code (NoSuchKey, AccessDenied, ...); "" from older servers
    error: str  # Storage's legacy error name (not_found, Duplicate, ...)
    message: str
    from_storage: bool  # the body had Storage's error shape

    @classmethod
    def of(cls, exc: StorageApiError) -> _Failure:
        response = _response_of(exc)
        if response is None:
            return cls(None, _int(exc.status), "", str(exc.code), str(exc.message), True)
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "statusCode" in body and "message" in body:
            return cls(
                response.status_code,
                _int(body["statusCode"]),
                str(body.get("code") or ""),
                str(body.get("error") or ""),
                str(body["message"]),
                True,
            )
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
        else:  # a page, not an API's answer: its status says enough
            message = response.reason_phrase
        return cls(response.status_code, None, "", "", message, False)

    @property
    def statuses(self) -> set[int]:
        return {s for s in (self.http_status, self.status) if s is not None}

    @property
    def transient(self) -> bool:
        return any(s in _TRANSIENT_STATUS or s >= 500 for s in self.statuses)

    def _is(self, code: str, *legacy_errors: str) -> bool:
        """Storage's ``code`` is ``code``; from a server without codes, ``error`` says it."""
        if self.code:
            return self.code == code
        return self.error in (code, *legacy_errors)

    @property
    def missing_object(self) -> bool:
        return self.from_storage and self.status == 404 and self._is("NoSuchKey", "not_found")

    @property
    def missing_bucket(self) -> bool:
        return (
            self.from_storage
            and self.status == 404
            and self._is("NoSuchBucket", "Bucket not found")
        )

    @property
    def rejected_key(self) -> bool:
        """The gateway refused the key (401), or Storage did not verify it (AccessDenied:
        the service role passes every policy, so nothing else denies it)."""
        if self.http_status == 401:
            return True
        return self.from_storage and self.status in (401, 403)

    def __str__(self) -> str:
        where = f"HTTP {self.http_status}" if self.http_status is not None else "error"
        if self.from_storage:
            name = self.code or self.error
            if self.code and self.error and self.error != self.code:
                name = f"{self.code} ({self.error})"
            return f"{where}, statusCode {self.status} {name}: {self.message}"
        return f"{where}: {self.message}"


def _response_of(exc: BaseException) -> httpx.Response | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, httpx.HTTPStatusError):
            return current.response
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__
    return str(cause) if cause is not None else str(exc)


def _explain_check_failure(url: str, exc: Exception) -> str:
    cause = exc.__cause__
    if isinstance(cause, StorageApiError):
        failure = _Failure.of(cause)
        if failure.rejected_key:
            return (
                f"Supabase rejected SUPABASE_SERVICE_ROLE_KEY ({failure}): use the service_role"
                f" key (or a secret key, sb_secret_...) of the project at {url}"
            )
        if failure.from_storage:
            return f"Supabase Storage at {url} refused to list the buckets: {failure}"
        answer = str(failure)
    else:
        answer = "an answer that is not Supabase Storage's"
    return (
        f"cannot reach Supabase Storage at {url}: {url.rstrip('/')}/storage/v1/bucket gave"
        f" {answer}; SUPABASE_URL must be the project's URL, like https://<project>.supabase.co"
    )


def _bucket_problem(bucket: BaseBucket, need: BucketNeed) -> str | None:
    if bucket.public:
        return "is public: anyone with a link could read what the server stores in it"
    allowed = bucket.allowed_mime_types
    if allowed:
        refused = [t for t in need.content_types if not _mime_allowed(t, allowed)]
        if refused:
            return f"does not accept {', '.join(refused)} (it allows {', '.join(allowed)})"
    limit = bucket.file_size_limit
    if limit and limit < need.max_bytes:
        return f"accepts files of at most {limit} bytes, but the server may store {need.max_bytes}"
    return None


def _mime_allowed(content_type: str, allowed: Sequence[str]) -> bool:
    """As Storage decides: ``type/subtype`` matches itself or ``type/*``."""
    kind, _, sub = content_type.partition("/")
    for pattern in allowed:
        p_kind, _, p_sub = pattern.partition("/")
        if p_kind == kind and p_sub in (sub, "*"):
            return True
    return False
