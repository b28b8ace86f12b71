-- Spoken interviews (issue 14): a plan's answer_mode is text, voice or either, default text
-- (InterviewPlan in server/http/jobs.py).
--
-- A job a recruiter inserts directly gets the API's default plan, exactly
-- (20261126010000_job_plans.sql): the default gains answer_mode.
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
       "weight": 0.25}],
    "answer_mode": "text"}'::jsonb;

-- Whether the interview is spoken is the candidate's to know before it starts (a microphone
-- to prepare), so the summary gains it (20261207010000_job_plan_privacy.sql picks the
-- summary's fields one by one). A plan stored before answer_mode existed is a typed one.
-- A generated column's expression cannot be changed in place on every supported PostgreSQL:
-- the column is made again, and its privilege with it (dropping a column drops its grants).
alter table public.jobs drop column if exists interview_summary;
alter table public.jobs add column interview_summary jsonb
  generated always as (
    jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set('{}'::jsonb,
      '{question_count}', coalesce(interview_plan -> 'question_count', 'null')),
      '{follow_ups_per_question}', coalesce(interview_plan -> 'follow_ups_per_question', 'null')),
      '{answer_time_limit_s}', coalesce(interview_plan -> 'answer_time_limit_s', 'null')),
      '{total_time_limit_min}', coalesce(interview_plan -> 'total_time_limit_min', 'null')),
      '{criteria}', jsonb_path_query_array(interview_plan, '$.rubric[*].name')),
      '{answer_mode}', coalesce(interview_plan -> 'answer_mode', '"text"'))
  ) stored;
grant select (interview_summary) on public.jobs to anon, authenticated;

-- A spoken answer's audio is kept beside the WebRTC recordings' segments, as a WAV (16 kHz
-- mono 16-bit: at most 300 s, 9.6 MB, within the bucket's 10 MiB).
update storage.buckets
  set allowed_mime_types = array['audio/webm', 'video/webm', 'audio/wav']
  where id = 'recordings';
