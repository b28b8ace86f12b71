"""One typed model per wire message, with a literal ``type`` tag.

Client messages forbid unknown fields (a typo is an error, not a silent drop); server
messages are what the server sends, documented in docs/protocol.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, StringConstraints

ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
ProctorSignal = Literal[
    "tab_hidden", "tab_visible", "window_blur", "window_focus", "paste", "fullscreen_exit",
    "camera_unavailable",
]  # fmt: skip
MAX_ANSWER_CHARS = 20_000
MAX_QUESTION_CHARS = 2_000


class ClientMessage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Answer(ClientMessage):
    type: Literal["answer"]
    client_id: ClientId
    question_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_CHARS)]


class Proctor(ClientMessage):
    type: Literal["proctor"]
    client_id: ClientId
    signal: ProctorSignal


class End(ClientMessage):
    type: Literal["end"]
    client_id: ClientId


class InjectQuestion(ClientMessage):
    type: Literal["inject_question"]
    client_id: ClientId
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
    ]


class ScreenshotHeader(ClientMessage):
    """The JSON header of a binary screenshot frame."""

    type: Literal["screenshot"]
    client_id: ClientId
    taken_at: datetime


CandidateMessage = Annotated[Answer | Proctor | End, Field(discriminator="type")]
WatcherMessage = Annotated[InjectQuestion | End, Field(discriminator="type")]


class ServerMessage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)


class SessionReady(ServerMessage):
    type: Literal["session.ready"] = "session.ready"
    interview_id: str
    state: str
    resumed: bool
    offset: int
    last_client_id: str | None
    role: Literal["candidate", "watcher"] = "candidate"
    screenshot_interval_s: float | None = None


class QuestionDelta(ServerMessage):
    type: Literal["question.delta"] = "question.delta"
    question_id: str
    text: str


class QuestionDone(ServerMessage):
    type: Literal["question.done"] = "question.done"
    question_id: str
    text: str
    kind: Literal["main", "follow_up"]
    index: int
    time_limit_s: int
    source: Literal["interviewer", "recruiter"] = "interviewer"
    time_left_s: float | None = None


class Ack(ServerMessage):
    type: Literal["ack"] = "ack"
    client_id: str
    offset: int


class TimeWarning(ServerMessage):
    type: Literal["time.warning"] = "time.warning"
    scope: Literal["answer", "interview"]
    seconds_left: int
    question_id: str | None = None


class InterviewEnded(ServerMessage):
    type: Literal["interview.ended"] = "interview.ended"
    reason: str


class Error(ServerMessage):
    type: Literal["error"] = "error"
    code: str
    message: str
    client_id: str | None = None


class Event(ServerMessage):
    """One entry of the interview's event log, as a watcher receives it."""

    type: Literal["event"] = "event"
    offset: int
    at: datetime
    kind: str
    data: dict[str, Any]
