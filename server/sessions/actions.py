"""The vocabulary of a live interview: the entries its state machine proposes for the log, and
the actions it asks its shell to carry out. Plain data in the interview's own terms (no column
names, no blob keys, no socket); no I/O.

``Action`` is a closed union: the shell (``server.sessions.live``) matches on it, and mypy
checks that every kind is handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from server.protocol.codes import CloseCode
from server.protocol.messages import Event, ServerMessage

# Who a reply goes to: "candidate", or a watcher's id ("server" for entries nobody sent).
Origin = str
# Who sent a client message, as logged: "candidate:<user id>" or "recruiter:<user id>".
# Client ids are deduplicated per sender, never across senders.
Sender = str
DisconnectCause = Literal["reload", "network_drop", "server_restart"]


def sent_by_candidate(sender: Sender | None) -> bool:
    return sender is not None and sender.split(":", 1)[0] == "candidate"


class Timer(StrEnum):
    ANSWER = "answer"
    ANSWER_WARNING = "answer_warning"
    TOTAL = "total"
    TOTAL_WARNING = "total_warning"
    GRACE = "grace"  # how long a dropped candidate has to come back


# --- the log --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of an interview's log, at the next offset: proposed by the session, stored
    by the log's owner (``server.store.interview_log``), read back to rebuild the session and
    to replay to watchers."""

    offset: int
    kind: str
    data: dict[str, Any]
    at: datetime
    client_id: str | None = None
    sender: Sender | None = None

    def as_event(self) -> Event:
        """The entry as a watcher receives it."""
        return Event(offset=self.offset, at=self.at, kind=self.kind, data=self.data)


@dataclass(frozen=True, slots=True)
class Screenshot:
    """A checked camera image, kept with its ``screenshot`` entry."""

    image: bytes
    content_type: str  # image/jpeg or image/png


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording segment already in the blob store under ``key`` (its entry names it): the
    log only records it, after it is stored."""

    key: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Started:
    """The candidate joined: the interview is in progress from ``at``."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Concluded:
    """The interview is over: completed (with its evaluation, if one was produced) or
    abandoned. ``to_review``: its application goes on to the recruiter's review."""

    state: Literal["completed", "abandoned"]
    reason: str
    at: datetime
    evaluation: dict[str, Any] | None = None
    to_review: bool = False


# How the interview itself changes with an entry, in the same transaction as the entry.
Milestone = Started | Concluded


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persist:
    """Append ``entry`` to the log, with what goes with it, and report back when committed.
    ``generation`` is the session's when it proposed the entry: after a failure resets the
    session, entries of an older generation are not written (see InterviewSession.failed)."""

    entry: LogEntry
    generation: int = 0
    screenshot: Screenshot | None = None
    milestone: Milestone | None = None
    recording: Recording | None = None


@dataclass(frozen=True, slots=True)
class SendCandidate:
    message: ServerMessage


@dataclass(frozen=True, slots=True)
class SendWatcher:
    watcher_id: str
    message: ServerMessage


@dataclass(frozen=True, slots=True)
class SendWatchers:
    """Live-only messages for every watcher (question deltas); logged events reach watchers
    when committed, not through this."""

    message: ServerMessage


@dataclass(frozen=True, slots=True)
class ArmTimer:
    name: Timer
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: Timer


@dataclass(frozen=True, slots=True)
class RequestQuestion:
    question_id: str
    kind: Literal["main", "follow_up"]
    index: int


@dataclass(frozen=True, slots=True)
class RequestEvaluation:
    reason: str


@dataclass(frozen=True, slots=True)
class CloseCandidate:
    """Send ``final`` (if any) and close the candidate's socket, once every event persisted
    so far is committed: so a client told the interview ended finds it ended over HTTP."""

    code: CloseCode
    reason: str
    final: ServerMessage | None = None


@dataclass(frozen=True, slots=True)
class Reset:
    """An event failed for good and the session went back to its committed state: drop
    every timer, interviewer request and pending close; the actions that follow re-arm what
    still holds."""


@dataclass(frozen=True, slots=True)
class Finished:
    """The interview is over and every event is handed to persistence: close watchers once
    they have received them, and forget the session."""

    state: str
    reason: str


Action = (
    Persist | SendCandidate | SendWatcher | SendWatchers | ArmTimer | CancelTimer
    | RequestQuestion | RequestEvaluation | CloseCandidate | Reset | Finished
)  # fmt: skip
