-- Interview recordings (issue 13): the private bucket for the candidate's audio and video,
-- kept in closed WebM segments of about 10 s. Object names are "<interview id>/<file>.webm"
-- (the server's blob key `recordings/<interview id>/<file>` without its bucket). Declared in
-- supabase/config.toml too; keep the two in step. The limit is Storage's global one (10 MiB):
-- a 10 s segment of 720p VP8 is about 2 MiB.
--
-- Only the server writes objects (service role); who may read them is as for screenshots: the
-- interview's candidate and its recruiter.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('recordings', 'recordings', false, 10485760, array['audio/webm', 'video/webm'])
on conflict (id) do update set
  name = excluded.name,
  public = excluded.public,
  file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

drop policy if exists openhire_recordings_select on storage.objects;
create policy openhire_recordings_select on storage.objects for select to authenticated
  using (
    bucket_id = 'recordings'
    and public.can_read_interview(public.storage_object_folder_id(name))
  );
