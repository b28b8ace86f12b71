"""The expiry scheduler: every ``every_s``, a scheduled interview past its expiry is expired
(its recruiter notified, ``interview.expired``), and one that expires within ``remind_before_s``
reminds its candidate once (``interview.expiring``, and an email where SMTP is configured).

Until now an expiry took effect when the interview was next read; the scheduler makes it happen
on time, so the recruiter hears of it. An interview scheduled with less than ``remind_before_s``
to go gets no reminder: its candidate was just told it is there.

Safe with several servers: expiring is an update of a still-scheduled row (the second server's
finds it expired and does nothing), and a reminder is sent by whichever server inserts its row
into ``openhire.expiry_reminders``, in the same transaction as the notification. The interview
row is locked meanwhile (skipped if another transaction holds it), so a reminder never goes
out for an interview that has just started.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from server.background import Periodic
from server.notify.notices import Notice
from server.notify.notifications import Notifications
from server.store.database import Pool
from server.store.interview_log import InterviewLog

log = structlog.get_logger(__name__)

# Looked at per pass, at most; the next pass takes the rest.
BATCH = 100


class ExpiryScheduler:
    def __init__(
        self,
        pool: Pool,
        interview_log: InterviewLog,
        notifications: Notifications,
        *,
        every_s: float,
        remind_before_s: float,
    ) -> None:
        self._pool = pool
        self._interview_log = interview_log
        self._notifications = notifications
        self.every_s = every_s
        self.remind_before = timedelta(seconds=remind_before_s)
        self._periodic = Periodic(
            self.run_once,
            every_s=every_s,
            name="expiry-scheduler",
            failed_event="expiry.pass_failed",
        )

    def start(self) -> None:
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.close()

    async def run_once(self) -> tuple[int, int]:
        """One pass; returns how many interviews it expired and reminded."""
        expired = 0
        due = await self._pool.fetch(
            "select id from public.interviews where state = 'scheduled' and expires_at <= now()"
            " order by expires_at limit $1",
            BATCH,
        )
        for row in due:
            if await self._interview_log.expire(row["id"]):
                expired += 1
        reminded = 0
        soon = await self._pool.fetch(
            "select i.id from public.interviews i where i.state = 'scheduled'"
            " and i.expires_at > now() and i.expires_at <= now() + $1"
            " and i.created_at < i.expires_at - $1"
            " and not exists (select 1 from openhire.expiry_reminders r"
            " where r.interview_id = i.id) order by i.expires_at limit $2",
            self.remind_before,
            BATCH,
        )
        for row in soon:
            if await self._remind(row["id"]):
                reminded += 1
        if expired or reminded:
            log.info("expiry.pass", expired=expired, reminded=reminded)
        return expired, reminded

    async def _remind(self, interview_id: uuid.UUID) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "select i.candidate_id, i.job_id, i.application_id, i.expires_at, j.title"
                " from public.interviews i join public.jobs j on j.id = i.job_id"
                " where i.id = $1 and i.state = 'scheduled' and i.expires_at > now()"
                " for no key update of i skip locked",
                interview_id,
            )
            if row is None:
                return False
            claimed = await conn.fetchval(
                "insert into openhire.expiry_reminders (interview_id) values ($1)"
                " on conflict do nothing returning true",
                interview_id,
            )
            if not claimed:
                return False
            await self._notifications.record(
                conn,
                [
                    Notice(
                        row["candidate_id"],
                        "interview.expiring",
                        job_id=row["job_id"],
                        application_id=row["application_id"],
                        interview_id=interview_id,
                        payload={
                            "job_title": row["title"],
                            "expires_at": row["expires_at"].isoformat(),
                        },
                    )
                ],
            )
        return True
