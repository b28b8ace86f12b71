"""One typed model per wire message, with a literal ``type`` tag.

Client messages forbid unknown fields (a typo is an error, not a silent drop); server
messages are what the server sends, documented in docs/protocol.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, StringConstraints

from server.protocol.text import Trimmed

ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
ProctorSignal = Literal[
    "tab_hidden", "tab_visible", "window_blur", "window_focus", "paste", "fullscreen_exit",
    "camera_unavailable",
]  # fmt: skip
MAX_ANSWER_CHARS = 20_000
MAX_QUESTION_CHARS = 2_000
# The largest log offset (PostgreSQL bigint): the range of every ``since`` a client sends, over
# HTTP and on the watcher socket alike.
MAX_OFFSET = 2**63 - 1
LogOffset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
# What a candidate and a recruiter type: the same rule as the HTTP API's required text fields
# (not blank, nothing PostgreSQL cannot store), trimmed of surrounding whitespace.
AnswerText = Annotated[str, Trimmed(max_length=MAX_ANSWER_CHARS, min_length=1)]
QuestionText = Annotated[str, Trimmed(max_length=MAX_QUESTION_CHARS, min_length=1)]


class ClientMessage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Answer(ClientMessage):
    type: Literal["answer"]
    client_id: ClientId
    question_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: AnswerText


QuestionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AnswerEnd(ClientMessage):
    """A spoken answer is over ("I'm done"): it ends at once (docs/protocol.md, "Spoken
    answers"); acked when the answer it ended is committed."""

    type: Literal["answer.end"]
    client_id: ClientId
    question_id: QuestionId


class AnswerPause(ClientMessage):
    """The candidate pauses (``paused``: true) or resumes a spoken answer: audio between the
    two is neither heard nor kept, and no silence accrues. Not logged, not acked."""

    type: Literal["answer.pause"]
    client_id: ClientId
    question_id: QuestionId
    paused: bool


class AnswerResume(ClientMessage):
    """After a reconnect with an answer in progress (``session.ready.answer_in_progress``):
    ``continue`` it (new speech is added after what was heard) or ``restart`` it (what was
    heard is dropped). Not logged; answered by ``answer.resumed`` or an ``error``."""

    type: Literal["answer.resume"]
    client_id: ClientId
    question_id: QuestionId
    mode: Literal["continue", "restart"]


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
    text: QuestionText


class ScreenshotHeader(ClientMessage):
    """The JSON header of a binary screenshot frame."""

    type: Literal["screenshot"]
    client_id: ClientId
    # With its UTC offset: a time without one names no instant to compare with the server's.
    taken_at: pydantic.AwareDatetime


# Longer than the media module's 64 KiB limit on purpose: the limit is checked there, and
# answered with its own code (rtc_bad_sdp), not a generic ``invalid``.
Sdp = Annotated[str, StringConstraints(min_length=1, max_length=128 * 1024)]


class RtcOffer(ClientMessage):
    """A WebRTC offer, sent once ICE gathering is complete (docs/protocol.md, "Media")."""

    type: Literal["rtc.offer"]
    client_id: ClientId
    sdp: Sdp


class RtcClose(ClientMessage):
    type: Literal["rtc.close"]
    client_id: ClientId


CandidateMessage = Annotated[
    Answer | AnswerEnd | AnswerPause | AnswerResume | Proctor | End | RtcOffer | RtcClose,
    Field(discriminator="type"),
]
WatcherMessage = Annotated[InjectQuestion | End | RtcOffer | RtcClose, Field(discriminator="type")]


class ServerMessage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)


