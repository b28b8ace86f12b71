-- Pending blobs: the key of every résumé upload, recorded (and committed) before the upload
-- starts, and removed in the same transaction as the row that takes the blob. A record still
-- here after its `sweep_after` belongs to an upload whose application was never written (the
-- upload failed, was abandoned at its deadline, or the insert failed, or the server died in
-- between): the server's sweeper deletes the blob, then the record. An abandoned upload can
-- land after the request gave up (a gateway may finish forwarding it), so the record is kept
-- until the grace has passed even when the blob was deleted at once.
--
-- In a schema of its own, never exposed by the Data API: no API role has any privilege on it,
-- and the default privileges that older Supabase projects give on new tables in `public` do not
-- reach it. The server connects as the owner.

create schema if not exists openhire;
revoke all on schema openhire from public, anon, authenticated, service_role;

create table openhire.pending_blobs (
  key text primary key,
  created_at timestamptz not null default now(),
  -- When the sweeper may delete the blob: the upload's start plus the grace, and, after a
  -- delete that failed, a later retry.
  sweep_after timestamptz not null,
  sweep_attempts integer not null default 0
);
create index pending_blobs_sweep_after_idx on openhire.pending_blobs (sweep_after);

revoke all on table openhire.pending_blobs from public, anon, authenticated, service_role;
alter table openhire.pending_blobs enable row level security;
