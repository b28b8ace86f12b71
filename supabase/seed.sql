-- Demo data for a local OpenHire: one recruiter, one candidate and one open job.
-- Applied by `supabase db reset` and, with OPENHIRE_DEMO on (the default for the embedded
-- database), by the OpenHire server at start-up. Idempotent.
-- Both accounts log in with the password "openhire-demo" (argon2id hash below), in embedded
-- mode and through Supabase Auth alike (which verifies argon2 hashes too). Never seed a
-- production project with them: the password is published.

-- As Supabase Auth writes its users, so that its password log-in finds them: the default
-- instance, the `authenticated` audience and role, a confirmed email, and '' (not NULL) in the
-- token columns it reads as strings. Plus the "email" identity every sign-up gets.
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, confirmation_token, recovery_token,
  email_change_token_new, email_change, created_at, updated_at
)
values
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-000000000001',
   'authenticated', 'authenticated', 'recruiter@demo.openhire.dev',
   '$argon2id$v=19$m=65536,t=3,p=4$yj0vOihN740lvULCMXYbzg$2x7tD3XzJ0Srpbf0btd8jAB24Bgg/ZR1ydeFMF7V42s',
   now(), '{"provider": "email", "providers": ["email"]}', '{"full_name": "Riley Recruiter"}',
   '', '', '', '', now(), now()),
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-000000000002',
   'authenticated', 'authenticated', 'candidate@demo.openhire.dev',
   '$argon2id$v=19$m=65536,t=3,p=4$yj0vOihN740lvULCMXYbzg$2x7tD3XzJ0Srpbf0btd8jAB24Bgg/ZR1ydeFMF7V42s',
   now(), '{"provider": "email", "providers": ["email"]}', '{"full_name": "Casey Candidate"}',
   '', '', '', '', now(), now())
on conflict (id) do nothing;

insert into auth.identities (
  provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
)
values
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001',
   '{"sub": "00000000-0000-4000-8000-000000000001", "email": "recruiter@demo.openhire.dev",
     "email_verified": true, "phone_verified": false}',
   'email', now(), now(), now()),
  ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002',
   '{"sub": "00000000-0000-4000-8000-000000000002", "email": "candidate@demo.openhire.dev",
     "email_verified": true, "phone_verified": false}',
   'email', now(), now(), now())
on conflict (provider_id, provider) do nothing;

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
