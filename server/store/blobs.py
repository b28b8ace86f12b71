"""Blob stores: where résumés, screenshots and recordings go. Rows point at blobs by key.

``LocalBlobStore`` (the default) keeps each blob as a file under ``<data_dir>/blobs``, created
readable by its owner only. A Supabase Storage implementation comes with the Supabase issue.
Keys look like ``resumes/<application_id>/resume.pdf``: the first segment is the bucket.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from pathlib import Path

import anyio.to_thread

from server.errors import NotFound

_KEY = re.compile(r"^[a-z0-9-]+(/[A-Za-z0-9._-]+)+$")


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a valid blob key: {key!r}")
    return key


class BlobStore(ABC):
    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The blob's bytes; NotFound if there is none."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(path.name + ".part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)

        await anyio.to_thread.run_sync(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("no such file") from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
