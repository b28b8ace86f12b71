"""The blob-store contract, run against every store, then what only the Supabase store does.

The local directory store's signed URLs are served by the server's own ``/blobs/{key}`` route:
the tests serve that very route (``server.http.interviews``) over a real socket with the store
under test, so a URL is fetched as a reviewer's browser fetches it. The Supabase store runs the
real ``supabase`` client against a stand-in of Supabase Storage's HTTP API
(``tests/fake_supabase_storage.py``) whose buckets come from ``supabase/config.toml``.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from server.config import Settings
from server.errors import (
    ApiError,
    BlobStoreError,
    BlobStoreFailed,
    BlobStoreKeyRejected,
    BlobStoreUnavailable,
    ConfigurationError,
    NotFound,
)
from server.http import interviews
from server.http.errors import EXCEPTION_HANDLERS
from server.store import blobs
from server.store.blobs import BlobStore, LocalBlobStore, open_blob_store
from server.store.supabase_storage import SupabaseBlobStore
from tests.conftest import free_port
from tests.fake_supabase_storage import (
    JSON_TYPE,
    FakeBucket,
    FakeSupabaseStorage,
    buckets_from_config,
    serve_fake_supabase_storage,
)
from tests.loopback import serve_app

KIB = 1024
MIB = 1024 * KIB


def jpeg(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def png(size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size - 9)


def screenshot_key(offset: int = 1, extension: str = "jpg", interview: uuid.UUID | None = None):
    return f"screenshots/{interview or uuid.uuid4()}/{offset:06d}.{extension}"


def resume_key(application: uuid.UUID | None = None) -> str:
    return f"resumes/{application or uuid.uuid4()}/resume.pdf"


@pytest.fixture(scope="module")
def project() -> Iterator[FakeSupabaseStorage]:
    with serve_fake_supabase_storage() as fake:
        yield fake


@pytest.fixture
def fake(project: FakeSupabaseStorage) -> FakeSupabaseStorage:
    project.reset()
    return project


def supabase_settings(fake: FakeSupabaseStorage, **changes: object) -> Settings:
    settings = Settings(supabase_url=fake.url, supabase_service_role_key=fake.service_key)
    return settings.replace(**changes) if changes else settings


async def open_supabase(fake: FakeSupabaseStorage, **options: float) -> SupabaseBlobStore:
    """The store, as the server opens it; ``options`` go to SupabaseBlobStore.open."""
    options.setdefault("backoff_s", 0.01)
    return await SupabaseBlobStore.open(supabase_settings(fake), **options)


@dataclass
class Subject:
    """A store under test, and how a reviewer reaches its signed URLs."""

    name: str
    store: BlobStore
    base_url: str
    pass_time: Callable[[str, float], Awaitable[None]]
    # Whether the store knows, when signing, that a blob is missing. Supabase Storage does
    # (it signs only existing objects); the local store signs any valid key, and the URL
    # then serves 404.
    knows_missing: bool

    async def fetch(self, url: str) -> httpx.Response:
        """GET a signed URL as a browser would: no apikey, no Authorization."""
        async with httpx.AsyncClient() as client:
            return await client.get(urljoin(self.base_url, url))


def blob_route_app(store: BlobStore) -> Starlette:
    """The server's own /blobs route, alone, with ``store`` as the server's blob store."""
    routes = [r for r in interviews.api.routes() if getattr(r, "path", "") == "/blobs/{key:path}"]
    assert len(routes) == 1
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    app.state.services = SimpleNamespace(blobs=store)
    return app


@pytest.fixture(params=["local", "supabase"])
async def subject(
    request: pytest.FixtureRequest, tmp_path: Path, project: FakeSupabaseStorage
) -> AsyncIterator[Subject]:
    project.reset()
    if request.param == "local":
        local = LocalBlobStore(tmp_path / "blobs")

        async def wait_past_expiry(url: str, seconds: float) -> None:
            expires = int(parse_qs(urlsplit(url).query)["expires"][0])
            await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)

        with serve_app(blob_route_app(local)) as running:
            yield Subject("local", local, running.url, wait_past_expiry, knows_missing=False)
        await local.close()
    else:
        store = await open_supabase(project)

        async def advance(url: str, seconds: float) -> None:
            project.advance_clock(seconds + 1)

        try:
            yield Subject("supabase", store, project.url, advance, knows_missing=True)
        finally:
            await store.close()


# The contract: every store


async def test_round_trip_keeps_every_byte(subject: Subject) -> None:
    screenshot, resume = screenshot_key(), resume_key()
    image, document = jpeg(300 * KIB), pdf(2 * MIB)
    await subject.store.put(screenshot, image, "image/jpeg")
    await subject.store.put(resume, document, "application/pdf")
    assert await subject.store.get(screenshot) == image
    assert await subject.store.get(resume) == document


async def test_several_blobs_at_once_are_each_stored_under_their_key(subject: Subject) -> None:
    """``put_many``: a batch's screenshots, of several interviews, in one call."""
    one, other = uuid.uuid4(), uuid.uuid4()
    blobs = [
        (screenshot_key(1, interview=one), jpeg(40 * KIB), "image/jpeg"),
        (screenshot_key(2, interview=one), jpeg(60 * KIB), "image/jpeg"),
        (screenshot_key(1, "png", interview=other), png(30 * KIB), "image/png"),
    ]
    await subject.store.put_many(blobs)
    for key, data, _ in blobs:
        assert await subject.store.get(key) == data
    await subject.store.put_many([])  # nothing to store: nothing done, no error


@pytest.mark.parametrize(
    ("extension", "content_type", "make"),
    [("jpg", "image/jpeg", jpeg), ("png", "image/png", png)],
)
async def test_signed_url_serves_the_blob_without_credentials(
    subject: Subject, extension: str, content_type: str, make: Callable[[int], bytes]
) -> None:
    key, data = screenshot_key(3, extension), make(20 * KIB)
    await subject.store.put(key, data, content_type)
    url = await subject.store.signed_url(key, 300)
    response = await subject.fetch(url)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == content_type


async def test_signed_url_of_a_resume_has_its_content_type(subject: Subject) -> None:
    key, data = resume_key(), pdf(50 * KIB)
    await subject.store.put(key, data, "application/pdf")
    response = await subject.fetch(await subject.store.signed_url(key, 60))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == data


async def test_writing_a_key_again_replaces_the_blob(subject: Subject) -> None:
    key = screenshot_key()
    await subject.store.put(key, jpeg(1000), "image/jpeg")
    second = jpeg(2000)
    await subject.store.put(key, second, "image/jpeg")
    assert await subject.store.get(key) == second


