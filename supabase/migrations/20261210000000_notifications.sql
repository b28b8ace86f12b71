-- Notifications: one row per recipient and event, written in the same transaction as the change
-- that causes it (server/notify/outbox.py), so that a notification exists if and only if its
-- event committed. The server delivers them in the app (Server-Sent Events), to recruiters'
-- webhooks and, where SMTP is configured, by email; a frontend on Supabase may also subscribe to
-- the table through Realtime, under the same row-level security.

create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  -- The recipient's own sequence number, dense and in commit order (see the counters below): a
  -- stream resumes after the last one it delivered and misses nothing.
  seq bigint not null check (seq >= 1),
  kind text not null check (kind in (
    'application.created', 'interview.started', 'interview.completed', 'interview.abandoned',
    'interview.expired', 'evaluation.ready', 'application.status_changed',
    'interview.scheduled', 'interview.expiring', 'webhook.disabled'
  )),
  -- What it is about, for opening it; none of them need be set.
  job_id uuid references public.jobs (id) on delete cascade,
  application_id uuid references public.applications (id) on delete cascade,
  interview_id uuid references public.interviews (id) on delete cascade,
  -- A short payload (a job title, a name, a state): what a list shows without another read.
  payload jsonb not null default '{}'::jsonb check (pg_column_size(payload) <= 2048),
  created_at timestamptz not null default now(),
  read_at timestamptz,
  constraint notifications_user_seq unique (user_id, seq)
);
-- The unique constraint's index serves the list (newest first, by seq) and the streams' resume;
-- the unread ones have their own, for the unread filter and the count.
create index notifications_unread_idx on public.notifications (user_id, seq desc)
  where read_at is null;

-- The scheduler's look for scheduled interviews close to their expiry.
create index interviews_scheduled_expiry_idx on public.interviews (expires_at)
  where state = 'scheduled';

-- Revoke, then grant (20261207000000_revoke_then_grant.sql): a user reads their own rows and
-- marks them read; only the server (the owner, or the service key's role) writes them.
revoke all on table public.notifications from public, anon, authenticated, service_role;
grant select, update (read_at) on public.notifications to authenticated;
grant select, insert, update, delete on public.notifications to service_role;

alter table public.notifications enable row level security;
create policy notifications_select_own on public.notifications for select to authenticated
  using (user_id = (select auth.uid()));
create policy notifications_mark_own on public.notifications for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- Supabase Realtime streams the changes of the tables in this publication to subscribers,
-- checking each row against the subscriber's select policy. Supabase creates it; on a plain
-- PostgreSQL the bootstrap does (server/store/sql/supabase_realtime_bootstrap.sql).
alter publication supabase_realtime add table public.notifications;

-- What the server keeps for itself, in the schema no API role can reach
-- (20261208000000_pending_blobs.sql).

-- The last sequence number given to each recipient. Taking the next one locks the recipient's
-- row until the transaction ends, so a recipient's notifications commit in the order of their
-- numbers: a stream that has delivered number n has seen every committed one before it.
create table openhire.notification_counters (
  user_id uuid primary key references public.users (id) on delete cascade,
  last_seq bigint not null
);

-- Emails to send (only written when OPENHIRE_SMTP_URL is set), claimed with skip locked.
create table openhire.email_outbox (
  notification_id uuid primary key references public.notifications (id) on delete cascade,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  sent_at timestamptz,
  last_error text
);
create index email_outbox_due_idx on openhire.email_outbox (next_attempt_at)
  where sent_at is null;

-- The "expires soon" reminder of a scheduled interview, sent once: whichever server inserts the
-- row sends it, in the same transaction.
create table openhire.expiry_reminders (
  interview_id uuid primary key references public.interviews (id) on delete cascade,
  sent_at timestamptz not null default now()
);

-- Recruiters' webhook endpoints (server/notify/webhooks.py). The secrets are the server's: no
-- API role may read them. `previous_secret` still signs, beside the new one, until
-- `previous_secret_until` (a rotation's overlap).
create table openhire.webhooks (
  id uuid primary key default gen_random_uuid(),
  recruiter_id uuid not null references public.users (id) on delete cascade,
  url text not null check (char_length(url) <= 2000),
  events text[] not null,
  secret text not null,
  previous_secret text,
  previous_secret_until timestamptz,
  enabled boolean not null default true,
  disabled_reason text,
  last_success_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index webhooks_recruiter_idx on openhire.webhooks (recruiter_id, created_at desc, id desc);

-- One message to one endpoint, and its attempts. The queue: a server claims due rows with
-- `for update skip locked` and moves `next_attempt_at` past the attempt's timeout (a lease), so
-- no two servers make the same attempt at once, and an attempt cut short by a crash is made
-- again once its lease has passed.
create table openhire.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  webhook_id uuid not null references openhire.webhooks (id) on delete cascade,
  -- The `webhook-id` header: the same for every attempt and re-send of one message.
  message_id text not null,
  kind text not null,
  -- The exact body sent and signed.
  body text not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index webhook_deliveries_due_idx on openhire.webhook_deliveries (next_attempt_at)
  where state = 'pending';
create index webhook_deliveries_webhook_idx
  on openhire.webhook_deliveries (webhook_id, created_at desc, id desc);

create table openhire.webhook_attempts (
  delivery_id uuid not null references openhire.webhook_deliveries (id) on delete cascade,
  number integer not null,
  started_at timestamptz not null default now(),
  -- Unset while the attempt runs (or if its server died during it).
  latency_ms integer,
  status_code integer,
  outcome text check (outcome in ('delivered', 'failed', 'timeout', 'refused', 'error')),
  error text,
  primary key (delivery_id, number)
);

revoke all on table openhire.notification_counters, openhire.email_outbox,
  openhire.expiry_reminders, openhire.webhooks, openhire.webhook_deliveries,
  openhire.webhook_attempts
  from public, anon, authenticated, service_role;
alter table openhire.notification_counters enable row level security;
alter table openhire.email_outbox enable row level security;
alter table openhire.expiry_reminders enable row level security;
alter table openhire.webhooks enable row level security;
alter table openhire.webhook_deliveries enable row level security;
alter table openhire.webhook_attempts enable row level security;
