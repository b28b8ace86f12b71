-- OpenHire's core schema: users, jobs, applications, interviews, the interview event log and
-- interview artifacts. Row-level security keeps each user to their own rows for clients that
-- talk to the database with a user's token; the OpenHire server itself connects as a role that
-- bypasses RLS and enforces the same rules in its handlers.

-- Application profile of an identity. The role lives here, never in user_metadata, because a
-- user can edit their own metadata.
create table public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null unique,
  full_name text not null check (char_length(full_name) between 1 and 200),
  role text not null check (role in ('recruiter', 'candidate')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  recruiter_id uuid not null references public.users (id) on delete cascade,
  title text not null check (char_length(title) between 1 and 200),
  description text not null,
  job_type text not null
    check (job_type in ('full_time', 'part_time', 'contract', 'internship', 'temporary')),
  location text,
  remote boolean not null default false,
  salary_min integer check (salary_min >= 0),
  salary_max integer check (salary_max >= 0),
  salary_currency text check (salary_currency ~ '^[A-Z]{3}$'),
  required_skills text[] not null default '{}',
  status text not null default 'open' check (status in ('open', 'closed')),
  interview_plan jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The title as searched and sorted: case-insensitively. Stored, so that an index can carry
  -- it and a search need not lower every title it looks at.
  title_lower text generated always as (lower(title)) stored,
  constraint jobs_salary_range check (salary_min is null or salary_max is null or salary_min <= salary_max)
);

-- One index per filter, each ending in the default sort, plus one per sort key. Sort keys are
-- never null (coalesce) so that keyset pagination over them is exact. The sort keys' indexes
-- also carry every filtered column, so that GET /jobs finds a page, and counts its matches,
-- by an index-only scan of a narrow index instead of reading the wide rows (description,
-- interview plan) it then skips; only the page's own rows are read in full. (An expression
-- key needs its column included for that, hence salary_min and salary_max.)
create index jobs_recruiter_created_idx on public.jobs (recruiter_id, created_at desc, id desc);
create index jobs_status_created_idx on public.jobs (status, created_at desc, id desc);
create index jobs_type_created_idx on public.jobs (job_type, created_at desc, id desc);
create index jobs_location_created_idx on public.jobs (lower(location), created_at desc, id desc);
create index jobs_created_idx on public.jobs (created_at desc, id desc)
  include (status, recruiter_id, job_type, remote, location, title_lower);
create index jobs_salary_min_idx on public.jobs ((coalesce(salary_min, -1)), id)
  include (salary_min, status, recruiter_id, job_type, remote, location, title_lower);
create index jobs_salary_max_idx on public.jobs ((coalesce(salary_max, -1)), id)
  include (salary_max, status, recruiter_id, job_type, remote, location, title_lower);
create index jobs_title_idx on public.jobs (title_lower, id)
  include (status, recruiter_id, job_type, remote, location);

-- A case-insensitive substring search wants a trigram index; pg_trgm ships with Supabase and
-- most PostgreSQL packages, but not every build, so it is used where it is available.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
    create extension if not exists pg_trgm with schema extensions;
    execute 'create index jobs_title_trgm_idx on public.jobs using gin (title_lower extensions.gin_trgm_ops)';
  end if;
end
$$;

