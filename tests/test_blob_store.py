"""The blob-store contract, run against every store, then what only the Supabase store does.

The local directory store's signed URLs are served by the server's own ``/blobs/{key}`` route:
the tests serve that very route (``server.http.interviews``) over a real socket with the store
under test, so a URL is fetched as a reviewer's browser fetches it. The Supabase store runs the
real ``supabase`` client against a stand-in of Supabase Storage's HTTP API
(``tests/fake_supabase_storage.py``) whose buckets come from ``supabase/config.toml``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from server.config import Settings
from server.errors import (
    ApiError,
    BlobStoreError,
    BlobStoreFailed,
    BlobStoreUnavailable,
    ConfigurationError,
    NotFound,
)
from server.http import interviews
from server.http.errors import EXCEPTION_HANDLERS
from server.store.blobs import BlobStore, LocalBlobStore, open_blob_store
from server.store.supabase_storage import SupabaseBlobStore
from tests.conftest import free_port
from tests.fake_supabase_storage import (
    FakeBucket,
    FakeSupabaseStorage,
    buckets_from_config,
    serve_app,
    serve_fake_supabase_storage,
)

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
    options.setdefault("backoff_s", 0.01)
    return await SupabaseBlobStore.open(supabase_settings(fake), **options)


@dataclass
class Subject:
    """A store under test, and how a reviewer reaches its signed URLs."""

    name: str
    store: BlobStore
    base_url: str
    pass_time: Callable[[str, float], Awaitable[None]]

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
            yield Subject("local", local, running.url, wait_past_expiry)
        await local.close()
    else:
        store = await open_supabase(project)

        async def advance(url: str, seconds: float) -> None:
            project.advance_clock(seconds + 1)

        try:
            yield Subject("supabase", store, project.url, advance)
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
    try:
        url = await subject.store.signed_url(key, 60)
    except NotFound:
        return  # Supabase Storage checks that the object exists before signing
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
    if second is not None:  # a store that cannot tell: its URL must serve nothing
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
        with pytest.raises(BlobStoreFailed, match=r"statusCode 415 invalid_mime_type"):
            await store.put(screenshot_key(), b"GIF89a....", "image/gif")
        with pytest.raises(BlobStoreFailed, match=r"statusCode 413 .*exceeded"):
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


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
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
    buckets = [FakeBucket("resumes"), FakeBucket("screenshots", allowed_mime_types=["image/*"])]
    with serve_fake_supabase_storage(buckets) as fake:
        store = await open_blob_store(supabase_settings(fake))
        await store.close()
    assert isinstance(store, SupabaseBlobStore)
