"""Proctoring bookkeeping of one interview: the candidate's signals and every stretch they were
away (a hidden tab, a blurred window) or offline (a reload, a network drop, a server restart).

Fed from the interview's log as it is read (live or replayed), with ``at`` passed in; no I/O.

A tab or window gap runs from ``tab_hidden``/``window_blur`` to ``tab_visible``/``window_focus``
and is closed early by a disconnection. An offline gap runs from a disconnection to the
reconnection, which also closes any open gap. The summary merges overlapping spans per kind,
clips them to the interview, and counts time away only for tab/window gaps and disconnections
only for the candidate's own; a server outage is listed, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.interviewer.base import ProctoringGap, ProctoringSummary
from server.sessions.actions import DisconnectCause

_AWAY_START = frozenset({"tab_hidden", "window_blur"})
_AWAY_END = frozenset({"tab_visible", "window_focus"})
# The candidate's own disconnections; a server restart is the server's.
_OFFLINE_KINDS = frozenset({"reload", "network_drop"})


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


@dataclass(slots=True)
class Gap:
    kind: str  # tab_hidden | window_blur | reload | network_drop | server_restart
    start: float
    end: float | None = None


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching spans joined, in order: time is counted once."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(slots=True)
class Proctoring:
    counts: dict[str, int] = field(default_factory=dict)
    camera_available: bool = True
    # Every stretch the candidate was away or offline, in order; the open ones also here.
    gaps: list[Gap] = field(default_factory=list)
    away: Gap | None = None
    offline: Gap | None = None

    def signal(self, signal: str, at: float) -> None:
        self.counts[signal] = self.counts.get(signal, 0) + 1
        if signal in _AWAY_START and self.away is None and self.offline is None:
            self.away = Gap(signal, at)
            self.gaps.append(self.away)
        elif signal in _AWAY_END:
            self._close_away(at)
        if signal == "camera_unavailable":
            self.camera_available = False

    def media(self, data: dict[str, Any]) -> None:
        """A media health entry (server.media): counted as ``media.<event>`` and, for a
        track's, ``media.<event>.<track>`` (``media.no_media.video``); connection states as
        ``media.connection.<state>``."""
        event = str(data.get("event"))
        self.counts[f"media.{event}"] = self.counts.get(f"media.{event}", 0) + 1
        detail = data.get("track") if event != "connection" else data.get("state")
        if isinstance(detail, str):
            key = f"media.{event}.{detail}"
            self.counts[key] = self.counts.get(key, 0) + 1

    def connected(self, at: float) -> Gap | None:
        """The candidate's socket is back: a (re)loaded room reports its visibility afresh,
        so nothing stays open across. Returns the offline gap this ends, if any."""
        self._close_away(at)
        return self._end_offline(at)

    def disconnected(self, cause: DisconnectCause | str, at: float) -> Gap | None:
        """The candidate's socket went away at ``at``. Returns an offline gap this ends, if
        any: the server's outage is a gap of its own even when the candidate was already
        offline, so that part is never counted against the candidate."""
        self._close_away(at)
        if self.offline is not None and not (
            cause == "server_restart" and self.offline.kind != cause
        ):
            return None
        ended = self._end_offline(at)
        self.offline = Gap(cause, at)
        self.gaps.append(self.offline)
        return ended

    def _close_away(self, at: float) -> None:
        if self.away is not None:
            self.away.end = max(at, self.away.start)
            self.away = None

    def _end_offline(self, at: float) -> Gap | None:
        gap = self.offline
        if gap is None:
            return None
        gap.end = max(at, gap.start)
        self.offline = None
        return gap

    def summary(self, started_at: float | None, until: float | None) -> ProctoringSummary:
        """The gaps, clipped to the interview (from ``started_at`` to ``until``), merged per
        kind of absence so that no second is counted twice."""
        clipped: list[tuple[str, float, float]] = []
        for gap in self.gaps:
            start, end = gap.start, gap.end if gap.end is not None else until
            if end is None:
                continue
            if started_at is not None:
                start, end = max(start, started_at), max(end, started_at)
            if until is not None:
                start, end = min(start, until), min(end, until)
            clipped.append((gap.kind, start, max(start, end)))
        away = _merge([(s, e) for kind, s, e in clipped if kind in _AWAY_START])
        offline = _merge([(s, e) for kind, s, e in clipped if kind in _OFFLINE_KINDS])
        return ProctoringSummary(
            counts=dict(self.counts),
            longest_time_away_s=round(max((e - s for s, e in away), default=0.0), 3),
            total_time_away_s=round(sum(e - s for s, e in away), 3),
            camera_available=self.camera_available,
            times_away=len(away),
            disconnections=len(offline),
            longest_disconnected_s=round(max((e - s for s, e in offline), default=0.0), 3),
            total_disconnected_s=round(sum(e - s for s, e in offline), 3),
            gaps=tuple(
                ProctoringGap(kind, iso(s), iso(e), round(e - s, 3)) for kind, s, e in clipped
            ),
        )