create table public.applications (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references public.jobs (id) on delete cascade,
  candidate_id uuid not null references public.users (id) on delete cascade,
  cover_letter text not null default '',
  resume_key text,
  resume_filename text,
  resume_size integer,
  status text not null default 'submitted'
    check (status in ('submitted', 'reviewing', 'shortlisted', 'rejected', 'hired', 'withdrawn')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint applications_one_per_job unique (job_id, candidate_id)
);
create index applications_candidate_created_idx on public.applications (candidate_id, created_at desc, id desc);
create index applications_job_status_created_idx on public.applications (job_id, status, created_at desc, id desc);
create index applications_job_created_idx on public.applications (job_id, created_at desc, id desc);

create table public.interviews (
  id uuid primary key default gen_random_uuid(),
  application_id uuid not null references public.applications (id) on delete cascade,
  -- Copied from the application so that access checks and filters need no join.
  job_id uuid not null references public.jobs (id) on delete cascade,
  candidate_id uuid not null references public.users (id) on delete cascade,
  recruiter_id uuid not null references public.users (id) on delete cascade,
  state text not null default 'scheduled'
    check (state in ('scheduled', 'in_progress', 'completed', 'abandoned', 'expired')),
  state_reason text,
  expires_at timestamptz,
  started_at timestamptz,
  ended_at timestamptz,
  evaluation jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index interviews_candidate_idx on public.interviews (candidate_id, created_at desc);
create index interviews_recruiter_state_idx on public.interviews (recruiter_id, state, created_at desc);
create index interviews_application_idx on public.interviews (application_id);

-- The append-only log of everything that happens in an interview. offset is dense per
-- interview; client_id makes a resent client message a no-op.
create table public.interview_events (
  interview_id uuid not null references public.interviews (id) on delete cascade,
  "offset" bigint not null check ("offset" >= 1),
  kind text not null,
  data jsonb not null default '{}'::jsonb,
  client_id text,
  created_at timestamptz not null default now(),
  primary key (interview_id, "offset")
);
create unique index interview_events_client_id_idx
  on public.interview_events (interview_id, client_id) where client_id is not null;

create table public.interview_artifacts (
  id uuid primary key default gen_random_uuid(),
  interview_id uuid not null references public.interviews (id) on delete cascade,
  kind text not null check (kind in ('screenshot', 'recording', 'resume')),
  blob_key text not null unique,
  content_type text not null,
  size_bytes integer not null check (size_bytes >= 0),
  width integer,
  height integer,
  event_offset bigint,
  created_at timestamptz not null default now()
);
create index interview_artifacts_interview_idx on public.interview_artifacts (interview_id, created_at);

-- Keep updated_at true on every update.
create or replace function public.touch_updated_at() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
create trigger users_touch before update on public.users
  for each row execute function public.touch_updated_at();
create trigger jobs_touch before update on public.jobs
  for each row execute function public.touch_updated_at();
create trigger applications_touch before update on public.applications
  for each row execute function public.touch_updated_at();
create trigger interviews_touch before update on public.interviews
  for each row execute function public.touch_updated_at();

-- Helpers for policies. security definer so that a policy on one table can look at another
-- without recursing through that table's own policies.
create or replace function public.is_job_recruiter(p_job_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j where j.id = p_job_id and j.recruiter_id = (select auth.uid())
  )
$$;

create or replace function public.current_app_role() returns text
  language sql stable security definer
  set search_path = ''
as $$
  select u.role from public.users u where u.id = (select auth.uid())
$$;

create or replace function public.is_candidate_of_recruiter(p_candidate_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1 from public.applications a join public.jobs j on j.id = a.job_id
    where a.candidate_id = p_candidate_id and j.recruiter_id = (select auth.uid())
  )
$$;

revoke all on function public.is_job_recruiter(uuid) from public;
revoke all on function public.current_app_role() from public;
revoke all on function public.is_candidate_of_recruiter(uuid) from public;
grant execute on function public.is_job_recruiter(uuid) to authenticated, service_role;
grant execute on function public.current_app_role() to authenticated, service_role;
grant execute on function public.is_candidate_of_recruiter(uuid) to authenticated, service_role;

alter table public.users enable row level security;
alter table public.jobs enable row level security;
alter table public.applications enable row level security;
alter table public.interviews enable row level security;
alter table public.interview_events enable row level security;
alter table public.interview_artifacts enable row level security;

-- Explicit grants: Supabase no longer grants new tables to the API roles by itself.
grant select on public.jobs to anon;
-- Column lists where a user may write only some columns: the rest (a user's email and role, an
-- application's job, candidate, résumé and dates) are the server's to set.
grant select, update (full_name) on public.users to authenticated;
grant select, insert, update, delete on public.jobs to authenticated;
grant select, insert (job_id, candidate_id, cover_letter), update (status)
  on public.applications to authenticated;
grant select on public.interviews to authenticated;
grant select on public.interview_events to authenticated;
grant select on public.interview_artifacts to authenticated;
grant all on public.users, public.jobs, public.applications, public.interviews,
  public.interview_events, public.interview_artifacts to service_role;

-- users: yourself, and the candidates who applied to your jobs.
create policy users_select on public.users for select to authenticated
  using (id = (select auth.uid()) or public.is_candidate_of_recruiter(id));
create policy users_update_self on public.users for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()) and role = public.current_app_role());

-- jobs: anyone may read open jobs; recruiters manage their own.
create policy jobs_select_open on public.jobs for select to anon, authenticated
  using (status = 'open');
create policy jobs_select_own on public.jobs for select to authenticated
  using (recruiter_id = (select auth.uid()));
create policy jobs_insert_own on public.jobs for insert to authenticated
  with check (recruiter_id = (select auth.uid()) and public.current_app_role() = 'recruiter');
create policy jobs_update_own on public.jobs for update to authenticated
  using (recruiter_id = (select auth.uid()))
  with check (recruiter_id = (select auth.uid()));
create policy jobs_delete_own on public.jobs for delete to authenticated
  using (recruiter_id = (select auth.uid()));

-- applications: candidates see their own, recruiters those for their jobs.
create policy applications_select on public.applications for select to authenticated
  using (candidate_id = (select auth.uid()) or public.is_job_recruiter(job_id));
create policy applications_insert_own on public.applications for insert to authenticated
  with check (
    candidate_id = (select auth.uid())
    and public.current_app_role() = 'candidate'
    and status = 'submitted'
    and exists (select 1 from public.jobs j where j.id = job_id and j.status = 'open')
  );
-- Status changes as the API allows them: the candidate may withdraw, the job's recruiter may
-- set the others; the trigger below keeps to the allowed transitions.
create policy applications_withdraw on public.applications for update to authenticated
  using (candidate_id = (select auth.uid()))
  with check (candidate_id = (select auth.uid()) and status = 'withdrawn');
create policy applications_review on public.applications for update to authenticated
  using (public.is_job_recruiter(job_id))
  with check (
    public.is_job_recruiter(job_id)
    and status in ('reviewing', 'shortlisted', 'rejected', 'hired')
  );

-- The transitions of server/http/applications.py, for clients that write with a user's token
-- (the server checks them itself, under a row lock, before it writes).
create or replace function public.check_application_transition() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if current_user in ('authenticated', 'anon') and new.status is distinct from old.status
    and not (
      (old.status = 'submitted' and new.status in ('reviewing', 'shortlisted', 'rejected', 'withdrawn'))
      or (old.status = 'reviewing' and new.status in ('shortlisted', 'rejected', 'withdrawn'))
      or (old.status = 'shortlisted' and new.status in ('reviewing', 'rejected', 'hired', 'withdrawn'))
    )
  then
    raise exception 'an application that is % cannot become %', old.status, new.status
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger applications_status_transition before update of status on public.applications
  for each row execute function public.check_application_transition();

-- interviews, their events and artifacts: the candidate and the job's recruiter read them;
-- only the server (service_role or the owner) writes them.
create policy interviews_select on public.interviews for select to authenticated
  using (candidate_id = (select auth.uid()) or recruiter_id = (select auth.uid()));
create policy interview_events_select on public.interview_events for select to authenticated
  using (exists (
    select 1 from public.interviews i where i.id = interview_id
      and (i.candidate_id = (select auth.uid()) or i.recruiter_id = (select auth.uid()))
  ));
create policy interview_artifacts_select on public.interview_artifacts for select to authenticated
  using (exists (
    select 1 from public.interviews i where i.id = interview_id
      and (i.candidate_id = (select auth.uid()) or i.recruiter_id = (select auth.uid()))
  ));
