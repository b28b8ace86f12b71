"""SessionManager: the registry of live interviews in this process.

It loads a LiveInterview on first use (a candidate or a watcher connecting), rebuilding its
session from the event log when the interview was already in progress (after a restart), and
forgets it when it ends. At start-up it restores every interview left in progress so that
their timers keep running; at shutdown it closes every socket with 1012.

Behind several nodes (``cluster`` set) it runs only the interviews this node owns: a
candidate's socket here claims its interview (``get``: the owner elsewhere is asked to hand it
over, or its lease is waited out, then the fencing epoch is raised and the session rebuilt from
the log, as after a restart); another node's claim hands one over (``hand_over``); interviews
whose owner died with nobody reconnecting are adopted by a sweep; a recruiter's command from
any node reaches the owner (``watcher_command``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from server.background import BackgroundTask
from server.config import Settings
from server.errors import ClusterUnavailable, InterviewOver, NotFound, OpenHireError
from server.interviewer.base import Criterion, Interviewer, JobBrief
from server.media.hub import MediaHub
from server.protocol.codec import decode_watcher
from server.protocol.codes import CloseCode
from server.protocol.messages import End, InjectQuestion
from server.sessions.cluster import STREAM_OUTBOX_ID, Cluster, RemoteWatcher, StreamOutbox
from server.sessions.live import LiveInterview
from server.sessions.persistence import EventWriter
from server.sessions.session import InterviewSession, SessionConfig
from server.speech.synthesize import Synthesizer
from server.speech.transcribe import Transcriber
from server.store.database import Pool
from server.store.interview_log import InterviewLog

log = structlog.get_logger(__name__)

ENDED_STATES = frozenset({"completed", "abandoned", "expired"})


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


def session_config(
    plan: dict[str, Any], settings: Settings, extra_time_percent: int = 0
) -> SessionConfig:
    # Extra time (an accommodation the recruiter sets) stretches both limits, rounded up.
    stretch = 1 + max(0, extra_time_percent) / 100
    return SessionConfig(
        question_count=int(plan["question_count"]),
        follow_ups_per_question=int(plan["follow_ups_per_question"]),
        answer_time_limit_s=math.ceil(int(plan["answer_time_limit_s"]) * stretch),
        total_time_limit_s=math.ceil(int(plan["total_time_limit_min"]) * 60 * stretch),
        screenshot_interval_s=settings.screenshot_interval_s,
        reconnect_grace_s=settings.reconnect_grace_s,
        answer_mode=str(plan.get("answer_mode", "text")),
    )


class SessionManager:
    def __init__(
        self,
        pool: Pool,
        interview_log: InterviewLog,
        writer: EventWriter,
        interviewer: Interviewer,
        settings: Settings,
        cluster: Cluster | None = None,
        media: MediaHub | None = None,
        transcriber: Transcriber | None = None,
        synthesizer: Synthesizer | None = None,
    ) -> None:
        self.pool = pool
        self.media = media
        self.transcriber = transcriber
        self.synthesizer = synthesizer
        self.interview_log = interview_log
        self.writer = writer
        self.interviewer = interviewer
        self.settings = settings
        self.cluster = cluster
        self.live: dict[uuid.UUID, LiveInterview] = {}
        self._loading: dict[uuid.UUID, asyncio.Lock] = {}
        # Behind several nodes: this node's watcher sockets, by id, as a way to send them a
        # frame (the owner's answers to their commands); and the manager's own tasks.
        self.watcher_sockets: dict[str, Callable[[str], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper = BackgroundTask(self._sweep, name="cluster-orphans")
        if cluster is not None:
            cluster.node.on("release", self._on_release)
            cluster.node.on("command", self._on_command)
            cluster.node.on("to_watcher", self._on_to_watcher)
            cluster.leases.on_lost(self._on_lease_lost)

    async def get(self, interview_id: uuid.UUID) -> LiveInterview:
        """The live interview, loaded if needed; behind several nodes, claimed for this node
        (a candidate's socket)."""
        if self.cluster is not None:
            return await self._claim(interview_id, self.cluster)
        live = self.live.get(interview_id)
        if live is not None:
            if live.expired(datetime.now(UTC)):
                await self.interview_log.expire(interview_id)
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

    async def _load(self, interview_id: uuid.UUID, epoch: int | None = None) -> LiveInterview:
        row = await self.pool.fetchrow(
            "select i.state, i.expires_at, i.extra_time_percent, i.candidate_id, j.title,"
            " j.description, j.required_skills, j.interview_plan"
            " from public.interviews i join public.jobs j on j.id = i.job_id"
            " where i.id = $1",
            interview_id,
        )
        if row is None:
            raise NotFound(f"no interview with id {interview_id}")
        if row["state"] in ENDED_STATES:
            raise InterviewOver(f"the interview is {row['state']}")
        config = session_config(row["interview_plan"], self.settings, row["extra_time_percent"])
        if row["state"] == "scheduled":
            if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
                await self.interview_log.expire(interview_id)
                raise InterviewOver("the interview has expired")
            session = InterviewSession(interview_id=str(interview_id), config=config)
        else:
            entries = await self.interview_log.read_all(interview_id)
            session = InterviewSession.restore(str(interview_id), config, entries)
        live = LiveInterview(
            interview_id=interview_id,
            session=session,
            job=job_brief(row),
            writer=self.writer,
            interviewer=self.interviewer,
            on_finished=self._forget,
            expires_at=row["expires_at"],
        )
        live.media_hub = self.media
        live.transcriber = self.transcriber
        live.synthesizer = self.synthesizer
        live.candidate_sender = f"candidate:{row['candidate_id']}"
        if epoch is not None and self.cluster is not None:
            live.epoch = epoch
            live.watchers[STREAM_OUTBOX_ID] = StreamOutbox(
                self.cluster.publisher, interview_id, lambda: session.committed_offset
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
            if self.cluster is not None:
                if live.fenced:
                    self.cluster.leases.forget(live.id)
                else:
                    # Ended (everything committed) or given up: free it for the next node.
                    self._spawn(self.cluster.leases.release(live.id))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- behind several nodes -----------------------------------------------------------------

    async def _claim(self, interview_id: uuid.UUID, cluster: Cluster) -> LiveInterview:
        if not cluster.node.healthy:
            raise ClusterUnavailable("the cluster's registry is out of reach; try again shortly")
        lock = self._loading.setdefault(interview_id, asyncio.Lock())
        async with lock:
            live = self.live.get(interview_id)
            if live is not None and not live.fenced and interview_id in cluster.leases.held:
                if live.expired(datetime.now(UTC)):
                    await self.interview_log.expire(interview_id)
                    live.close_all(CloseCode.INTERVIEW_ENDED, "the interview has expired")
                    self._forget(live)
                    raise InterviewOver("the interview has expired")
                return live
            if live is not None:
                # Lost meanwhile (fenced, or the lease went): rebuilt below from the log.
                live.on_fenced()
            waited = await cluster.leases.acquire(interview_id, cluster.takeover_within_s)
            try:
                # Raised before the log is read: a write of the previous owner under way
                # commits first (and is read), any later one is refused.
                epoch = await self.interview_log.take_over(interview_id, cluster.node.name)
                live = await self._load(interview_id, epoch)
            except BaseException:
                await cluster.leases.release(interview_id)
                raise
            self.live[interview_id] = live
            log.info(
                "session.claimed",
                interview_id=str(interview_id),
                epoch=epoch,
                waited_s=round(waited, 3),
                offset=live.session.committed_offset,
            )
        self._loading.pop(interview_id, None)
        return live

    async def hand_over(self, interview_id: uuid.UUID) -> None:
        """Let another node have the interview: stop it here once its log is settled, then
        release the lease."""
        assert self.cluster is not None
        lock = self._loading.setdefault(interview_id, asyncio.Lock())
        async with lock:
            live = self.live.get(interview_id)
            if live is None or live.fenced:
                if interview_id in self.cluster.leases.held:
                    if self.cluster.node.draining:
                        # Stopping: its last entries may still be on their way.
                        await self.writer.drain(within_s=10)
                    await self.cluster.leases.release(interview_id)
                return
            live.hand_over(time.time())
            await live.settled(within_s=5.0)
            if self.live.get(interview_id) is live:
                del self.live[interview_id]
            if not live.fenced:
                await self.cluster.leases.release(interview_id)
            log.info("session.handed_over", interview_id=str(interview_id))
        self._loading.pop(interview_id, None)

    async def _on_release(self, message: dict[str, Any]) -> None:
        await self.hand_over(uuid.UUID(message["interview"]))

    def _on_lease_lost(self, interview_id: uuid.UUID) -> None:
        live = self.live.get(interview_id)
        if live is not None:
            live.on_fenced()

    async def watcher_state(self, interview_id: uuid.UUID) -> tuple[str, int]:
        """A watcher's view on any node: the interview's state and last offset, read from
        the database (the owner may be elsewhere). Refuses an ended or unknown interview as
        ``get`` does."""
        row = await self.pool.fetchrow(
            "select state, expires_at from public.interviews where id = $1", interview_id
        )
        if row is None:
            raise NotFound(f"no interview with id {interview_id}")
        if row["state"] in ENDED_STATES:
            raise InterviewOver(f"the interview is {row['state']}")
        if (
            row["state"] == "scheduled"
            and row["expires_at"] is not None
            and row["expires_at"] <= datetime.now(UTC)
        ):
            await self.interview_log.expire(interview_id)
            raise InterviewOver("the interview has expired")
        return row["state"], await self.interview_log.last_offset(interview_id)

    async def watcher_command(
        self, interview_id: uuid.UUID, watcher_id: str, message: InjectQuestion | End, sender: str
    ) -> None:
        """A recruiter's command from a watcher socket on this node, carried out by the
        interview's owner wherever it is (this node when nobody owns it)."""
        assert self.cluster is not None
        cluster = self.cluster
        owner = await cluster.leases.owner(interview_id)
        if owner is not None and owner != cluster.node.name:
            if not await cluster.node.send(
                owner,
                {
                    "op": "command",
                    "interview": str(interview_id),
                    "origin": cluster.node.name,
                    "watcher": watcher_id,
                    "sender": sender,
                    "frame": message.model_dump_json(),
                },
            ):
                raise ClusterUnavailable("the cluster's registry is out of reach")
            return
        live = await self._claim(interview_id, cluster)
        self._command(live, cluster.node.name, watcher_id, message, sender)

    def _command(
        self,
        live: LiveInterview,
        origin: str,
        watcher_id: str,
        message: InjectQuestion | End,
        sender: str,
    ) -> None:
        proxy = RemoteWatcher(origin, watcher_id, self._deliver_to_watcher)
        existing = live.watchers.get(proxy.id)
        if existing is None:
            live.watchers[proxy.id] = proxy
        live.watcher_message(live.watchers[proxy.id], message, sender)

    async def _on_command(self, message: dict[str, Any]) -> None:
        assert self.cluster is not None
        interview_id = uuid.UUID(message["interview"])
        command = decode_watcher(message["frame"])
        live = self.live.get(interview_id)
        if live is None or live.fenced:
            # Moved on meanwhile: pass it to whoever owns it now (or claim it).
            owner = await self.cluster.leases.owner(interview_id)
            if owner is not None and owner != self.cluster.node.name:
                await self.cluster.node.send(owner, message)
                return
            live = await self._claim(interview_id, self.cluster)
        self._command(live, message["origin"], message["watcher"], command, message["sender"])

    def _deliver_to_watcher(self, origin: str, watcher_id: str, frame: str) -> None:
        assert self.cluster is not None
        if origin == self.cluster.node.name:
            send = self.watcher_sockets.get(watcher_id)
            if send is not None:
                send(frame)
            return
        self.cluster.node.post(origin, {"op": "to_watcher", "watcher": watcher_id, "frame": frame})

    async def _on_to_watcher(self, message: dict[str, Any]) -> None:
        send = self.watcher_sockets.get(message["watcher"])
        if send is not None:
            send(message["frame"])

    def start_sweeping(self) -> None:
        """Behind several nodes: adopt interviews in progress that no node owns (their owner
        died, or stopped, and no candidate has reconnected), so that their timers run."""
        self._sweeper.start()

    async def _sweep(self) -> None:
        assert self.cluster is not None
        cluster = self.cluster
        unowned_before: set[uuid.UUID] = set()
        while True:
            await asyncio.sleep(cluster.leases.lease_s * random.uniform(0.8, 1.2))
            if not cluster.node.healthy or cluster.node.draining:
                unowned_before = set()
                continue
            try:
                rows = await self.pool.fetch(
                    "select id from public.interviews where state = 'in_progress'"
                )
                ids = [row["id"] for row in rows]
                owners = await cluster.leases.owners(ids)
                unowned = {i for i, owner in zip(ids, owners, strict=True) if owner is None}
                # Seen unowned twice in a row: not an owner between two renewals.
                for interview_id in unowned & unowned_before:
                    if await cluster.leases.try_acquire(interview_id):
                        with contextlib.suppress(OpenHireError):
                            await self._claim(interview_id, cluster)
                unowned_before = unowned
            except Exception:
                log.exception("cluster.sweep_failed")

    async def release_all(self) -> None:
        """At shutdown, after the writer has drained: free every lease this node held, so
        that the next node takes its interviews at once."""
        if self.cluster is None:
            return
        await self._sweeper.close()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        for interview_id in list(self.cluster.leases.held):
            await self.cluster.leases.release(interview_id)

    async def restore_in_progress(self) -> int:
        if self.cluster is not None:
            # Owned elsewhere, or adopted by the sweep: never all of them here.
            self.start_sweeping()
            return 0
        ids = await self.pool.fetch("select id from public.interviews where state = 'in_progress'")
        for record in ids:
            try:
                await self.get(record["id"])
            except OpenHireError:
                continue
        return len(ids)

    async def shutdown(self, within_s: float) -> None:
        lives = list(self.live.values())
        for live in lives:
            live.shutdown()
        outboxes = [outbox for live in lives for outbox in live.outboxes()]
        if outboxes:
            await asyncio.gather(*(outbox.wait_closed(within_s) for outbox in outboxes))
        self.live.clear()
