-- Candidates must not read a job's interview before it starts. A job's interview plan holds
-- the recruiter's own questions and the rubric (its descriptions and weights); the API shows
-- it only to the recruiter who posted the job (server/http/jobs.py). This is the same rule for
-- clients that read the database with a user's token (anon, authenticated), and the same rule
-- for the interview log: a question the recruiter injected is not the candidate's to read
-- until it is asked. docs/security.md says what each part defends.
--
-- Self-contained, and safe to run again (tests/test_plan_privacy.py runs it again after
-- granting ALL, as projects created before mid-2026 do by default privileges): it revokes
-- everything anon and authenticated hold on public.jobs and grants back only what they need.

-- What anyone who may see a job may know of its interview: how long it is and what it is
-- scored on, kept by PostgreSQL beside the plan so that it is always the plan's. The fields
-- are picked one by one, never "the plan minus its secrets", so that a field added to the
-- plan later stays private until it is added here. The API's JobListing.interview is the
-- same summary (tests/test_plan_privacy.py checks the two agree).
alter table public.jobs add column if not exists interview_summary jsonb
  generated always as (
    jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set('{}'::jsonb,
      '{question_count}', coalesce(interview_plan -> 'question_count', 'null')),
      '{follow_ups_per_question}', coalesce(interview_plan -> 'follow_ups_per_question', 'null')),
      '{answer_time_limit_s}', coalesce(interview_plan -> 'answer_time_limit_s', 'null')),
      '{total_time_limit_min}', coalesce(interview_plan -> 'total_time_limit_min', 'null')),
      '{criteria}', jsonb_path_query_array(interview_plan, '$.rubric[*].name'))
  ) stored;

-- Column privileges only add to a table privilege, so the table privilege goes first (and
-- revoking it on the table revokes every column privilege with it). Every column but the plan
-- is readable; the writes are those of 20261126010000_job_plans.sql. A client that asks for
-- every column (`select *`, PostgREST's default) is refused: it must name the columns.
revoke all on public.jobs from anon, authenticated;
grant select (id, recruiter_id, title, description, job_type, location, remote, salary_min,
  salary_max, salary_currency, required_skills, status, created_at, updated_at, title_lower,
  interview_summary)
  on public.jobs to anon, authenticated;
grant insert (recruiter_id, title, description, job_type, location, remote, salary_min,
  salary_max, salary_currency, required_skills, status)
  on public.jobs to authenticated;
grant update (title, description, job_type, location, remote, salary_min, salary_max,
  salary_currency, required_skills, status)
  on public.jobs to authenticated;
grant delete on public.jobs to authenticated;

-- The recruiter who posted a job reads its plan through this function: a column privilege
-- cannot depend on the row. A function rather than a security definer view, which would
-- bypass the policies on every row it shows (and which Supabase's advisor flags as an error).
create or replace function public.job_interview_plan(p_job_id uuid) returns jsonb
  language sql stable security definer
  set search_path = ''
as $$
  select j.interview_plan from public.jobs j
  where j.id = p_job_id and j.recruiter_id = (select auth.uid())
$$;
-- Only `authenticated` calls it (`service_role` reads the column itself); the revoke covers
-- what older projects' default privileges give every new function.
revoke all on function public.job_interview_plan(uuid)
  from public, anon, authenticated, service_role;
grant execute on function public.job_interview_plan(uuid) to authenticated;

-- The interview log: the job's recruiter reads all of it; the candidate all but the entries
-- that announce a question before it is asked (HIDDEN_FROM_CANDIDATE in
-- server/sessions/session.py). The question itself is logged as `question` when it is asked.
drop policy if exists interview_events_select on public.interview_events;
create policy interview_events_select on public.interview_events for select to authenticated
  using (exists (
    select 1 from public.interviews i where i.id = interview_events.interview_id
      and (i.recruiter_id = (select auth.uid())
        or (i.candidate_id = (select auth.uid())
          and interview_events.kind <> 'question.injected'))
  ));
