"""No résumé without its row, whatever fails midway: pending blobs and their sweeper.

A résumé is uploaded before its application row exists (the row must never point at a blob
that is not there). So that a failure in between cannot leave personal data that no row points
to, the upload is bracketed by a durable record in ``openhire.pending_blobs``:

1. ``reserve_blob`` records the key, committed, before the upload starts;
2. ``settle_blob`` removes the record in the transaction that inserts the row that takes the
   blob, so a committed row and a pending record never exist together;
3. ``BlobSweeper`` deletes the blob of every record whose ``sweep_after`` (start + grace) has
   passed, then the record. A delete that fails leaves the record for a later pass.

Whatever goes wrong — the upload fails, or is abandoned at its deadline and lands later (a
gateway that does not abort a forwarded request on close finishes it), the insert fails, the
process dies — the record is there, and the sweeper removes the blob once no late write can
still arrive. ``discard_blob`` deletes at once where the request knows the upload landed and its
row will not be written, so the résumé does not wait for the sweeper; the record stays, since an
abandoned earlier attempt of the same upload may still land after it.

Several servers may sweep one database: a record is claimed with ``for update skip locked``,
and ``settle_blob`` waits for a sweep in progress and then reports that the record is gone.
"""

from __future__ import annotations

import structlog

from server.background import Periodic
from server.errors import BlobStoreError
from server.store.blobs import BlobStore
from server.store.database import Connection, Pool

log = structlog.get_logger(__name__)

# How long a request's own clean-up may wait on the store: it runs before the error answer.
DISCARD_WITHIN_S = 2.0


async def reserve_blob(db: Pool | Connection, key: str, grace_s: float) -> None:
    """Record ``key`` before uploading it; committed when ``db`` is the pool. The sweeper
    deletes its blob after ``grace_s`` unless ``settle_blob`` removed the record first."""
    await db.execute(
        "insert into openhire.pending_blobs (key, sweep_after)"
        " values ($1, now() + make_interval(secs => $2))"
        " on conflict (key) do update set sweep_after = excluded.sweep_after,"
        " sweep_attempts = 0",
        key,
        grace_s,
    )


async def settle_blob(conn: Connection, key: str) -> bool:
    """Within the transaction that writes the row taking ``key``: remove its record. False if
    there was none, because a sweep took it (its blob is deleted or being deleted): the
    caller must not write the row."""
    removed = await conn.fetchval(
        "delete from openhire.pending_blobs where key = $1 returning true", key
    )
    return removed is not None


async def discard_blob(blobs: BlobStore, key: str) -> None:
    """Delete an uploaded blob whose row will not be written, now and briefly; a failure is
    logged and left to the sweeper (the pending record stays)."""
    try:
        await blobs.delete(key, within_s=DISCARD_WITHIN_S)
    except BlobStoreError as exc:
        log.warning("blob.discard_failed", key=key, error=str(exc), next="the sweeper")


class BlobSweeper:
    """Deletes the blobs of pending records past their ``sweep_after``, every ``every_s``.

    Owned by the server's lifespan: ``start`` once, ``close`` at shutdown (before the blob
    store closes). One record per transaction, holding its row lock while the blob is
    deleted; a pass stops at the first failed delete (Storage is likely failing) and pushes
    that record back by ``every_s``, so one blob that cannot be deleted never blocks others."""

    def __init__(
        self,
        pool: Pool,
        blobs: BlobStore,
        *,
        every_s: float,
        delete_within_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._blobs = blobs
        self.every_s = every_s
        self.delete_within_s = delete_within_s
        self._periodic = Periodic(
            self.sweep, every_s=every_s, name="blob-sweeper", failed_event="blob_sweeper.failed"
        )

    @classmethod
    def for_grace(cls, pool: Pool, blobs: BlobStore, grace_s: float) -> BlobSweeper:
        """A sweeper that looks often enough for the grace: an orphan lives at most about
        ``grace_s`` plus a quarter of it (and never more than a minute past the grace)."""
        return cls(pool, blobs, every_s=min(60.0, max(0.2, grace_s / 4)))

    def start(self) -> None:
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.close()

    async def sweep(self) -> int:
        """One pass: every record that is due, until none is left or a delete fails; returns
        the number of blobs deleted."""
        swept = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                key = await conn.fetchval(
                    "select key from openhire.pending_blobs where sweep_after <= now()"
                    " order by sweep_after limit 1 for update skip locked"
                )
                if key is None:
                    return swept
                try:
                    await self._blobs.delete(key, within_s=self.delete_within_s)
                except ValueError:
                    # Not a key this server writes: nothing to delete, nothing to retry.
                    log.error("blob_sweeper.bad_key", key=key)
                except BlobStoreError as exc:
                    await conn.execute(
                        "update openhire.pending_blobs set sweep_attempts = sweep_attempts + 1,"
                        " sweep_after = now() + make_interval(secs => $2) where key = $1",
                        key,
                        self.every_s,
                    )
                    log.warning("blob_sweeper.delete_failed", key=key, error=str(exc))
                    return swept
                else:
                    swept += 1
                    log.info("blob_sweeper.deleted", key=key)
                await conn.execute("delete from openhire.pending_blobs where key = $1", key)