async def test_a_missing_blob_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFound):
        await subject.store.get(screenshot_key())


async def test_delete_removes_the_blob_and_is_idempotent(subject: Subject) -> None:
    key = resume_key()
    await subject.store.put(key, pdf(4000), "application/pdf")
    await subject.store.delete(key)
    with pytest.raises(NotFound):
        await subject.store.get(key)
    await subject.store.delete(key)
    await subject.store.delete(resume_key())  # never existed


async def test_deleting_one_blob_leaves_its_neighbours(subject: Subject) -> None:
    interview = uuid.uuid4()
    first, second = screenshot_key(1, interview=interview), screenshot_key(2, interview=interview)
    await subject.store.put(first, jpeg(1000), "image/jpeg")
    kept = jpeg(1000)
    await subject.store.put(second, kept, "image/jpeg")
    await subject.store.delete(first)
    assert await subject.store.get(second) == kept


INVALID_KEYS = [
    "",
    "resumes",
    "resumes/",
    "/resumes/x/resume.pdf",
    "resumes//resume.pdf",
    "resumes/../secrets/resume.pdf",
    "resumes/x/../../etc/passwd",
    "Resumes/x/resume.pdf",
    "resumes/x/résumé.pdf",
    "resumes/x/a b.pdf",
    "resumes/x/resume.pdf?download=1",
    "resumes/x/%2e%2e/resume.pdf",
]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_are_refused_before_anything_is_done(
    subject: Subject, project: FakeSupabaseStorage, key: str
) -> None:
    before = len(project.seen())
    with pytest.raises(ValueError, match="not a valid blob key"):
        await subject.store.put(key, b"%PDF-1.4 x", "application/pdf")
    with pytest.raises(ValueError, match="not a valid blob key"):
        await subject.store.get(key)
    with pytest.raises(ValueError, match="not a valid blob key"):
        await subject.store.delete(key)
    with pytest.raises(ValueError, match="not a valid blob key"):
        await subject.store.signed_url(key, 60)
    assert len(project.seen()) == before


async def test_an_expired_signed_url_serves_nothing(subject: Subject) -> None:
    key, data = screenshot_key(), jpeg(5000)
    await subject.store.put(key, data, "image/jpeg")
    url = await subject.store.signed_url(key, 1)
    await subject.pass_time(url, 1)
    response = await subject.fetch(url)
    assert response.status_code in (400, 403), response.text
    assert data not in response.content


async def test_a_signed_url_serves_only_its_own_blob(subject: Subject) -> None:
    interview = uuid.uuid4()
    mine, other = screenshot_key(1, interview=interview), screenshot_key(2, interview=interview)
    await subject.store.put(mine, jpeg(1000), "image/jpeg")
    secret = jpeg(1000)
    await subject.store.put(other, secret, "image/jpeg")
    url = await subject.store.signed_url(mine, 60)
    forged = url.replace(mine.split("/", 1)[1], other.split("/", 1)[1])
    assert forged != url
    response = await subject.fetch(forged)
    assert response.status_code in (400, 403), response.text
    assert secret not in response.content


async def test_no_signed_url_serves_a_missing_blob(subject: Subject) -> None:
    key = screenshot_key()
    if subject.knows_missing:
        with pytest.raises(NotFound):
            await subject.store.signed_url(key, 60)
        return
    url = await subject.store.signed_url(key, 60)
    response = await subject.fetch(url)
    assert response.status_code == 404


CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


async def test_signed_urls_for_many_blobs_keep_their_order(subject: Subject) -> None:
    interview = uuid.uuid4()
    blobs = {screenshot_key(n, interview=interview): jpeg(1000 + n) for n in range(1, 6)}
    blobs[resume_key()] = pdf(1000)
    for key, data in blobs.items():
        await subject.store.put(key, data, CONTENT_TYPES[key.rsplit(".", 1)[1]])
    keys = list(reversed(blobs))
    urls = await subject.store.signed_urls(keys, 60)
    assert len(urls) == len(keys)
    for key, url in zip(keys, urls, strict=True):
        assert url is not None
        response = await subject.fetch(url)
        assert response.status_code == 200
        assert response.content == blobs[key]


async def test_signed_urls_serve_nothing_for_a_missing_blob(subject: Subject) -> None:
    present, missing = screenshot_key(1), screenshot_key(2)
    await subject.store.put(present, jpeg(1000), "image/jpeg")
    first, second = await subject.store.signed_urls([present, missing], 60)
    assert first is not None and (await subject.fetch(first)).status_code == 200
    if subject.knows_missing:
        assert second is None
    else:  # a store that cannot tell: its URL must serve nothing
        assert second is not None
        assert (await subject.fetch(second)).status_code == 404


async def test_signed_urls_refuse_an_invalid_key_before_signing_any(
    subject: Subject, project: FakeSupabaseStorage
) -> None:
    before = len(project.seen())
    with pytest.raises(ValueError, match="not a valid blob key"):
        await subject.store.signed_urls([screenshot_key(), "screenshots/../x.jpg"], 60)
    assert len(project.seen()) == before


async def test_a_batch_of_screenshots_written_at_once(subject: Subject) -> None:
    interview = uuid.uuid4()
    blobs = {screenshot_key(n, interview=interview): jpeg(8 * KIB) for n in range(1, 41)}
    await asyncio.gather(*(subject.store.put(k, v, "image/jpeg") for k, v in blobs.items()))
    read = await asyncio.gather(*(subject.store.get(k) for k in blobs))
    assert read == list(blobs.values())


# Supabase Storage only: what goes over the wire


async def test_requests_carry_the_service_key_and_the_documented_shapes(
    fake: FakeSupabaseStorage,
) -> None:
    store = await open_supabase(fake)
    interview = uuid.uuid4()
    key = screenshot_key(7, "png", interview)
    name = f"{interview}/000007.png"
    data = png(3000)
    try:
        await store.put(key, data, "image/png")
        assert await store.get(key) == data
        url = await store.signed_url(key, 120)
        await store.delete(key)
    finally:
        await store.close()

    requests = fake.seen()
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/bucket"),  # the start-up check
        ("POST", f"/object/screenshots/{name}"),
        ("GET", f"/object/screenshots/{name}"),
        ("POST", f"/object/sign/screenshots/{name}"),
        ("DELETE", "/object/screenshots"),
    ]
    for r in requests:
        assert r.headers["apikey"] == fake.service_key
        assert r.headers["authorization"] == f"Bearer {fake.service_key}"
    upload = requests[1]
    assert upload.headers["x-upsert"] == "true"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.part is not None
    assert upload.part.filename == "000007.png"
    assert upload.part.content_type == "image/png"
    assert upload.part.data == data
    assert upload.fields == {"cacheControl": "3600"}
    assert int(requests[3].json()["expiresIn"]) == 120
    assert requests[4].json() == {"prefixes": [name]}
    assert url.startswith(f"{fake.url}/storage/v1/object/sign/screenshots/{name}?token=")


