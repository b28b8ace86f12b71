-- Supabase Storage for OpenHire: the private buckets for résumés and interview screenshots, and
-- who may read their objects. Object names are "<application id>/resume.pdf" in `resumes` and
-- "<interview id>/<offset>.jpg|png" in `screenshots` (the server's blob key without its first
-- segment, which is the bucket). Also closes gaps in the core schema's grants.
--
-- Only the server writes objects: it uploads with the service role key (role service_role,
-- which bypasses RLS). No policy here lets `authenticated` or `anon` insert, update or delete
-- an object, so with row-level security on, none can.

-- The buckets, also declared in supabase/config.toml for `supabase start`. The limits are those
-- the server enforces itself: OPENHIRE_MAX_RESUME_BYTES (10 MiB by default) and 512 KiB per
-- screenshot.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values
  ('resumes', 'resumes', false, 10485760, array['application/pdf']),
  ('screenshots', 'screenshots', false, 524288, array['image/jpeg', 'image/png'])
on conflict (id) do update set
  name = excluded.name,
  public = excluded.public,
  file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

-- The id an object's first folder names: the application of a résumé, the interview of a
-- screenshot. Only an id written as the server writes it (lowercase, hyphenated) counts, which
-- makes the comparison the same as comparing the text with the id's text form while still
-- using the primary key's index. Anything else (no folder, not a uuid, another spelling of
-- one) names nothing: such an object matches no policy rather than failing the query on a cast.
create or replace function public.storage_object_folder_id(p_name text) returns uuid
  language sql immutable
  set search_path = ''
as $$
  select case
    when folder ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then folder::uuid
  end
  from (select (storage.foldername(p_name))[1] as folder) f
$$;

-- Whether the current user may read an application's or an interview's files: its candidate or
-- the recruiter of its job, as for the rows themselves. security definer so that a storage
-- policy does not depend on the grants and policies of the tables it looks at.
create or replace function public.can_read_application(p_application_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1 from public.applications a join public.jobs j on j.id = a.job_id
    where a.id = p_application_id
      and (a.candidate_id = (select auth.uid()) or j.recruiter_id = (select auth.uid()))
  )
$$;

create or replace function public.can_read_interview(p_interview_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1 from public.interviews i
    where i.id = p_interview_id
      and (i.candidate_id = (select auth.uid()) or i.recruiter_id = (select auth.uid()))
  )
$$;

revoke all on function public.storage_object_folder_id(text) from public;
revoke all on function public.can_read_application(uuid) from public;
revoke all on function public.can_read_interview(uuid) from public;
grant execute on function public.storage_object_folder_id(text) to authenticated, service_role;
grant execute on function public.can_read_application(uuid) to authenticated, service_role;
grant execute on function public.can_read_interview(uuid) to authenticated, service_role;

-- Reading (downloads and signed URLs through the Storage API with a user's token). Nothing for
-- anon: both buckets are private.
create policy openhire_resumes_select on storage.objects for select to authenticated
  using (
    bucket_id = 'resumes'
    and public.can_read_application(public.storage_object_folder_id(name))
  );
create policy openhire_screenshots_select on storage.objects for select to authenticated
  using (
    bucket_id = 'screenshots'
    and public.can_read_interview(public.storage_object_folder_id(name))
  );

-- A job's id and dates are the server's to set, as in the API: a recruiter writing to the
-- table directly must not backdate or forward-date a job to move it in everyone's listing.
revoke insert, update on public.jobs from authenticated;
grant insert (recruiter_id, title, description, job_type, location, remote, salary_min,
  salary_max, salary_currency, required_skills, status, interview_plan)
  on public.jobs to authenticated;
grant update (title, description, job_type, location, remote, salary_min, salary_max,
  salary_currency, required_skills, status, interview_plan)
  on public.jobs to authenticated;
