-- Evaluations a recruiter can trust and revisit: every evaluation of an interview is kept as a
-- version with what produced it, the candidate reads none of them, and a recruiter can give a
-- candidate extra time. docs/assessment.md says how scores are made; docs/security.md who
-- reads what.
--
-- Revoke, then grant (20261207000000_revoke_then_grant.sql): every table this migration
-- creates or changes loses what the API roles hold on it, then gets exactly what
-- docs/security.md lists, so older and newer Supabase projects end up alike.

-- Extra time, set by the recruiter when scheduling (an accommodation): the session stretches
-- each answer's limit and the whole interview's by this share. It never touches a score.
alter table public.interviews add column if not exists extra_time_percent integer not null
  default 0 check (extra_time_percent between 0 and 200);

-- Every evaluation of an interview, oldest first: version 1 is written with the interview's
-- end (in the same transaction), later ones by a recruiter re-scoring it (after changing the
-- rubric, or with another model). interviews.evaluation holds the latest, for listings.
create table public.interview_evaluations (
  interview_id uuid not null references public.interviews (id) on delete cascade,
  version integer not null check (version >= 1),
  -- The evaluation as the interviewer returned it (scores, evidence, strengths, concerns,
  -- recommendation, the rubric it was scored against, the proctoring summary kept beside it).
  evaluation jsonb not null,
  -- What produced it, also inside evaluation, here for listing and filtering.
  interviewer text not null,
  model text not null,
  prompt_version text not null,
  rubric_version text not null,
  scorer_version text not null default '',
  reason text not null check (reason in ('interview_completed', 'rescored')),
  -- Who asked for it: null for the one written when the interview ended.
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (interview_id, version)
);

-- What was stored before this migration becomes version 1 (an evaluation that failed, stored
-- as {"error": ...}, is not an evaluation).
insert into public.interview_evaluations (interview_id, version, evaluation, interviewer, model,
  prompt_version, rubric_version, scorer_version, reason, created_at)
select i.id, 1, i.evaluation, i.evaluation ->> 'interviewer', i.evaluation ->> 'model',
  i.evaluation ->> 'prompt_version', i.evaluation ->> 'rubric_version',
  coalesce(i.evaluation ->> 'scorer_version', ''), 'interview_completed',
  coalesce(i.ended_at, i.updated_at)
from public.interviews i
where i.evaluation is not null and i.evaluation ? 'criteria' and i.evaluation ? 'model'
on conflict do nothing;

alter table public.interview_evaluations enable row level security;
revoke all on table public.interview_evaluations from public, anon, authenticated, service_role;
grant select on public.interview_evaluations to authenticated;
grant select, insert, update, delete on public.interview_evaluations to service_role;
-- The job's recruiter only: a candidate reads no score, no rubric weight, no quote chosen.
create policy interview_evaluations_select on public.interview_evaluations
  for select to authenticated
  using (exists (
    select 1 from public.interviews i
    where i.id = interview_evaluations.interview_id and i.recruiter_id = (select auth.uid())
  ));

-- The interview row: both parties read it, but its evaluation column is the recruiter's (the
-- candidate's policy cannot hide a column, so the column is not granted; recruiters read
-- evaluations from interview_evaluations). REVOKE ALL also takes the column privileges.
revoke all on table public.interviews from public, anon, authenticated, service_role;
grant select (id, application_id, job_id, candidate_id, recruiter_id, state, state_reason,
  expires_at, started_at, ended_at, created_at, updated_at, extra_time_percent)
  on public.interviews to authenticated;
grant select, insert, update, delete on public.interviews to service_role;

-- The log: the candidate no longer reads the `evaluation` entry either (HIDDEN_FROM_CANDIDATE
-- in server/sessions/session.py is the same list).
drop policy if exists interview_events_select on public.interview_events;
create policy interview_events_select on public.interview_events for select to authenticated
  using (exists (
    select 1 from public.interviews i where i.id = interview_events.interview_id
      and (i.recruiter_id = (select auth.uid())
        or (i.candidate_id = (select auth.uid())
          and interview_events.kind not in ('question.injected', 'evaluation')))
  ));
