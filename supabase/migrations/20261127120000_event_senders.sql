-- Client ids are their sender's own: the candidate and a recruiter may well pick the same one
-- ("x", "1"), and neither may then swallow the other's message. An event written for a client
-- message names who sent it, 'candidate:<user id>' or 'recruiter:<user id>', and a client id is
-- unique per interview and sender (it was per interview).
alter table public.interview_events add column sender text;

-- Events logged before this migration: the kind says whose message it was.
update public.interview_events e
   set sender = case
         when e.kind in ('answer', 'proctor', 'screenshot')
           or (e.kind = 'end.requested' and e.data ->> 'by' = 'candidate')
         then 'candidate:' || i.candidate_id
         else 'recruiter:' || i.recruiter_id
       end
  from public.interviews i
 where i.id = e.interview_id and e.client_id is not null;

alter table public.interview_events add constraint interview_events_sender_check check (
  (client_id is null) = (sender is null)
  and (sender is null or sender ~ '^(candidate|recruiter):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
);

drop index public.interview_events_client_id_idx;
create unique index interview_events_sender_client_id_idx
  on public.interview_events (interview_id, sender, client_id) where client_id is not null;
