"""SessionManager: the registry of live interviews in this process.

It loads a LiveInterview on first use (a candidate or a watcher connecting), rebuilding its
session from the event log when the interview was already in progress (after a restart), and
forgets it when it ends. At start-up it restores every interview left in progress so that
their timers keep running; at shutdown it closes every socket with 1012.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from server.config import Settings
from server.errors import ApiError, NotFound
from server.interviewer.base import Criterion, Interviewer, JobBrief
from server.protocol.codes import CloseCode
from server.sessions.live import LiveInterview
from server.sessions.persistence import EventWriter
from server.sessions.session import InterviewSession, SessionConfig
from server.store.database import Pool

log = structlog.get_logger(__name__)

ENDED_STATES = frozenset({"completed", "abandoned", "expired"})


class InterviewOver(ApiError):
    status = 409
    code = "interview_ended"


def job_brief(job: Any) -> JobBrief:
    plan = job["interview_plan"]
    return JobBrief(
        title=job["title"],
        description=job["description"],
        required_skills=tuple(job["required_skills"]),
        custom_questions=tuple(plan.get("custom_questions", [])),
        rubric=tuple(
            Criterion(c["name"], c.get("description", ""), float(c.get("weight", 1.0)))
            for c in plan["rubric"]
        ),
        question_count=int(plan["question_count"]),
        follow_ups_per_question=int(plan["follow_ups_per_question"]),
    )


def session_config(plan: dict[str, Any], settings: Settings) -> SessionConfig:
    return SessionConfig(
        question_count=int(plan["question_count"]),
        follow_ups_per_question=int(plan["follow_ups_per_question"]),
        answer_time_limit_s=int(plan["answer_time_limit_s"]),
        total_time_limit_s=int(plan["total_time_limit_min"]) * 60,
        screenshot_interval_s=settings.screenshot_interval_s,
        reconnect_grace_s=settings.reconnect_grace_s,
    )


class SessionManager:
    def __init__(
        self, pool: Pool, writer: EventWriter, interviewer: Interviewer, settings: Settings
    ) -> None:
        self.pool = pool
        self.writer = writer
        self.interviewer = interviewer
        self.settings = settings
        self.live: dict[uuid.UUID, LiveInterview] = {}
        self._loading: dict[uuid.UUID, asyncio.Lock] = {}

    async def get(self, interview_id: uuid.UUID) -> LiveInterview:
        live = self.live.get(interview_id)
        if live is not None:
            if live.expired(datetime.now(UTC)):
                async with self.pool.acquire() as conn:
                    await expire_interview(conn, interview_id)
                live.close_all(CloseCode.INTERVIEW_ENDED, "the interview has expired")
                self._forget(live)
                raise InterviewOver("the interview has expired")
            return live
        lock = self._loading.setdefault(interview_id, asyncio.Lock())
        async with lock:
            live = self.live.get(interview_id)
            if live is None:
                live = await self._load(interview_id)
                self.live[interview_id] = live
        self._loading.pop(interview_id, None)
        return live

    async def _load(self, interview_id: uuid.UUID) -> LiveInterview:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "select i.state, i.expires_at, j.title, j.description, j.required_skills,"
                " j.interview_plan from public.interviews i join public.jobs j on j.id = i.job_id"
                " where i.id = $1",
                interview_id,
            )
            if row is None:
                raise NotFound(f"no interview with id {interview_id}")
            if row["state"] in ENDED_STATES:
                raise InterviewOver(f"the interview is {row['state']}")
            config = session_config(row["interview_plan"], self.settings)
            if row["state"] == "scheduled":
                if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
                    await expire_interview(conn, interview_id)
                    raise InterviewOver("the interview has expired")
                session = InterviewSession(interview_id=str(interview_id), config=config)
            else:
                events = await conn.fetch(
                    'select "offset", kind, data, client_id, created_at'
                    ' from public.interview_events where interview_id = $1 order by "offset"',
                    interview_id,
                )
                session = InterviewSession.restore(
                    str(interview_id),
                    config,
                    [tuple(e.values()) for e in events],
                )
        live = LiveInterview(
            interview_id=interview_id,
            session=session,
            job=job_brief(row),
            writer=self.writer,
            interviewer=self.interviewer,
            on_finished=self._forget,
            expires_at=row["expires_at"],
        )
        if row["state"] == "in_progress":
            live.apply(session.resume(time.time()))
            log.info(
                "session.restored", interview_id=str(interview_id), offset=session.committed_offset
            )
        return live

    def _forget(self, live: LiveInterview) -> None:
        if self.live.get(live.id) is live:
            del self.live[live.id]

    async def restore_in_progress(self) -> int:
        ids = await self.pool.fetch("select id from public.interviews where state = 'in_progress'")
        for record in ids:
            try:
                await self.get(record["id"])
            except ApiError:
                continue
        return len(ids)

    async def shutdown(self, within_s: float) -> None:
        lives = list(self.live.values())
        for live in lives:
            live.shutdown()
        connections = [c for live in lives for c in ([live.candidate] if live.candidate else [])]
        connections += [w.connection for live in lives for w in live.watchers.values()]
        if connections:
            await asyncio.gather(*(c.wait_closed(within_s) for c in connections))
        self.live.clear()


async def expire_interview(conn: Any, interview_id: uuid.UUID) -> None:
    """Mark a scheduled interview whose expiry passed as expired, with its log entry."""
    async with conn.transaction():
        updated = await conn.fetchval(
            "update public.interviews set state = 'expired', state_reason = 'not_started_in_time',"
            " ended_at = now() where id = $1 and state = 'scheduled' returning id",
            interview_id,
        )
        if updated is not None:
            await conn.execute(
                'insert into public.interview_events (interview_id, "offset", kind, data)'
                ' values ($1, coalesce((select max("offset") from public.interview_events'
                " where interview_id = $1), 0) + 1, 'state', $2)",
                interview_id,
                {"state": "expired", "reason": "not_started_in_time"},
            )