class IceServerInfo(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class VideoLimit(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)
    width: int
    height: int
    fps: int
    # Everything the candidate's peer receives (audio, video, RTCP), in kbit/s.
    bitrate_kbps: int


class MediaInfo(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)
    ice_servers: list[IceServerInfo]
    record_video: bool
    max_video: VideoLimit
    snapshot_interval_s: float


class AnswerInProgress(pydantic.BaseModel):
    """A spoken answer that had started and not ended when the candidate's last connection
    went (docs/protocol.md, "Spoken answers"). ``kept``: the server holds what it heard
    (``heard_s`` seconds of audio): continue or restart it with ``answer.resume``. ``lost``:
    the server restarted meanwhile and what was heard is gone: answer again."""

    model_config = pydantic.ConfigDict(frozen=True)
    question_id: str
    status: Literal["kept", "lost"]
    heard_s: float | None


class SessionReady(ServerMessage):
    type: Literal["session.ready"] = "session.ready"
    interview_id: str
    # The interview's state, as GET /interviews/{id} says it; an ended interview refuses
    # sockets (4009), so a socket only ever sees these two.
    state: Literal["scheduled", "in_progress"]
    resumed: bool
    offset: int
    last_client_id: str | None
    role: Literal["candidate", "watcher"] = "candidate"
    screenshot_interval_s: float | None = None
    # None: this server has WebRTC off (or no media for this socket's role); otherwise what a
    # client needs to make its peer (docs/protocol.md, "Media").
    media: MediaInfo | None = None
    # A candidate's spoken answer left open by the last connection; None: there is none.
    answer_in_progress: AnswerInProgress | None = None


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
    # How this question is answered (the plan's answer_mode): typed (text), aloud over the
    # WebRTC audio track (voice), or either.
    answer_mode: Literal["text", "voice", "either"] = "text"


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


class RtcAnswer(ServerMessage):
    type: Literal["rtc.answer"] = "rtc.answer"
    client_id: str
    sdp: str


class RtcState(ServerMessage):
    """The server-side peer's connection state, sent to the socket that owns the peer."""

    type: Literal["rtc.state"] = "rtc.state"
    state: str


class Event(ServerMessage):
    """One entry of the interview's event log, as a watcher receives it."""

    type: Literal["event"] = "event"
    offset: int
    at: datetime
    kind: str
    data: dict[str, Any]


class SpeechStarted(ServerMessage):
    """The server hears the candidate start a spoken answer (a client stops speaking the
    question: barge-in). Live only, to the candidate and watchers."""

    type: Literal["speech.started"] = "speech.started"
    question_id: str


class AnswerResumed(ServerMessage):
    """The reply to ``answer.resume``: the answer in progress goes on (``continue``, with
    ``heard_s`` seconds of audio kept) or starts afresh (``restart``, ``heard_s`` 0)."""

    type: Literal["answer.resumed"] = "answer.resumed"
    client_id: str
    question_id: str
    mode: Literal["continue", "restart"]
    heard_s: float


class TranscriptDelta(ServerMessage):
    """Part of a spoken answer's transcript as it arrives. Live only (not logged), to the
    candidate and watchers; the committed ``answer`` entry has the whole text."""

    type: Literal["transcript.delta"] = "transcript.delta"
    question_id: str
    text: str


class TranscriptDone(ServerMessage):
    """A spoken answer's final text, sent as it goes to be committed (its ack follows the
    commit). ``transcribed`` false: the speech server failed; the audio is kept and the
    answer is marked untranscribed (``message`` says so, for the candidate)."""

    type: Literal["transcript.done"] = "transcript.done"
    question_id: str
    text: str
    transcribed: bool
    message: str | None = None


class QuestionUnspoken(ServerMessage):
    """A piece of the question the server could not speak on its audio track (the speech API
    failed for good): it is skipped, the pieces after it still play, and ``text`` is exactly
    that piece of the question's text. Live only, to the candidate."""

    type: Literal["question.unspoken"] = "question.unspoken"
    question_id: str
    text: str
    message: str


# Every message the server sends: what a client decodes (``codec.decode_server``) and matches on.
AnyServerMessage = (
    SessionReady
    | QuestionDelta
    | QuestionDone
    | Ack
    | TimeWarning
    | InterviewEnded
    | Error
    | Event
    | RtcAnswer
    | RtcState
    | SpeechStarted
    | AnswerResumed
    | TranscriptDelta
    | TranscriptDone
    | QuestionUnspoken
)
