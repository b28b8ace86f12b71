-- Supabase Realtime's publication on a plain PostgreSQL: migrations add the tables a frontend may
-- subscribe to (`alter publication supabase_realtime add table ...`), so it must exist. On a
-- Supabase project Realtime creates it, and this script never runs there. Without
-- `wal_level = logical` nothing is ever published from it, which is all a plain PostgreSQL
-- needs: the server itself does not read it. Idempotent.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
