"""Blob stores: where résumés, screenshots and recordings go. Rows point at blobs by key.

``open_blob_store(settings)`` picks one: ``LocalBlobStore`` (the default) keeps each blob as a
file under ``<data_dir>/blobs``, created readable by its owner only; with ``SUPABASE_URL`` set,
``SupabaseBlobStore`` (``server.store.supabase_storage``) keeps them in Supabase Storage.
Keys look like ``resumes/<application_id>/resume.pdf`` and
``screenshots/<interview_id>/000042.jpg``: the first segment is the bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import hmac
import mimetypes
import os
import re
import secrets
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
import structlog

from server.config import Settings
from server.errors import Forbidden, NotFound

log = structlog.get_logger(__name__)

# How many flushed directories a local store remembers (one per interview and bucket).
_KNOWN_DIRECTORIES = 10_000

# From how many files a local write flushes the whole filesystem (twice) instead of each file
# and directory: one flush of a filesystem costs about what one of a file does, so a group of
# screenshots is two flushes instead of two a file (docs/benchmarks.md, "One flush for a group").
WHOLE_FILESYSTEM_FROM = 4


def _load_syncfs() -> Callable[[int], None] | None:
    """Linux's ``syncfs(2)`` (which ``os`` does not offer): flush everything written to the
    filesystem an open descriptor is on, data and names, and wait. ``None`` elsewhere. Since
    Linux 5.8 it reports a failed write-back as ``fsync`` does."""
    if sys.platform != "linux":
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int

    def syncfs(fd: int) -> None:
        if function(fd) != 0:  # ctypes lets other threads run meanwhile
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))

    return syncfs


syncfs = _load_syncfs()

_KEY = re.compile(r"^[a-z0-9-]+(/[A-Za-z0-9._-]+)+$")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ValueError(f"not a valid blob key: {key!r}")
    return key


class BlobStore(ABC):
    """Every operation takes ``within_s``: the longest the caller will wait for it, retries
    included (None: the store's default, sized for an API request). A store that cannot
    finish in time raises BlobStoreUnavailable; an operation cut short may still complete
    later on the store's side (an upload that a gateway carries on with), which is why a
    résumé's key is recorded before its upload (``server.store.blob_sweeper``)."""

    @abstractmethod
    async def put(
        self, key: str, data: bytes, content_type: str, *, within_s: float | None = None
    ) -> None: ...

    async def put_many(
        self, blobs: Sequence[tuple[str, bytes, str]], *, within_s: float | None = None
    ) -> None:
        """Store several blobs, ``(key, data, content_type)`` each: all of them, or raise.
        Stores that can make one write of several (the local one) override it."""
        await asyncio.gather(
            *(self.put(key, data, kind, within_s=within_s) for key, data, kind in blobs)
        )

    @abstractmethod
    async def get(self, key: str, *, within_s: float | None = None) -> bytes:
        """The blob's bytes; NotFound if there is none."""

    @abstractmethod
    async def delete(self, key: str, *, within_s: float | None = None) -> None:
        """Remove the blob; no error if it is already gone."""

    @abstractmethod
    async def signed_url(self, key: str, expires_in: int, *, within_s: float | None = None) -> str:
        """A URL that serves the blob, without a token, for ``expires_in`` seconds."""

    async def signed_urls(
        self, keys: Sequence[str], expires_in: int, *, within_s: float | None = None
    ) -> list[str | None]:
        """Signed URLs for many blobs, in the order of ``keys``: None where the store knows
        the blob is missing. Stores that sign over the network do it in a few requests."""
        return [await self.signed_url(key, expires_in, within_s=within_s) for key in keys]

    def verify_signed(self, key: str, expires: str | None, signature: str | None) -> str:
        """For stores whose signed URLs this server serves: check them (see LocalBlobStore).
        Stores that sign their own URLs (Supabase Storage) never serve through here."""
        raise NotFound("no such file")

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass


def content_type_of(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class LocalBlobStore(BlobStore):
    """Files under ``root``; signed URLs point at this server's ``/blobs/{key}`` route and
    carry an HMAC of the key and expiry, made with a secret of this process (so they stop
    working at restart, which a short-lived URL may). ``within_s`` is not applied: a local
    write either completes or fails, and a thread writing a file cannot be stopped midway."""

    def __init__(self, root: Path, *, url_prefix: str = "/blobs/") -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.url_prefix = url_prefix
        self._secret = secrets.token_bytes(32)
        # Directories whose entry in their parent this store has flushed (a bounded memory:
        # one forgotten costs a flush of its parent again).
        self._on_disk: dict[Path, None] = {}
        self._on_disk_lock = threading.Lock()

    def _signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def signed_url(self, key: str, expires_in: int, *, within_s: float | None = None) -> str:
        expires = int(time.time()) + expires_in
        signature = self._signature(check_key(key), expires)
        return f"{self.url_prefix}{quote(key)}?expires={expires}&signature={signature}"

    def verify_signed(self, key: str, expires: str | None, signature: str | None) -> str:
        """Check a signed URL's parameters; returns the blob's content type."""
        if not expires or not signature or not expires.isdigit():
            raise Forbidden("this link is not signed", code="bad_signature")
        try:
            expected = self._signature(check_key(key), int(expires))
        except ValueError:
            raise NotFound("no such file") from None
        if not hmac.compare_digest(expected, signature):
            raise Forbidden("this link's signature is not valid", code="bad_signature")
        if int(expires) < time.time():
            raise Forbidden("this link has expired", code="link_expired")
        return content_type_of(key)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(
        self, key: str, data: bytes, content_type: str, *, within_s: float | None = None
    ) -> None:
        await self.put_many([(key, data, content_type)])

    async def put_many(
        self, blobs: Sequence[tuple[str, bytes, str]], *, within_s: float | None = None
    ) -> None:
        """Once this returns, every blob is on disk under its key, whatever happens next (a
        power cut included): see ``_write``. One thread's work for the lot."""
        files = [(self._path(key), data) for key, data, _ in blobs]
        await anyio.to_thread.run_sync(self._write, files)

    def _write(self, files: list[tuple[Path, bytes]]) -> None:
        """Each file is written under a temporary name and renamed into place, so that no
        key ever names a partly written file. Durability takes two flushes: the files' data,
        then the names (a rename is not on disk until its directory is). Every file is written
        before any is flushed, and every rename made before any directory is flushed. From
        ``WHOLE_FILESYSTEM_FROM`` files, where Linux offers ``syncfs``, each flush is one of
        the whole filesystem; otherwise it is an ``fsync`` of each file, then of each
        directory a file was renamed or a directory made in."""
        whole = syncfs if len(files) >= WHOLE_FILESYSTEM_FROM else None
        changed: dict[Path, None] = {}  # directories whose entries changed, in order
        unsure: list[Path] = []  # directories whose own entry may not be on disk yet
        for path, _ in files:
            # One level at a time: mkdir(parents=True) gives the parents the default mode.
            for directory in reversed(path.relative_to(self.root).parents[:-1]):
                made = self.root / directory
                if made in self._on_disk:
                    continue
                # Made now, or found made by a write that failed or is still under way (and
                # has not flushed its parent yet): its parent is flushed either way.
                with contextlib.suppress(FileExistsError):
                    made.mkdir(mode=0o700)
                changed[made.parent] = None
                unsure.append(made)
        opened: list[tuple[int, Path, Path]] = []  # descriptor, temporary name, key's path
        try:
            for path, data in files:
                part = path.with_name(path.name + ".part")
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                opened.append((fd, part, path))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            if whole is None:
                for fd, _, _ in opened:
                    os.fsync(fd)
            else:
                whole(opened[0][0])
        finally:
            for fd, _, _ in opened:
                os.close(fd)
        for _, part, path in opened:
            os.replace(part, path)
            changed[path.parent] = None
        for directory in changed:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                if whole is None:
                    os.fsync(fd)
                else:
                    whole(fd)
                    break  # one flush of the filesystem has every directory's names
            finally:
                os.close(fd)
        with self._on_disk_lock:
            for directory in unsure:
                self._on_disk[directory] = None
            while len(self._on_disk) > _KNOWN_DIRECTORIES:  # forget the oldest
                del self._on_disk[next(iter(self._on_disk))]

    async def get(self, key: str, *, within_s: float | None = None) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("no such file") from None

    async def delete(self, key: str, *, within_s: float | None = None) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))


async def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings ask for, ready to use; the caller closes it.

    With ``SUPABASE_URL`` set, Supabase Storage, after a start-up check that raises
    ConfigurationError saying what is wrong (a missing or rejected key, an unreachable URL, a
    missing bucket) within a few seconds. Otherwise files under ``<data_dir>/blobs``."""
    if not settings.supabase_url:
        if settings.redis_url is not None:
            # Each node reads its own directory: a blob stored by one node is missing on the
            # others unless the directory is one shared volume (docs/deploy-cluster.md).
            log.warning(
                "blobs.local_store_in_a_cluster",
                directory=str(settings.data_dir / "blobs"),
                advice="set SUPABASE_URL for Supabase Storage, or put OPENHIRE_DATA_DIR on a"
                " volume every node shares",
            )
        return LocalBlobStore(settings.data_dir / "blobs")
    # Imported here: the supabase package is only loaded by servers that use it.
    from server.store.supabase_storage import SupabaseBlobStore

    return await SupabaseBlobStore.open(settings)
