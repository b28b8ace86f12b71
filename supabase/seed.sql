-- Demo data for a local OpenHire: one recruiter, one candidate and one open job.
-- Applied by `supabase db reset` and, with OPENHIRE_DEMO on (the default for the embedded
-- database), by the OpenHire server at start-up. Idempotent.
-- Both accounts log in with the password "openhire-demo" (argon2id hash below; the hosted
-- Supabase Auth uses its own hashes, so these accounts are for local use only).

insert into auth.users (id, email, encrypted_password, raw_user_meta_data)
values
  ('00000000-0000-4000-8000-000000000001', 'recruiter@demo.openhire.dev',
   '$argon2id$v=19$m=65536,t=3,p=4$yj0vOihN740lvULCMXYbzg$2x7tD3XzJ0Srpbf0btd8jAB24Bgg/ZR1ydeFMF7V42s',
   '{"full_name": "Riley Recruiter"}'),
  ('00000000-0000-4000-8000-000000000002', 'candidate@demo.openhire.dev',
   '$argon2id$v=19$m=65536,t=3,p=4$yj0vOihN740lvULCMXYbzg$2x7tD3XzJ0Srpbf0btd8jAB24Bgg/ZR1ydeFMF7V42s',
   '{"full_name": "Casey Candidate"}')
on conflict (id) do nothing;

insert into public.users (id, email, full_name, role)
values
  ('00000000-0000-4000-8000-000000000001', 'recruiter@demo.openhire.dev', 'Riley Recruiter', 'recruiter'),
  ('00000000-0000-4000-8000-000000000002', 'candidate@demo.openhire.dev', 'Casey Candidate', 'candidate')
on conflict (id) do nothing;

insert into public.jobs (
  id, recruiter_id, title, description, job_type, location, remote,
  salary_min, salary_max, salary_currency, required_skills, status, interview_plan
)
values (
  '00000000-0000-4000-8000-000000000101',
  '00000000-0000-4000-8000-000000000001',
  'Backend Engineer (Python)',
  'Build and run the async services behind a live interview platform: WebSockets, PostgreSQL, and a lot of careful concurrency.',
  'full_time', 'Berlin', true, 70000, 95000, 'EUR',
  array['python', 'asyncio', 'postgresql', 'websockets'],
  'open',
  '{
    "question_count": 4,
    "follow_ups_per_question": 1,
    "answer_time_limit_s": 180,
    "total_time_limit_min": 30,
    "custom_questions": ["Tell us about a production incident you helped resolve."],
    "rubric": [
      {"name": "Technical depth", "description": "Understands the tools and trade-offs they mention.", "weight": 0.4},
      {"name": "Problem solving", "description": "Breaks problems down and reasons about failure.", "weight": 0.35},
      {"name": "Communication", "description": "Answers clearly and to the point.", "weight": 0.25}
    ]
  }'::jsonb
)
on conflict (id) do nothing;