async def test_signed_urls_take_one_request_per_bucket_and_batch(
    fake: FakeSupabaseStorage,
) -> None:
    interview, application = uuid.uuid4(), uuid.uuid4()
    screenshots = [screenshot_key(n, interview=interview) for n in range(1, 451)]
    resume = resume_key(application)
    store = await open_supabase(fake)
    try:
        await store.put(screenshots[0], jpeg(1000), "image/jpeg")
        await store.put(resume, pdf(1000), "application/pdf")
        urls = await store.signed_urls([resume, *screenshots], 60)
    finally:
        await store.close()
    assert urls[0] is not None and urls[1] is not None
    assert urls[2:] == [None] * 449  # never stored
    signs = fake.seen("POST", "/object/sign/")
    assert sorted((r.path, len(r.json()["paths"])) for r in signs) == [
        ("/object/sign/resumes", 1),
        ("/object/sign/screenshots", 50),
        ("/object/sign/screenshots", 200),
        ("/object/sign/screenshots", 200),
    ]
    assert all(int(r.json()["expiresIn"]) == 60 for r in signs)


async def settled(fake: FakeSupabaseStorage, quiet_s: float = 0.2) -> None:
    """Wait until the fake has seen no new request for ``quiet_s``."""
    seen = -1
    while seen != len(fake.seen()):
        seen = len(fake.seen())
        await asyncio.sleep(quiet_s)


async def test_signed_urls_fail_as_one_call_would(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    try:
        fake.fail_next(20, 503)
        with pytest.raises(BlobStoreUnavailable):
            await store.signed_urls([resume_key(), screenshot_key()], 60)
        # The sibling batch was cancelled, but a request it had already written may still
        # reach the fake: let it land before planning the next fault, or it takes that fault.
        await settled(fake)
        fake.reset()
        fake.fail_next(1, 403)
        with pytest.raises(BlobStoreFailed, match="HTTP 403"):
            await store.signed_urls([resume_key()], 60)
    finally:
        await store.close()


async def test_a_signed_url_is_fetched_with_no_credentials(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    try:
        key = resume_key()
        await store.put(key, pdf(1000), "application/pdf")
        url = await store.signed_url(key, 60)
    finally:
        await store.close()
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    fetched = fake.seen("GET", "/object/sign/")[-1]
    assert "apikey" not in fetched.headers
    assert "authorization" not in fetched.headers


async def test_keys_are_laid_out_per_bucket_and_interview(fake: FakeSupabaseStorage) -> None:
    application, interview = uuid.uuid4(), uuid.uuid4()
    store = await open_supabase(fake)
    try:
        await store.put(resume_key(application), pdf(1000), "application/pdf")
        await store.put(screenshot_key(12, "jpg", interview), jpeg(1000), "image/jpeg")
        await store.put(screenshot_key(13, "png", interview), png(1000), "image/png")
    finally:
        await store.close()
    resume = fake.object("resumes", f"{application}/resume.pdf")
    assert resume is not None and resume.content_type == "application/pdf"
    first = fake.object("screenshots", f"{interview}/000012.jpg")
    assert first is not None and first.content_type == "image/jpeg"
    second = fake.object("screenshots", f"{interview}/000013.png")
    assert second is not None and second.content_type == "image/png"
    assert len(fake.objects) == 3


def test_the_fake_buckets_are_the_declared_ones() -> None:
    buckets, global_limit = buckets_from_config()
    by_id = {b.id: b for b in buckets}
    assert by_id["resumes"].allowed_mime_types == ["application/pdf"]
    assert by_id["resumes"].file_size_limit == 10 * MIB
    assert by_id["screenshots"].allowed_mime_types == ["image/jpeg", "image/png"]
    assert by_id["screenshots"].file_size_limit == 512 * KIB
    assert not by_id["resumes"].public and not by_id["screenshots"].public
    assert global_limit == 10 * MIB
    settings = Settings()
    assert by_id["resumes"].file_size_limit >= settings.max_resume_bytes
    assert by_id["screenshots"].file_size_limit >= settings.max_screenshot_bytes


async def test_a_blob_the_bucket_refuses_fails_at_once(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    try:
        with pytest.raises(BlobStoreFailed, match=r"statusCode 415 InvalidMimeType"):
            await store.put(screenshot_key(), b"GIF89a....", "image/gif")
        with pytest.raises(BlobStoreFailed, match=r"statusCode 413 EntityTooLarge .*exceeded"):
            await store.put(screenshot_key(), jpeg(512 * KIB + 1), "image/jpeg")
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 2  # neither was retried


# Retries


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(lambda f: f.fail_next(1, 503), id="gateway-503"),
        pytest.param(lambda f: f.fail_next(1, 502), id="gateway-502"),
        pytest.param(lambda f: f.fail_next(1, 429), id="gateway-429"),
        pytest.param(lambda f: f.fail_next_in_storage(1, 503), id="storage-503-in-a-400"),
        pytest.param(lambda f: f.fail_next_in_storage(1, 544), id="storage-544-in-a-400"),
        pytest.param(lambda f: f.fail_next_in_storage(1, 500), id="storage-500"),
        pytest.param(lambda f: f.drop_next(1), id="connection-dropped"),
        pytest.param(lambda f: f.delay_next(1, 1.5), id="timeout"),
    ],
)
async def test_a_transient_failure_is_retried(
    fake: FakeSupabaseStorage, plan: Callable[[FakeSupabaseStorage], None]
) -> None:
    store = await open_supabase(fake, timeout_s=0.5)
    key, data = screenshot_key(), jpeg(2000)
    try:
        plan(fake)
        await store.put(key, data, "image/jpeg")
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 2
    stored = fake.object("screenshots", key.split("/", 1)[1])
    assert stored is not None and stored.data == data


async def test_every_operation_is_retried(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    key, data = resume_key(), pdf(1000)
    try:
        await store.put(key, data, "application/pdf")
        fake.fail_next(1)
        assert await store.get(key) == data
        fake.drop_next(1)
        assert (await store.signed_url(key, 60)).startswith(fake.url)
        fake.fail_next_in_storage(1)
        await store.delete(key)
    finally:
        await store.close()
    methods = [r.method for r in fake.seen()][1:]  # after the start-up check
    assert methods == ["POST", "GET", "GET", "POST", "POST", "DELETE", "DELETE"]
    assert fake.object("resumes", key.split("/", 1)[1]) is None


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413])
async def test_a_client_error_is_not_retried(fake: FakeSupabaseStorage, status: int) -> None:
    store = await open_supabase(fake)
    try:
        fake.fail_next(1, status)
        with pytest.raises(BlobStoreFailed, match=f"HTTP {status}"):
            await store.put(screenshot_key(), jpeg(1000), "image/jpeg")
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 1


