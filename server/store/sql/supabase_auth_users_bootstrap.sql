-- What Supabase Auth's own schema has and supabase_bootstrap.sql's auth.users lacks, so that
-- supabase/seed.sql writes accounts a real Auth server can log in. This is not a migration: it
-- runs only where auth.identities is missing (never on a Supabase project), after
-- supabase_bootstrap.sql; it only adds, and it is idempotent.

-- The columns of auth.users that Supabase Auth's password log-in reads (supabase/auth:
-- models.FindUserByEmailAndAudience and the columns it scans), with its types and defaults, so
-- that what is seeded here is what a real Auth server would find: its instance, audience,
-- confirmation, and the token columns it reads as strings. Those without a default are NULL unless written, as in Supabase, and Auth
-- fails on a NULL there ("Database error querying schema").
alter table auth.users
  add column if not exists instance_id uuid,
  add column if not exists aud varchar(255),
  add column if not exists role varchar(255),
  add column if not exists email_confirmed_at timestamptz,
  add column if not exists last_sign_in_at timestamptz,
  add column if not exists confirmation_token varchar(255),
  add column if not exists recovery_token varchar(255),
  add column if not exists email_change_token_new varchar(255),
  add column if not exists email_change varchar(255),
  add column if not exists email_change_token_current varchar(255) default '',
  add column if not exists phone_change text default '',
  add column if not exists phone_change_token varchar(255) default '',
  add column if not exists reauthentication_token varchar(255) default '',
  add column if not exists is_sso_user boolean not null default false,
  add column if not exists is_anonymous boolean not null default false;

-- Supabase Auth's identities: one per way a user signs in ("email" for a password), made with
-- every sign-up and listed in the user's `identities`.
create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
