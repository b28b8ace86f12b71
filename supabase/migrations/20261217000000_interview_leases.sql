-- Fencing for the live interview's one owner, when several servers share this database
-- (docs/deploy-cluster.md). A live interview runs on one node at a time, which holds a lease in
-- Redis; the lease carries an epoch, and this table holds the newest epoch of each interview.
-- A node that takes an interview over raises its epoch here first (`take_over`, which waits for
-- any write of the old owner that is under way), and every write of the interview's log checks,
-- in its own transaction, that the epoch it carries is still the newest (`check_epoch`, holding
-- the row in share mode until the commit). So an owner that lost its lease without knowing it
-- (paused, partitioned) can never write after the new owner has begun: its write is refused
-- with SQLSTATE OH409 and nothing of it is stored.
--
-- The epoch lives here, not in Redis, so that it only ever rises, even across a Redis restart
-- that forgot every lease. A single server without Redis never writes here.

create schema if not exists openhire;
revoke all on schema openhire from public, anon, authenticated, service_role;

create table openhire.interview_leases (
  interview_id uuid primary key references public.interviews (id) on delete cascade,
  epoch bigint not null,
  node text not null,
  taken_at timestamptz not null default now()
);

revoke all on table openhire.interview_leases from public, anon, authenticated, service_role;
alter table openhire.interview_leases enable row level security;

create function openhire.check_epoch(interview uuid, held bigint) returns boolean
language plpgsql
set search_path = ''
as $$
declare
  newest bigint;
begin
  select l.epoch into newest from openhire.interview_leases l
    where l.interview_id = interview for share;
  if newest is distinct from held then
    raise exception using
      errcode = 'OH409',
      message = 'stale owner: this node no longer owns the interview',
      detail = interview::text;
  end if;
  return true;
end;
$$;

revoke all on function openhire.check_epoch(uuid, bigint) from public, anon, authenticated, service_role;
