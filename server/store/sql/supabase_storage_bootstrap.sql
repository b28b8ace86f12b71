-- Supabase Storage's schema on a plain PostgreSQL, as far as bucket declarations and storage
-- policies depend on it: the tables' columns, the helper functions policies call, the grants,
-- row-level security and the guard against deleting objects with SQL. On a Supabase project the
-- Storage service owns and migrates this schema, and this script never runs there. It needs
-- the roles of supabase_bootstrap.sql. It is idempotent, and it also brings up to date the
-- smaller storage tables that earlier OpenHire versions created.

create schema if not exists storage;
grant usage on schema storage to anon, authenticated, service_role;

create table if not exists storage.buckets (
  id text not null primary key,
  name text not null,
  owner uuid, -- deprecated by Supabase in favour of owner_id, still present
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  constraint buckets_name_length_check check (length(name) > 0 and length(name) < 64)
);
alter table storage.buckets
  add column if not exists owner uuid,
  add column if not exists avif_autodetection boolean default false,
  add column if not exists owner_id text;
create unique index if not exists bname on storage.buckets using btree (name);

create table if not exists storage.objects (
  id uuid not null default gen_random_uuid() primary key,
  bucket_id text constraint "objects_bucketId_fkey" references storage.buckets (id),
  name text,
  owner uuid, -- deprecated by Supabase in favour of owner_id, still present
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,
  user_metadata jsonb
);
alter table storage.objects
  add column if not exists last_accessed_at timestamptz default now(),
  add column if not exists path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  add column if not exists version text,
  add column if not exists owner_id text,
  add column if not exists user_metadata jsonb;
create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);

-- The helpers policies use, with Supabase's results: for 'a/b/c.tar.gz' foldername is {a,b},
-- filename 'c.tar.gz', extension 'gz'. A name without a folder has foldername {}; a file name
-- without a dot is its own extension, as in Supabase.
create or replace function storage.foldername(name text) returns text[]
  language sql immutable
as $$
  select parts[1:array_length(parts, 1) - 1] from (select string_to_array(name, '/') as parts) p
$$;

create or replace function storage.filename(name text) returns text
  language sql immutable
as $$
  select parts[array_length(parts, 1)] from (select string_to_array(name, '/') as parts) p
$$;

create or replace function storage.extension(name text) returns text
  language sql immutable
as $$
  select reverse(split_part(reverse(storage.filename(name)), '.', 1))
$$;

grant execute on function storage.foldername(text), storage.filename(text),
  storage.extension(text) to anon, authenticated, service_role;

create or replace function storage.update_updated_at_column() returns trigger
  language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
create or replace trigger update_objects_updated_at before update on storage.objects
  for each row execute function storage.update_updated_at_column();

-- Supabase refuses a DELETE on its storage tables unless the transaction sets
-- storage.allow_delete_query (as its Storage API does), so that a row never disappears while its
-- file stays behind. Policies are then what decides which rows a delete reaches.
create or replace function storage.protect_delete() returns trigger
  language plpgsql
as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.',
            errcode = '42501';
  end if;
  return null;
end
$$;
create or replace trigger protect_buckets_delete before delete on storage.buckets
  for each statement execute function storage.protect_delete();
create or replace trigger protect_objects_delete before delete on storage.objects
  for each statement execute function storage.protect_delete();

-- As on Supabase: the API roles hold the table privileges and row-level security decides which
-- rows they reach; with RLS on and no policy, that is none.
grant select, insert, update, delete on storage.buckets, storage.objects to anon, authenticated;
grant all on storage.buckets, storage.objects to service_role;
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
