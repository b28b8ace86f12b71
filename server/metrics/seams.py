"""The services outside the process, measured where the server calls them: the blob store and
the AI interviewer, each wrapped once at start-up in a class that times every call and counts
its failures by kind, then hands it on unchanged. Neither implementation knows it is measured,
and every implementation is measured the same way."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from server.errors import (
    BlobStoreError,
    BlobStoreUnavailable,
    InterviewerError,
    InterviewerUnavailable,
    NotFound,
)
from server.interviewer.base import (
    Evaluation,
    Interviewer,
    JobBrief,
    ProctoringSummary,
    QuestionRequest,
    Turn,
)
from server.metrics import Metrics, Operation
from server.store.blobs import BlobStore

T = TypeVar("T")


def _blob_error(exc: Exception) -> str:
    if isinstance(exc, BlobStoreUnavailable):
        return "unavailable"
    return "failed" if isinstance(exc, BlobStoreError) else "crashed"


def _interviewer_error(exc: Exception) -> str:
    if isinstance(exc, InterviewerUnavailable):
        return "unavailable"
    return "failed" if isinstance(exc, InterviewerError) else "crashed"


async def _timed(
    operation: Operation, call: Awaitable[T], error_kind: Callable[[Exception], str]
) -> T:
    """Await ``call``; its time is observed whether it succeeds or fails (not when it is
    cancelled: the caller gave up, and the call's own time is unknown)."""
    started = time.perf_counter()
    try:
        result = await call
    except NotFound:
        # An answer ("no such blob"), not a failure of the store.
        operation.seconds.observe(time.perf_counter() - started)
        raise
    except Exception as exc:
        operation.seconds.observe(time.perf_counter() - started)
        operation.errors[error_kind(exc)].inc()
        raise
    operation.seconds.observe(time.perf_counter() - started)
    return result


class ObservedBlobStore(BlobStore):
    def __init__(self, inner: BlobStore, metrics: Metrics) -> None:
        self.inner = inner
        self._put = metrics.blob_store["put"]
        self._get = metrics.blob_store["get"]
        self._delete = metrics.blob_store["delete"]
        self._sign = metrics.blob_store["sign"]

    async def put(
        self, key: str, data: bytes, content_type: str, *, within_s: float | None = None
    ) -> None:
        call = self.inner.put(key, data, content_type, within_s=within_s)
        await _timed(self._put, call, _blob_error)

    async def put_many(
        self, blobs: Sequence[tuple[str, bytes, str]], *, within_s: float | None = None
    ) -> None:
        # One call, timed once: the local store writes the lot as one.
        await _timed(self._put, self.inner.put_many(blobs, within_s=within_s), _blob_error)

    async def get(self, key: str, *, within_s: float | None = None) -> bytes:
        return await _timed(self._get, self.inner.get(key, within_s=within_s), _blob_error)

    async def delete(self, key: str, *, within_s: float | None = None) -> None:
        await _timed(self._delete, self.inner.delete(key, within_s=within_s), _blob_error)

    async def signed_url(self, key: str, expires_in: int, *, within_s: float | None = None) -> str:
        call = self.inner.signed_url(key, expires_in, within_s=within_s)
        return await _timed(self._sign, call, _blob_error)

    async def signed_urls(
        self, keys: Sequence[str], expires_in: int, *, within_s: float | None = None
    ) -> list[str | None]:
        call = self.inner.signed_urls(keys, expires_in, within_s=within_s)
        return await _timed(self._sign, call, _blob_error)

    def verify_signed(self, key: str, expires: str | None, signature: str | None) -> str:
        return self.inner.verify_signed(key, expires, signature)

    async def close(self) -> None:
        await self.inner.close()


class ObservedInterviewer(Interviewer):
    """Times each question (the whole stream, and its first chunk) and each evaluation."""

    def __init__(self, inner: Interviewer, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics
        self._question = metrics.interviewer["question"]
        self._evaluation = metrics.interviewer["evaluation"]
        self._first_chunk = metrics.first_chunk

    def __getattr__(self, attribute: str) -> Any:
        # What the interviewer is (`name`, `model`, `prompt_version`) is the wrapped one's.
        if attribute == "inner":  # not set yet (a copy being made): no recursion
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    async def stream_question(self, request: QuestionRequest) -> AsyncGenerator[str, None]:
        started = time.perf_counter()
        first = True
        try:
            async with contextlib.aclosing(self.inner.stream_question(request)) as chunks:
                async for chunk in chunks:
                    if first:
                        first = False
                        self._first_chunk.observe(time.perf_counter() - started)
                    yield chunk
        except Exception as exc:
            self._question.seconds.observe(time.perf_counter() - started)
            self._question.errors[_interviewer_error(exc)].inc()
            raise
        self._question.seconds.observe(time.perf_counter() - started)

    async def evaluate(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        call = self.inner.evaluate(job, transcript, proctoring)
        return await _timed(self._evaluation, call, _interviewer_error)

    def with_model(self, model: str) -> Interviewer:
        # The copy is measured like the original (a re-score's model calls are counted too).
        return ObservedInterviewer(self.inner.with_model(model), self._metrics)

    async def aclose(self) -> None:
        await self.inner.aclose()
