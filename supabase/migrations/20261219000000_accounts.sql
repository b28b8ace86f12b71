-- Accounts and the hiring workflow's gaps (issue 16):
--   * openhire.refresh_tokens: the embedded identity's refresh tokens (hashes only), rotated on
--     every use, in families so that a reused one revokes its whole family;
--   * openhire.password_resets: every reset request (for its rate limit), with the hash of a
--     single-use, expiring token when the account exists, and the token itself only until the
--     mailer has sent it;
--   * openhire.application_notes: the recruiter's note on an application (their decision);
--   * users.company_name: who is hiring, shown on the recruiter's jobs;
--   * interviews.opens_at / closes_at: an optional scheduling window, enforced by the server.
-- Revoke, then grant (docs/security.md).

create table openhire.refresh_tokens (
  token_hash bytea primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  family uuid not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Set when it was exchanged for its successor; presented again after that, it is reuse.
  rotated_at timestamptz,
  revoked_at timestamptz
);
create index refresh_tokens_family_idx on openhire.refresh_tokens (family);
create index refresh_tokens_user_idx on openhire.refresh_tokens (user_id);

create table openhire.password_resets (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  address text not null,
  requested_at timestamptz not null default now(),
  user_id uuid references auth.users (id) on delete cascade,
  token_hash bytea unique,
  expires_at timestamptz,
  used_at timestamptz,
  -- The token in clear, for the mailer only, cleared once sent (or given up).
  mail_token text,
  mail_attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  sent_at timestamptz
);
create index password_resets_email_idx on openhire.password_resets (lower(email), requested_at);
create index password_resets_address_idx on openhire.password_resets (address, requested_at);
create index password_resets_mail_idx on openhire.password_resets (next_attempt_at)
  where mail_token is not null;

create table openhire.application_notes (
  application_id uuid primary key references public.applications (id) on delete cascade,
  note text not null check (char_length(note) <= 5000),
  written_by uuid not null references public.users (id) on delete cascade,
  updated_at timestamptz not null default now()
);

revoke all on table openhire.refresh_tokens, openhire.password_resets,
  openhire.application_notes
  from public, anon, authenticated, service_role;
alter table openhire.refresh_tokens enable row level security;
alter table openhire.password_resets enable row level security;
alter table openhire.application_notes enable row level security;

alter table public.users add column if not exists company_name text
  check (company_name is null or char_length(company_name) between 1 and 200);

alter table public.interviews add column if not exists opens_at timestamptz;
alter table public.interviews add column if not exists closes_at timestamptz;
alter table public.interviews add constraint interviews_window_order
  check (opens_at is null or closes_at is null or opens_at < closes_at);

-- users: a user reads themselves (and a recruiter their candidates, by policy) and changes
-- their own full_name and company_name, never email or role.
revoke all on table public.users from public, anon, authenticated, service_role;
grant select, update (full_name, company_name) on public.users to authenticated;
grant select, insert, update, delete on public.users to service_role;

-- interviews: every column but evaluation, now with the window.
revoke all on table public.interviews from public, anon, authenticated, service_role;
grant select (id, application_id, job_id, candidate_id, recruiter_id, state, state_reason,
  expires_at, started_at, ended_at, created_at, updated_at, extra_time_percent, opens_at,
  closes_at)
  on public.interviews to authenticated;
grant select, insert, update, delete on public.interviews to service_role;
