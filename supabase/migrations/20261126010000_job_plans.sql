-- A job's interview plan is validated by the API (InterviewPlan in server/http/jobs.py) and
-- run by the interview sessions, which need every field. A recruiter writing to public.jobs
-- with their own token could store any JSON there and break the job's page and interviews.
-- So only the server's role writes plans; a job a recruiter inserts directly gets the API's
-- default plan (tests/test_rls.py checks the two stay equal).
alter table public.jobs alter column interview_plan set default
  '{"question_count": 5, "follow_ups_per_question": 1, "answer_time_limit_s": 180,
    "total_time_limit_min": 30, "custom_questions": [],
    "rubric": [
      {"name": "Technical depth",
       "description": "Knows the tools and trade-offs of the role''s required skills.",
       "weight": 0.4},
      {"name": "Problem solving",
       "description": "Breaks problems down, weighs options and reasons about failure.",
       "weight": 0.35},
      {"name": "Communication",
       "description": "Answers clearly, concretely and to the point.",
       "weight": 0.25}]}'::jsonb;

revoke insert, update on public.jobs from authenticated;
grant insert (recruiter_id, title, description, job_type, location, remote, salary_min,
  salary_max, salary_currency, required_skills, status)
  on public.jobs to authenticated;
grant update (title, description, job_type, location, remote, salary_min, salary_max,
  salary_currency, required_skills, status)
  on public.jobs to authenticated;
