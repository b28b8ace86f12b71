-- Revoke, then grant: the API roles' privileges on everything OpenHire keeps in `public`, stated
-- whole, so that they are the same on every database the migrations reach.
--
-- A Supabase project created before 2026-05-30 has default privileges that give `anon`,
-- `authenticated` and `service_role` ALL on every new table in `public` and EXECUTE on every new
-- function; newer projects still give TRUNCATE, REFERENCES and TRIGGER on new tables; a plain
-- PostgreSQL gives EXECUTE on functions to PUBLIC. A GRANT only adds to what is already there,
-- and a column-level GRANT removes nothing from a table-level one: on an older project the
-- earlier migrations' column lists (a user's email, an application's résumé key and dates) held
-- nothing back. So every table and function first loses everything the API roles (and PUBLIC)
-- hold on it, then gets exactly what docs/security.md lists. Any later migration that creates or
-- changes a table, view or function in `public` must do the same: tests/test_rls.py compares
-- every object's effective privileges with its expected list under each regime.

-- Tables. REVOKE ALL on a table also takes back its column privileges.
revoke all on table public.users, public.jobs, public.applications, public.interviews,
  public.interview_events, public.interview_artifacts
  from public, anon, authenticated, service_role;

-- The Data API with a user's token (row-level security decides which rows).
grant select on public.jobs to anon;
grant select, update (full_name) on public.users to authenticated;
-- A job's id, dates and interview plan are the server's to set (20261126000000_storage.sql,
-- 20261126010000_job_plans.sql).
grant select, delete on public.jobs to authenticated;
grant insert (recruiter_id, title, description, job_type, location, remote, salary_min,
  salary_max, salary_currency, required_skills, status)
  on public.jobs to authenticated;
grant update (title, description, job_type, location, remote, salary_min, salary_max,
  salary_currency, required_skills, status)
  on public.jobs to authenticated;
-- An application's candidate, job, résumé and dates are the server's to set; a user may only
-- apply and move its status (the policies and the transition trigger say how).
grant select, insert (job_id, candidate_id, cover_letter), update (status)
  on public.applications to authenticated;
grant select on public.interviews, public.interview_events, public.interview_artifacts
  to authenticated;
-- The service key's role bypasses row-level security; it gets the Data API's four privileges,
-- as Supabase grants them, and never TRUNCATE, REFERENCES or TRIGGER.
grant select, insert, update, delete on public.users, public.jobs, public.applications,
  public.interviews, public.interview_events, public.interview_artifacts to service_role;

-- Functions. Trigger functions run without EXECUTE; nobody calls them directly.
revoke all on function public.touch_updated_at(), public.check_application_transition(),
  public.is_job_recruiter(uuid), public.current_app_role(), public.is_candidate_of_recruiter(uuid),
  public.storage_object_folder_id(text), public.can_read_application(uuid),
  public.can_read_interview(uuid)
  from public, anon, authenticated, service_role;
-- The helpers policies call: only `authenticated` has policies that use them (`anon` reads open
-- jobs by their status alone), and `service_role` for tools that check a user's access.
grant execute on function public.is_job_recruiter(uuid), public.current_app_role(),
  public.is_candidate_of_recruiter(uuid), public.storage_object_folder_id(text),
  public.can_read_application(uuid), public.can_read_interview(uuid)
  to authenticated, service_role;