async def test_a_missing_object_is_not_retried(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    try:
        with pytest.raises(NotFound):
            await store.get(resume_key())
        with pytest.raises(NotFound):
            await store.signed_url(resume_key(), 60)
    finally:
        await store.close()
    assert len(fake.seen()) == 3  # the start-up check, then one request each


async def test_a_failure_that_persists_is_a_clear_error(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    try:
        fake.fail_next(10, 503)
        started = time.monotonic()
        with pytest.raises(BlobStoreUnavailable) as caught:
            await store.put(resume_key(), pdf(1000), "application/pdf")
        elapsed = time.monotonic() - started
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 3
    assert elapsed < 2
    error = caught.value
    assert isinstance(error, ApiError) and isinstance(error, BlobStoreError)
    assert (error.status, error.code) == (503, "storage_unavailable")
    assert error.message == "file storage is unavailable at the moment; try again shortly"
    assert error.headers == {"Retry-After": "5"}


# What the real Storage server answers: the stand-in follows storage-api (its routes, its
# error renderer and its JWT plugin), as it was seen on the real server behind a gateway.


@pytest.fixture(scope="module")
def plain_project() -> Iterator[FakeSupabaseStorage]:
    """Storage behind a gateway that passes every request through: Storage answers keys."""
    with serve_fake_supabase_storage(gateway="plain") as fake:
        yield fake


@pytest.fixture
def plain(plain_project: FakeSupabaseStorage) -> FakeSupabaseStorage:
    plain_project.reset()
    return plain_project


def storage_api(fake: FakeSupabaseStorage, key: str | None = None) -> httpx.AsyncClient:
    """A raw client of the stand-in's Storage API, with ``key`` as apikey and bearer."""
    headers = {"apikey": key, "Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(base_url=f"{fake.url}/storage/v1", headers=headers)


def storage_body(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"] == JSON_TYPE == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, dict)
    return body


async def test_the_stand_in_refuses_a_duplicate_upload_with_key_already_exists(
    fake: FakeSupabaseStorage,
) -> None:
    async with storage_api(fake, fake.service_key) as api:
        files = {"file": ("resume.pdf", pdf(100), "application/pdf")}
        first = await api.post("/object/resumes/a/resume.pdf", files=files)
        assert first.status_code == 200
        again = await api.post("/object/resumes/a/resume.pdf", files=files)
    assert again.status_code == 400
    assert storage_body(again) == {
        "statusCode": "409",
        "code": "KeyAlreadyExists",
        "error": "Duplicate",
        "message": "The resource already exists",
    }


async def test_the_stand_in_answers_schema_errors_as_invalid_request(
    fake: FakeSupabaseStorage,
) -> None:
    async with storage_api(fake, fake.service_key) as api:
        no_expiry = await api.post("/object/sign/resumes/a/resume.pdf", json={})
        too_many = await api.post(
            "/object/sign/resumes",
            json={"expiresIn": 60, "paths": [f"{n}/resume.pdf" for n in range(1001)]},
        )
        deletes = await api.request(
            "DELETE", "/object/resumes", json={"prefixes": [f"{n}/r.pdf" for n in range(1001)]}
        )
    for answer in (no_expiry, too_many, deletes):
        assert answer.status_code == 400
        body = storage_body(answer)
        assert (body["statusCode"], body["code"]) == ("400", "InvalidRequest")
    assert storage_body(no_expiry)["error"] == "Error"
    assert "more than 1000 items" in storage_body(too_many)["message"]
    assert "limited to 1000 objects" in storage_body(deletes)["message"]


async def test_the_stand_in_answers_a_wrong_key_as_storage_does(
    plain: FakeSupabaseStorage,
) -> None:
    wrong = plain.make_key("service_role", secret="another project's secret" * 2)
    async with storage_api(plain, wrong) as api:
        upload = await api.post("/object/resumes/a/resume.pdf", content=pdf(100))
        buckets = await api.get("/bucket")
        download = await api.get("/object/resumes/a/resume.pdf")
    for answer in (upload, buckets):
        assert answer.status_code == 400
        body = storage_body(answer)
        assert (body["statusCode"], body["code"], body["error"]) == (
            "403",
            "AccessDenied",
            "Unauthorized",
        )
    # The download route serves a key it cannot verify as no key: a private bucket is "missing".
    assert download.status_code == 400
    assert storage_body(download)["code"] == "NoSuchBucket"


async def test_the_stand_in_wants_an_authorization_header(plain: FakeSupabaseStorage) -> None:
    async with httpx.AsyncClient(
        base_url=f"{plain.url}/storage/v1", headers={"apikey": plain.service_key}
    ) as api:
        answer = await api.post("/object/resumes/a/resume.pdf", content=pdf(100))
    assert answer.status_code == 400
    body = storage_body(answer)
    assert (body["statusCode"], body["code"]) == ("400", "InvalidRequest")
    assert "authorization" in body["message"]


async def test_the_stand_in_hides_a_private_object_from_the_anon_key(
    fake: FakeSupabaseStorage,
) -> None:
    key = resume_key()
    name = key.split("/", 1)[1]
    store = await open_supabase(fake)
    try:
        await store.put(key, pdf(100), "application/pdf")
    finally:
        await store.close()
    async with storage_api(fake, fake.anon_key) as api:
        answer = await api.get(f"/object/resumes/{name}")
    assert answer.status_code == 400
    assert (storage_body(answer)["statusCode"], storage_body(answer)["code"]) == (
        "404",
        "NoSuchKey",
    )


async def test_the_stand_in_serves_dates_and_attachments_as_storage_does(
    fake: FakeSupabaseStorage,
) -> None:
    key, data = resume_key(), pdf(1000)
    name = key.split("/", 1)[1]
    store = await open_supabase(fake)
    try:
        await store.put(key, data, "application/pdf")
        signed = await store.signed_url(key, 120)
    finally:
        await store.close()
    async with storage_api(fake, fake.service_key) as api:
        plain_read = await api.get(f"/object/resumes/{name}")
        attachment = await api.get(f"/object/resumes/{name}", params={"download": "cv.pdf"})
    async with httpx.AsyncClient() as browser:
        via_link = await browser.get(signed)
    assert plain_read.status_code == 200 and plain_read.content == data
    modified = email.utils.parsedate_to_datetime(plain_read.headers["last-modified"])
    assert abs(modified.timestamp() - time.time()) < 60
    assert "content-disposition" not in plain_read.headers
    assert attachment.headers["content-disposition"].startswith("attachment; filename=cv.pdf")
    assert via_link.status_code == 200 and via_link.content == data
    assert "max-age" not in via_link.headers.get("cache-control", "")
    expires = email.utils.parsedate_to_datetime(via_link.headers["expires"])
    assert 60 < expires.timestamp() - time.time() <= 121


async def test_the_stand_in_refuses_non_ascii_object_names(fake: FakeSupabaseStorage) -> None:
    async with storage_api(fake, fake.service_key) as api:
        answer = await api.post("/object/resumes/a/résumé.pdf", content=pdf(100))
    assert answer.status_code == 400
    assert storage_body(answer)["code"] == "InvalidKey"
    assert fake.objects == {}


# How the store reads those answers


@pytest.mark.parametrize(
    ("code", "status", "error", "raised"),
    [
        ("KeyAlreadyExists", 409, "Duplicate", BlobStoreFailed),
        ("InvalidRequest", 400, "Error", BlobStoreFailed),
        ("InvalidKey", 400, None, BlobStoreFailed),
        ("EntityTooLarge", 413, "Payload too large", BlobStoreFailed),
        ("AccessDenied", 403, "Unauthorized", BlobStoreKeyRejected),
    ],
)
async def test_each_refusal_of_the_real_server_is_classified_and_not_retried(
    fake: FakeSupabaseStorage, code: str, status: int, error: str | None, raised: type
) -> None:
    store = await open_supabase(fake)
    try:
        fake.fail_next_in_storage(1, status, code=code, error=error)
        with pytest.raises(raised) as caught:
            await store.put(resume_key(), pdf(1000), "application/pdf")
    finally:
        await store.close()
    assert type(caught.value) is raised
    if raised is BlobStoreFailed:
        assert f"statusCode {status} {code}" in str(caught.value)
    assert len(fake.seen("POST", "/object/")) == 1


async def test_a_file_missing_behind_its_row_is_not_found(fake: FakeSupabaseStorage) -> None:
    """Storage's renderer answers a row whose file is gone with error "Not found" (not the
    database's "not_found"): the code says NoSuchKey either way."""
    store = await open_supabase(fake)
    try:
        fake.fail_next_in_storage(
            1, 404, code="NoSuchKey", error="Not found", message="The resource was not found"
        )
        with pytest.raises(NotFound):
            await store.get(resume_key())
    finally:
        await store.close()


async def test_a_slow_down_and_a_database_timeout_are_retried(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake)
    key, data = resume_key(), pdf(1000)
    try:
        fake.fail_next_in_storage(1, 544, code="DatabaseTimeout")
        fake.fail_next(1, 429)
        await store.put(key, data, "application/pdf")
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 3
    assert fake.object("resumes", key.split("/", 1)[1]) is not None


# Deadlines: how long a caller waits on Storage, retries included


async def test_a_frozen_storage_answers_within_the_deadline(fake: FakeSupabaseStorage) -> None:
    """Each attempt may wait 10 s for an answer (the per-operation timeout), but the call as a
    whole gives up at its deadline: a client is told 503 before its own timeout."""
    store = await open_supabase(fake, timeout_s=10.0, deadline_s=1.0)
    try:
        fake.delay_next(10, 30.0)
        started = time.monotonic()
        with pytest.raises(BlobStoreUnavailable) as caught:
            await store.put(resume_key(), pdf(1000), "application/pdf")
        elapsed = time.monotonic() - started
    finally:
        await store.close()
    assert elapsed < 10.0, "the deadline, not the per-operation timeout, must end the call"
    assert str(caught.value.__cause__) == "no answer within 1 s"
    assert caught.value.headers == {"Retry-After": "5"}


async def test_the_caller_chooses_the_deadline(fake: FakeSupabaseStorage) -> None:
    """An API request keeps the store's short deadline; a background writer may wait longer."""
    store = await open_supabase(fake, timeout_s=10.0, deadline_s=0.5)
    key, data = screenshot_key(), jpeg(1000)
    try:
        fake.delay_next(1, 1.5)
        with pytest.raises(BlobStoreUnavailable):
            await store.put(key, data, "image/jpeg")
        await settled(fake)
        fake.reset()
        fake.delay_next(1, 1.5)
        await store.put(key, data, "image/jpeg", within_s=10.0)
        assert await store.get(key, within_s=10.0) == data
        fake.delay_next(1, 3.0)
        with pytest.raises(BlobStoreUnavailable):
            await store.get(key, within_s=0.5)
    finally:
        await store.close()
    assert len(fake.seen("POST", "/object/")) == 1  # the slow upload was not retried


async def test_no_retry_starts_that_the_deadline_would_cut(fake: FakeSupabaseStorage) -> None:
    store = await open_supabase(fake, deadline_s=0.3, backoff_s=1.0)
    try:
        fake.fail_next(3, 503)
        with pytest.raises(BlobStoreUnavailable) as caught:
            await store.put(resume_key(), pdf(1000), "application/pdf")
    finally:
        await store.close()
    assert "HTTP 503" in str(caught.value.__cause__)
    assert len(fake.seen("POST", "/object/")) == 1


# A service key Storage no longer accepts (rotated or revoked after start-up)


async def test_a_rotated_key_is_reported_as_rejected_not_as_a_missing_bucket(
    plain: FakeSupabaseStorage,
) -> None:
    """Behind a gateway that passes requests through, Storage's download route serves a key it
    cannot verify as no key, and answers NoSuchBucket: the store asks again where a valid key
    is required, and reports the key."""
    key, data = resume_key(), pdf(1000)
    store = await open_supabase(plain)
    try:
        await store.put(key, data, "application/pdf")
        plain.rotate_keys()
        with capture_logs() as logs:
            with pytest.raises(BlobStoreKeyRejected) as on_read:
                await store.get(key)
            with pytest.raises(BlobStoreKeyRejected):
                await store.put(key, data, "application/pdf")
            with pytest.raises(BlobStoreKeyRejected):
                await store.signed_url(key, 60)
            with pytest.raises(BlobStoreKeyRejected):
                await store.delete(key)
    finally:
        await store.close()
    assert isinstance(on_read.value, BlobStoreUnavailable)
    assert (on_read.value.status, on_read.value.code) == (503, "storage_unavailable")
    rejected = [e for e in logs if e["event"] == "blob_store.key_rejected"]
    assert [e["action"] for e in rejected] == [
        "check the bucket of",
        "store",
        "sign a URL for",
        "delete",
    ]
    assert all("the service key was rejected" in e["hint"] for e in rejected)
    assert all("AccessDenied" in e["error"] for e in rejected)
    assert not any("Bucket not found" in str(e) for e in logs)
    # Nothing was retried: one request each, and one to check the key after the download.
    after_rotation = [(r.method, r.path.split("/")[1]) for r in plain.seen()][2:]
    assert after_rotation == [
        ("GET", "object"),
        ("GET", "bucket"),
        ("POST", "object"),
        ("POST", "object"),
        ("DELETE", "object"),
    ]


async def test_a_key_the_gateway_refuses_is_reported_as_rejected(
    fake: FakeSupabaseStorage,
) -> None:
    key = resume_key()
    store = await open_supabase(fake)
    try:
        await store.put(key, pdf(1000), "application/pdf")
        fake.rotate_keys()
        with pytest.raises(BlobStoreKeyRejected) as caught:
            await store.get(key)
    finally:
        await store.close()
    assert "HTTP 401" in str(caught.value.__cause__) or "401" in repr(caught.value.__cause__)


async def test_a_bucket_removed_after_start_up_is_named(plain: FakeSupabaseStorage) -> None:
    store = await open_supabase(plain)
    removed = plain.buckets.pop("resumes")
    try:
        with pytest.raises(BlobStoreFailed, match="bucket 'resumes' does not exist"):
            await store.get(resume_key())
    finally:
        plain.buckets["resumes"] = removed
        await store.close()


# One client for the life of the store


async def test_one_client_and_connection_are_reused_then_closed(
    fake: FakeSupabaseStorage,
) -> None:
    store = await open_supabase(fake)
    http = store._http
    try:
        for n in range(1, 6):
            key = screenshot_key(n)
            await store.put(key, jpeg(1000), "image/jpeg")
            await store.get(key)
            await store.signed_url(key, 60)
            await store.delete(key)
        assert store._http is http
    finally:
        await store.close()
    peers = {r.peer for r in fake.seen()}
    assert len(peers) == 1, peers  # one keep-alive connection served all 21 requests
    assert http.is_closed


# Start-up: open_blob_store and its checks


async def test_without_supabase_url_blobs_go_to_the_data_directory(tmp_path: Path) -> None:
    store = await open_blob_store(Settings(data_dir=tmp_path))
    try:
        assert isinstance(store, LocalBlobStore)
        assert store.root == tmp_path / "blobs"
        await store.put("resumes/x/resume.pdf", b"%PDF-1.4", "application/pdf")
        assert (tmp_path / "blobs" / "resumes" / "x" / "resume.pdf").read_bytes() == b"%PDF-1.4"
    finally:
        await store.close()


async def test_with_supabase_url_blobs_go_to_supabase_storage(fake: FakeSupabaseStorage) -> None:
    store = await open_blob_store(supabase_settings(fake))
    try:
        assert isinstance(store, SupabaseBlobStore)
        key = resume_key()
        await store.put(key, b"%PDF-1.4", "application/pdf")
    finally:
        await store.close()
    assert fake.seen()[0].path == "/bucket"
    assert fake.object("resumes", key.split("/", 1)[1]) is not None


async def start_fails(settings: Settings, **options: float) -> str:
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as caught:
        if options:
            await SupabaseBlobStore.open(settings, **options)
        else:
            await open_blob_store(settings)
    assert time.monotonic() - started < 5, "the start-up check must fail fast"
    return str(caught.value)


async def test_start_up_without_a_service_key(fake: FakeSupabaseStorage) -> None:
    message = await start_fails(supabase_settings(fake, supabase_service_role_key=None))
    assert message.startswith("SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY is not")
    assert fake.seen() == []


async def test_start_up_with_the_anon_key(fake: FakeSupabaseStorage) -> None:
    message = await start_fails(supabase_settings(fake, supabase_service_role_key=fake.anon_key))
    assert "SUPABASE_SERVICE_ROLE_KEY is the project's anon key" in message
    assert fake.seen() == []


async def test_start_up_with_a_publishable_key(fake: FakeSupabaseStorage) -> None:
    key = "sb_publishable_" + "x" * 30
    message = await start_fails(supabase_settings(fake, supabase_service_role_key=key))
    assert "is a publishable key" in message


async def test_start_up_with_a_wrong_key(fake: FakeSupabaseStorage) -> None:
    wrong = fake.make_key("service_role", secret="another project's secret" * 2)
    message = await start_fails(supabase_settings(fake, supabase_service_role_key=wrong))
    assert message.startswith(
        "Supabase rejected SUPABASE_SERVICE_ROLE_KEY (HTTP 401: Invalid API key)"
    )
    assert len(fake.seen()) == 1  # a rejected key is not retried


async def test_start_up_with_a_wrong_key_storage_refuses(plain: FakeSupabaseStorage) -> None:
    wrong = plain.make_key("service_role", secret="another project's secret" * 2)
    message = await start_fails(supabase_settings(plain, supabase_service_role_key=wrong))
    assert message.startswith(
        "Supabase rejected SUPABASE_SERVICE_ROLE_KEY (HTTP 400, statusCode 403 AccessDenied"
    )
    assert len(plain.seen()) == 1


async def test_start_up_with_an_unreachable_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(supabase_url=url, supabase_service_role_key="sb_secret_" + "x" * 30)
    message = await start_fails(settings)
    assert message.startswith(f"cannot reach Supabase Storage at {url}: ConnectError")


async def test_start_up_with_a_url_that_is_not_supabase() -> None:
    async def page(request: object) -> HTMLResponse:
        return HTMLResponse("<h1>Not Found</h1>", status_code=404)

    app = Starlette(routes=[Route("/{rest:path}", page)])
    with serve_app(app) as running:
        url = running.url
        settings = Settings(supabase_url=url, supabase_service_role_key="sb_secret_" + "x" * 30)
        message = await start_fails(settings)
    assert message == (
        f"cannot reach Supabase Storage at {url}: {url}/storage/v1/bucket gave HTTP 404:"
        " Not Found; SUPABASE_URL must be the project's URL, like https://<project>.supabase.co"
    )


async def test_start_up_with_a_url_without_a_scheme(fake: FakeSupabaseStorage) -> None:
    message = await start_fails(supabase_settings(fake, supabase_url="myproject.supabase.co"))
    assert message.startswith("SUPABASE_URL must be the project's URL")
    assert "'myproject.supabase.co'" in message


async def test_start_up_when_storage_does_not_answer(fake: FakeSupabaseStorage) -> None:
    fake.delay_next(1, 3.0)
    message = await start_fails(supabase_settings(fake), check_timeout_s=0.5, backoff_s=0.01)
    assert message == f"cannot reach Supabase Storage at {fake.url}: no answer within 0.5 s"


def only(*buckets: FakeBucket) -> list[FakeBucket]:
    return list(buckets)


RESUMES = FakeBucket("resumes", file_size_limit=10 * MIB, allowed_mime_types=["application/pdf"])
SCREENSHOTS = FakeBucket(
    "screenshots", file_size_limit=512 * KIB, allowed_mime_types=["image/jpeg", "image/png"]
)


@pytest.mark.parametrize(
    ("buckets", "expected"),
    [
        (
            only(RESUMES),
            "bucket 'screenshots' does not exist in this project: push the migrations"
            " (openhire migrate or supabase db push)",
        ),
        (
            only(SCREENSHOTS),
            "bucket 'resumes' does not exist in this project: push the migrations"
            " (openhire migrate or supabase db push)",
        ),
        (
            only(FakeBucket("resumes", public=True), SCREENSHOTS),
            "bucket 'resumes' is public: anyone with a link could read what the server stores"
            " in it: fix it in the dashboard or push the migrations again"
            " (openhire migrate or supabase db push)",
        ),
        (
            only(RESUMES, FakeBucket("screenshots", allowed_mime_types=["image/jpeg"])),
            "bucket 'screenshots' does not accept image/png (it allows image/jpeg): fix it in"
            " the dashboard or push the migrations again (openhire migrate or supabase db push)",
        ),
        (
            only(FakeBucket("resumes", file_size_limit=5 * MIB), SCREENSHOTS),
            "bucket 'resumes' accepts files of at most 5242880 bytes, but the server may store"
            " 10485760: fix it in the dashboard or push the migrations again"
            " (openhire migrate or supabase db push)",
        ),
    ],
)
async def test_start_up_with_buckets_that_do_not_fit(
    buckets: list[FakeBucket], expected: str
) -> None:
    with serve_fake_supabase_storage(buckets) as fake:
        assert await start_fails(supabase_settings(fake)) == expected


async def test_start_up_accepts_buckets_without_restrictions() -> None:
    buckets = [
        FakeBucket("resumes"),
        FakeBucket("screenshots", allowed_mime_types=["image/*"]),
        FakeBucket("recordings"),
    ]
    with serve_fake_supabase_storage(buckets) as fake:
        store = await open_blob_store(supabase_settings(fake))
        await store.close()
    assert isinstance(store, SupabaseBlobStore)


def test_the_storage_deadline_and_sweep_grace_are_settings() -> None:
    defaults = Settings.from_env({}, dotenv=False)
    assert (defaults.storage_deadline_s, defaults.blob_sweep_grace_s) == (5.0, 600.0)
    env = {"OPENHIRE_STORAGE_DEADLINE": "2.5", "OPENHIRE_BLOB_SWEEP_GRACE": "120"}
    chosen = Settings.from_env(env, dotenv=False)
    assert (chosen.storage_deadline_s, chosen.blob_sweep_grace_s) == (2.5, 120.0)
    for name, value in [
        ("OPENHIRE_STORAGE_DEADLINE", "0"),
        ("OPENHIRE_STORAGE_DEADLINE", "-1"),
        ("OPENHIRE_BLOB_SWEEP_GRACE", "inf"),
        ("OPENHIRE_BLOB_SWEEP_GRACE", "soon"),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value}, dotenv=False)


async def test_open_takes_its_deadline_from_the_settings(fake: FakeSupabaseStorage) -> None:
    store = await SupabaseBlobStore.open(supabase_settings(fake, storage_deadline_s=2.5))
    await store.close()
    assert store.deadline_s == 2.5


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:1/0"])
async def test_local_blobs_on_a_node_of_a_cluster_are_warned_about(
    tmp_path: Path, redis_url: str | None
) -> None:
    """Each node keeps local blobs in its own directory: one of several nodes (REDIS_URL) says
    so at start-up, naming the directory and what to set; a lone node says nothing."""
    environ = {"OPENHIRE_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://h/db"}
    if redis_url is not None:
        environ["REDIS_URL"] = redis_url
    settings = Settings.from_env(environ, dotenv=False)
    with capture_logs() as logs:
        store = await open_blob_store(settings)
    await store.close()
    assert isinstance(store, LocalBlobStore)
    warned = [e for e in logs if e["event"] == "blobs.local_store_in_a_cluster"]
    if redis_url is None:
        assert warned == []
    else:
        assert [(e["log_level"], e["directory"]) for e in warned] == [
            ("warning", str(tmp_path / "blobs"))
        ]
        assert "SUPABASE_URL" in warned[0]["advice"]


def record_flushes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Records, in order, each real ``fsync``, ``syncfs`` (where the store has it) and rename
    the local store makes, as (call, the path of its descriptor or target), and carries it out."""
    calls: list[tuple[str, str]] = []

    def recorded(name: str, flush: Callable[[int], None]) -> Callable[[int], None]:
        def flush_and_record(fd: int) -> None:
            calls.append((name, os.readlink(f"/proc/self/fd/{fd}")))
            flush(fd)

        return flush_and_record

    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        calls.append(("rename", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", recorded("fsync", os.fsync))
    if blobs.syncfs is not None:
        monkeypatch.setattr(blobs, "syncfs", recorded("syncfs", blobs.syncfs))
    monkeypatch.setattr(os, "replace", replace)
    return calls


async def test_local_blobs_are_on_disk_data_and_names_when_the_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a power cut would test: each file's data is flushed before it is renamed into
    place, and every directory a name was added to (a renamed file, a directory made) is
    flushed after the last rename, before ``put_many`` returns. No ``.part`` file is left, and
    files and directories are the owner's only. (Below ``WHOLE_FILESYSTEM_FROM`` files, or
    without ``syncfs``: the next test covers a group.)"""
    root = tmp_path / "blobs"
    local = LocalBlobStore(root)
    monkeypatch.setattr(blobs, "syncfs", None)
    assert blobs.WHOLE_FILESYSTEM_FROM > 2  # this test's groups flush file by file either way
    calls = record_flushes(monkeypatch)
    one, other = uuid.uuid4(), uuid.uuid4()
    keys = [screenshot_key(1, interview=one), screenshot_key(1, interview=other)]
    await local.put_many([(key, jpeg(10 * KIB), "image/jpeg") for key in keys])

    files = [str(root / key) for key in keys]
    renamed = [target for call, target in calls if call == "rename"]
    assert sorted(renamed) == sorted(files)
    last_rename = max(i for i, (call, _) in enumerate(calls) if call == "rename")
    for file in files:
        # The data, under its temporary name, before any rename.
        flushed = calls.index(("fsync", file + ".part"))
        assert flushed < calls.index(("rename", file))
    synced_after = {target for call, target in calls[last_rename:] if call == "fsync"}
    # Each file's directory, and each directory this call made a directory in.
    screenshots = root / "screenshots"
    made = {root, screenshots, screenshots / str(one), screenshots / str(other)}
    assert synced_after == {str(directory) for directory in made}
    assert sorted(p.name for p in root.rglob("*.part")) == []
    for key in keys:
        assert (root / key).stat().st_mode & 0o777 == 0o600
        assert (root / key).parent.stat().st_mode & 0o777 == 0o700

    # Into directories that are there already: only those are flushed again.
    calls.clear()
    await local.put(screenshot_key(2, interview=one), jpeg(KIB), "image/jpeg")
    assert [c for c in calls if c[0] == "fsync"][-1] == (
        "fsync",
        str(root / "screenshots" / str(one)),
    )
    assert ("fsync", str(root / "screenshots")) not in calls

    # A directory found made by another write (one that failed, or is still under way and has
    # not flushed its parent yet): its parent is flushed all the same.
    calls.clear()
    third = uuid.uuid4()
    (root / "screenshots" / str(third)).mkdir(mode=0o700)
    await local.put(screenshot_key(1, interview=third), jpeg(KIB), "image/jpeg")
    synced = {target for call, target in calls if call == "fsync"}
    assert str(root / "screenshots") in synced
    assert str(root / "screenshots" / str(third)) in synced


@pytest.mark.skipif(
    blobs.syncfs is None, reason="syncfs(2) is Linux's; elsewhere a group is flushed file by file"
)
async def test_a_group_of_local_blobs_is_flushed_as_two_flushes_of_the_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ``WHOLE_FILESYSTEM_FROM`` files, the data of every file is flushed by one
    ``syncfs`` before any is renamed into place, and the names by one more after the last
    rename: two flushes for the group instead of one a file and a directory."""
    root = tmp_path / "blobs"
    local = LocalBlobStore(root)
    assert blobs.syncfs is not None
    calls = record_flushes(monkeypatch)
    interviews_ = [uuid.uuid4() for _ in range(blobs.WHOLE_FILESYSTEM_FROM)]
    group = [
        (screenshot_key(1, interview=iv), jpeg((i + 1) * KIB), "image/jpeg")
        for i, iv in enumerate(interviews_)
    ]
    await local.put_many(group)

    assert [call for call, _ in calls] == (["syncfs"] + ["rename"] * len(group) + ["syncfs"]), calls
    # The first flush was made through one of the group's temporary files, on the store's
    # filesystem; the second through a directory a name was added to (the store's own, where
    # this group made the bucket's).
    assert calls[0][1].endswith(".part") and calls[0][1].startswith(str(root))
    assert calls[-1][1] == str(root)
    for key, data, _ in group:
        assert (root / key).read_bytes() == data
        assert (root / key).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in root.rglob("*.part")) == []

    # One file fewer than the threshold: flushed file by file again.
    calls.clear()
    await local.put_many(group[: blobs.WHOLE_FILESYSTEM_FROM - 1])
    assert "syncfs" not in {call for call, _ in calls}
    assert [call for call, _ in calls].count("fsync") >= blobs.WHOLE_FILESYSTEM_FROM - 1


async def test_a_failed_flush_of_the_filesystem_names_no_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the data's flush fails (a full or failing disk), ``put_many`` raises and no key
    names a file: nothing was renamed into place."""
    root = tmp_path / "blobs"
    local = LocalBlobStore(root)

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobs, "syncfs", failing)
    group = [
        (screenshot_key(1, interview=uuid.uuid4()), jpeg(KIB), "image/jpeg")
        for _ in range(blobs.WHOLE_FILESYSTEM_FROM)
    ]
    with pytest.raises(OSError, match="Input/output error"):
        await local.put_many(group)
    for key, _, _ in group:
        assert not (root / key).exists()
        with pytest.raises(NotFound):
            await local.get(key)


async def test_a_bad_key_in_a_batch_stores_none_of_it(tmp_path: Path) -> None:
    local = LocalBlobStore(tmp_path / "blobs")
    good = screenshot_key(1)
    with pytest.raises(ValueError, match="not a valid blob key"):
        await local.put_many([(good, jpeg(KIB), "image/jpeg"), ("../x", b"x", "image/jpeg")])
    assert list((tmp_path / "blobs").rglob("*")) == []


async def test_the_servers_blob_route_answers_byte_ranges_so_audio_can_seek(tmp_path: Path) -> None:
    """A media element seeks in what answers ranges (a spoken answer plays from a sentence's
    second): one range is 206 with Content-Range; what cannot be served as one is the whole."""
    local = LocalBlobStore(tmp_path / "blobs")
    key, data = "recordings/iv/answer-q1-1.wav", bytes(range(256)) * 40
    await local.put(key, data, "audio/wav")
    url = await local.signed_url(key, 300)
    with serve_app(blob_route_app(local)) as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            whole = await client.get(url)
            assert whole.status_code == 200 and whole.content == data
            assert whole.headers["accept-ranges"] == "bytes"
            for asked, first, last in (
                ("bytes=100-199", 100, 199),
                ("bytes=10000-", 10000, len(data) - 1),
                ("bytes=-50", len(data) - 50, len(data) - 1),
                ("bytes=10200-99999", 10200, len(data) - 1),
            ):
                part = await client.get(url, headers={"Range": asked})
                assert part.status_code == 206, asked
                assert part.content == data[first : last + 1], asked
                assert part.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
            # A run of digits longer than any file (int() of it would fail) is no range either.
            huge = "bytes=0-" + "9" * 5000
            for ignored in ("bytes=0-1,5-6", "bytes=99999-", "items=0-1", "bytes=5-2", huge):
                served = await client.get(url, headers={"Range": ignored})
                assert (served.status_code, served.content) == (200, data), ignored
    await local.close()
