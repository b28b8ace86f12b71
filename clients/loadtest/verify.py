"""The proof that nothing was lost: each interview's event log, read back over the API, against
what the load generator was told.

For every interview: every message the server acked (answer, screenshot, proctoring signal)
is in the log exactly once, under its client id, at the offset its ack named, with the kind
that was sent, and the messages acked the first time they were sent appear in the log in the
order they were acked (a message sent again after a reconnect may get the ack that was lost with
the old socket, after later ones: it is left out of the order check). No
client id appears twice in the log at all, and the log's offsets run 1, 2, 3... with no gap.
Every event a watcher received is the log's event at that offset, and no watcher saw an
offset twice or skipped one. ``check_interview`` is pure, so tests can hand it a tampered log
and see it fail.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from clients.loadtest.roster import auth

# The log's kind for each kind of candidate message the load generator sends.
LOG_KIND = {"answer": "answer", "screenshot": "screenshot", "signal": "proctor"}


@dataclass
class Verdict:
    interview_id: str
    events: int = 0
    acked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_interview(
    interview_id: str,
    acked: Sequence[tuple[str, str, int]],
    log: Sequence[dict[str, Any]],
    watcher_views: Sequence[Sequence[tuple[int, str]]] = (),
    *,
    expect_completed: bool = False,
    resent: Collection[str] = (),
) -> Verdict:
    """``acked``: (client id, kind, offset) in the order the acks arrived; ``log``: the
    events as ``GET /interviews/{id}/events`` returns them, in its order; ``resent``: the client
    ids sent more than once (or refused, then sent again), whose ack may be a lost one's repeat."""
    verdict = Verdict(interview_id, events=len(log), acked=len(acked))
    problems = verdict.problems
    offsets = [event["offset"] for event in log]
    if offsets != list(range(1, len(log) + 1)):
        problems.append(f"log offsets are not 1..{len(log)} in order: {_brief(offsets)}")
    at: dict[str, list[dict[str, Any]]] = {}
    for event in log:
        if event.get("client_id") is not None:
            at.setdefault(event["client_id"], []).append(event)
    for cid, events in at.items():
        if len(events) > 1:
            where = ", ".join(str(e["offset"]) for e in events)
            problems.append(f"duplicate: client id {cid} is logged {len(events)} times ({where})")
    logged_at: list[int] = []
    for cid, kind, offset in acked:
        events = at.get(cid, [])
        if not events:
            problems.append(f"lost: {kind} {cid}, acked at offset {offset}, is not in the log")
            continue
        event = events[0]
        if event["offset"] != offset:
            problems.append(
                f"moved: {kind} {cid} was acked at offset {offset}, logged at {event['offset']}"
            )
        want = LOG_KIND.get(kind)
        if want is not None and event["kind"] != want:
            problems.append(f"wrong kind: {cid} was sent as {kind}, logged as {event['kind']}")
        if cid not in resent:
            logged_at.append(event["offset"])
    if any(b <= a for a, b in itertools.pairwise(logged_at)):
        problems.append(f"out of order: acked messages are logged at offsets {_brief(logged_at)}")
    counts = Counter(cid for cid, _, _ in acked)
    for cid, n in counts.items():
        if n > 1:
            problems.append(f"acked twice as new: {cid} ({n} times)")
    kinds = {event["offset"]: event["kind"] for event in log}
    for w, view in enumerate(watcher_views):
        for offset, kind in view:
            if kinds.get(offset) != kind:
                problems.append(
                    f"watcher {w}: received {kind} at offset {offset}, the log has"
                    f" {kinds.get(offset)}"
                )
                break
        seen = [offset for offset, _ in view]
        if seen != list(range(1, len(seen) + 1)):
            problems.append(f"watcher {w}: received offsets {_brief(seen)}, not 1, 2, 3...")
    if expect_completed:
        states = [e["data"].get("state") for e in log if e["kind"] == "state"]
        if not states or states[-1] != "completed":
            problems.append(f"the log does not end completed (states: {states})")
    return verdict


def _brief(values: Sequence[int], limit: int = 12) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


async def read_log(
    http: httpx.AsyncClient, interview_id: str, token: str, page: int = 1000
) -> list[dict[str, Any]]:
    """The whole event log over the API, following ``next_since``."""
    events: list[dict[str, Any]] = []
    since = 0
    while True:
        resp = await http.get(
            f"/interviews/{interview_id}/events",
            params={"since": since, "limit": page},
            headers=auth(token),
        )
        resp.raise_for_status()
        body = resp.json()
        events += body["items"]
        if body.get("next_since") is None:
            return events
        since = body["next_since"]


async def verify_all(
    base_url: str,
    recruiter_token: str,
    tracks: Sequence[dict[str, Any]],
    *,
    concurrency: int = 16,
    page: int = 1000,
) -> tuple[list[Verdict], dict[str, list[dict[str, Any]]]]:
    """Read every interview's log as its recruiter and check it; returns the verdicts and
    the logs (by interview id)."""
    gate = asyncio.Semaphore(concurrency)
    logs: dict[str, list[dict[str, Any]]] = {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one(track: dict[str, Any]) -> Verdict:
            interview_id = track["interview_id"]
            async with gate:
                log = await read_log(http, interview_id, recruiter_token, page)
            logs[interview_id] = log
            return check_interview(
                interview_id,
                [(cid, kind, offset) for cid, kind, offset in track["acked"]],
                log,
                track["watcher_views"],
                expect_completed=track["outcome"] == "completed",
                resent=set(track.get("resent", ())),
            )

        verdicts = await asyncio.gather(*(one(t) for t in tracks))
    return list(verdicts), logs
