"""docs/protocol.md is the contract clients are written from: these tests keep it and the code
in step. Every close code and error code is in the document's tables and every code in them
exists; every message, server's and client's, has a row naming each of its fields; every kind
of log entry the server writes has a row naming each field its ``data`` can have."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.interviewer.base import Evaluation
from server.protocol import messages
from server.protocol.codes import CloseCode, ErrorCode
from server.protocol.messages import (
    End,
    InjectQuestion,
    Proctor,
    ScreenshotHeader,
    ServerMessage,
)
from server.sessions.actions import Recording, RequestQuestion
from server.sessions.session import InterviewSession
from server.transport.limits import MAX_TEXT_FRAME, RateLimit
from tests.test_session import LONG, T0, answer, config, of, persisted

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text()


def tables(text: str) -> dict[str, list[list[list[str]]]]:
    """Every table of a Markdown document, by the heading it is under (several tables under
    one heading in order); a table is its body rows, a row its cells."""
    found: dict[str, list[list[list[str]]]] = {}
    heading = ""
    rows: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if rows is None:
                rows = []
                found.setdefault(heading, []).append(rows)
                continue  # the header row
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
        else:
            rows = None
    return found


def names(cell: str) -> set[str]:
    """What a cell names in backticks."""
    return set(re.findall(r"`([^`]+)`", cell))


TABLES = tables(DOC)


def table(heading: str, n: int = 0) -> list[list[str]]:
    assert heading in TABLES, f"docs/protocol.md has no table under {heading!r}"
    return TABLES[heading][n]


def by_name(rows: list[list[str]]) -> dict[str, list[str]]:
    """Rows by what their first cell names (a row may name several)."""
    return {name: row for row in rows for name in names(row[0])}


# --- codes ---------------------------------------------------------------------------------


def test_every_close_code_is_in_the_table_and_every_code_in_it_exists() -> None:
    documented = {int(row[0]) for row in table("2. Close codes")}
    assert documented == {code.value for code in CloseCode}


def test_the_rate_limit_row_states_the_limits_the_server_applies() -> None:
    (row,) = [r for r in table("2. Close codes") if r[0] == str(CloseCode.RATE_LIMITED.value)]
    for rate, burst in (RateLimit.CANDIDATE, RateLimit.WATCHER):
        assert f"{burst:g}" in row[2] and f"{rate:g} a second" in row[2], row
    assert f"{MAX_TEXT_FRAME // 1024} KiB" in DOC and f"{MAX_TEXT_FRAME:,} bytes" in DOC


def test_every_error_code_is_in_the_table_and_every_code_in_it_exists() -> None:
    rows = by_name(table("Error codes"))
    assert set(rows) == {code.value for code in ErrorCode}
    for code, row in rows.items():
        assert len(row) == 4 and all(row), f"{code}: who, when and what to do, all said"
        assert set(row[1].split()) <= {"C", "W"}, row


# --- messages ------------------------------------------------------------------------------


def _tag(model: type[Any]) -> str:
    return str(typing.get_args(model.model_fields["type"].annotation)[0])


SERVER_MESSAGES = [
    m
    for m in vars(messages).values()
    if isinstance(m, type) and issubclass(m, ServerMessage) and m is not ServerMessage
]
SERVER_ROWS = [*table("Server → candidate"), *table("5. Watchers", 0)]


@pytest.mark.parametrize("model", SERVER_MESSAGES, ids=lambda m: m.__name__)
def test_every_server_message_has_a_row_naming_each_of_its_fields(model: type[Any]) -> None:
    rows = [row for row in SERVER_ROWS if _tag(model) in names(row[0])]
    assert rows, f"{_tag(model)} is not in docs/protocol.md"
    for row in rows:
        missing = set(model.model_fields) - {"type"} - names(row[1])
        assert not missing, f"{_tag(model)}: {sorted(missing)} not named in {row}"


def test_every_type_the_document_says_the_server_sends_exists() -> None:
    tags = {_tag(m) for m in SERVER_MESSAGES}
    assert {name for row in SERVER_ROWS for name in names(row[0])} <= tags


@pytest.mark.parametrize(
    ("union", "heading", "n"),
    [
        (messages.CandidateMessage, "Candidate → server", 0),
        (messages.WatcherMessage, "5. Watchers", 1),
    ],
    ids=["candidate", "watcher"],
)
def test_every_client_message_has_a_row_naming_each_of_its_fields(
    union: Any, heading: str, n: int
) -> None:
    models = typing.get_args(typing.get_args(union)[0])
    rows = by_name(table(heading, n))
    assert set(rows) == {_tag(m) for m in models}
    for model in models:
        missing = set(model.model_fields) - {"type"} - names(rows[_tag(model)][1])
        assert not missing, f"{_tag(model)}: {sorted(missing)} not named"


def test_the_screenshot_header_names_each_of_its_fields() -> None:
    section = DOC.split("## 4. Screenshots", 1)[1].split("\n## ", 1)[0]
    for field in ScreenshotHeader.model_fields:
        assert f'"{field}"' in section, field


# --- the event log -------------------------------------------------------------------------


def _kinds_in_the_code() -> set[str]:
    """Kinds the server writes: the session's `_event("kind", …)` calls, and the expiry."""
    session_py = (ROOT / "server" / "sessions" / "session.py").read_text()
    kinds = set(re.findall(r'_event\(\s*"([a-z_.]+)"', session_py))
    log_py = (ROOT / "server" / "store" / "interview_log.py").read_text()
    assert "'state', $2)" in log_py  # the expiry's entry: a `state` like the session's
    return kinds | {"state"}


def _every_kind_of_entry() -> list[Any]:
    """Sessions driven through every kind of log entry they write, with every optional field
    (a restart after a crash included): their events, in order."""
    events: list[Any] = []

    def run(actions: list[Any]) -> list[Any]:
        events.extend(persisted(actions))
        return actions

    def asked(session: InterviewSession, actions: list[Any], now: float) -> None:
        (request,) = of(actions, RequestQuestion)
        session.question_delta(request.question_id, "Tell")
        run(session.question_ready(request.question_id, "Tell me about a project.", now))

    cfg = config(question_count=2, follow_ups_per_question=0, answer_time_limit_s=60)
    s = InterviewSession("iv-doc", cfg)
    inject = InjectQuestion(type="inject_question", client_id="i1", text="Why us?")
    run(s.receive_watcher("w1", inject, T0))
    run(s.connect_candidate(T0))  # connected, in_progress, and the injected question asked
    (injected,) = [e for e in events if e.kind == "question"]
    run(s.receive_candidate(Proctor(type="proctor", client_id="p1", signal="tab_hidden"), T0 + 1))
    taken_at = datetime.fromtimestamp(T0 + 2, UTC)
    header = ScreenshotHeader(type="screenshot", client_id="s1", taken_at=taken_at)
    run(s.receive_screenshot(header, image=b"x", content_type="image/jpeg", width=320,
                             height=240, now=T0 + 2))  # fmt: skip
    # The server's own peer (server.media): health, a snapshot and a recording segment.
    run(s.media_event({"event": "no_media", "track": "video", "seconds": 5.0}, T0 + 2))
    run(s.media_event({"event": "connection", "track": None, "state": "connected"}, T0 + 2))
    over = {"event": "over_limit", "track": "video", "limit": "resolution"}
    run(s.media_event({**over, "width": 1920, "height": 1080}, T0 + 2))
    over = {"event": "over_limit", "track": None, "limit": "bitrate"}
    run(s.media_event({**over, "kbps": 5000, "seconds": 5.0}, T0 + 2))
    run(s.media_snapshot(b"x", width=640, height=360, taken_at=T0 + 2, now=T0 + 2.5))
    span = {"started_at": taken_at.isoformat(), "ended_at": taken_at.isoformat()}
    segment = {"track": "audio", "content_type": "audio/webm", "size_bytes": 1, **span}
    key = "recordings/iv-doc/1-audio.webm"
    run(s.media_recording(key, segment, Recording(key, "audio/webm", 1), T0 + 2.6))
    asked(
        s,
        run(s.receive_candidate(answer("a1", injected.data["question_id"], LONG), T0 + 3)),
        T0 + 4,
    )
    run(s.timer_fired("answer_warning", T0 + 64 - cfg.answer_warning_s))
    run(s.timer_fired("answer", T0 + 64))  # answer.timeout; the next question is requested
    run(s.disconnect_candidate(T0 + 66, cause="reload"))
    run(s.connect_candidate(T0 + 67))
    run(s.disconnect_candidate(T0 + 68, replaced=True))
    run(s.connect_candidate(T0 + 68))
    run(s.timer_fired("total_warning", T0 + 600 - cfg.total_warning_s))
    # The process dies; the next one rebuilds the session from its log and logs the outage.
    s = InterviewSession.restore("iv-doc", cfg, list(events))
    (request,) = of(run(s.resume(T0 + 580)), RequestQuestion)  # asked again
    run(s.question_failed(request.question_id, "the AI interviewer did not respond", T0 + 582))
    # A spoken interview (server/speech): an answer heard and transcribed, then one finished
    # after its question stopped waiting.
    v = InterviewSession("iv-doc-3", config(question_count=2, follow_ups_per_question=0,
                                             answer_mode="voice"))  # fmt: skip
    asked(v, run(v.connect_candidate(T0)), T0 + 1)
    run(v.voice_started("q1", T0 + 2))
    voice_key = "recordings/iv-doc-3/answer-q1-1.wav"
    voice = {
        "blob_key": voice_key, "content_type": "audio/wav", "size_bytes": 1, "track": "audio",
        "speech_start": taken_at.isoformat(), "speech_end": taken_at.isoformat(), **span,
        "duration_s": 1.0, "ended_by": "silence", "model": "whisper-1", "transcribed": True,
        "sentences": [{"text": LONG, "start_s": 0.0, "end_s": 1.0}],
    }  # fmt: skip
    voice_sender = "candidate:00000000-0000-0000-0000-000000000001"
    recording = Recording(voice_key, "audio/wav", 1)
    asked(
        v,
        run(v.voice_answer("q1", LONG, voice, recording, "voice:q1", voice_sender, T0 + 5)),
        T0 + 6,
    )
    failed = {**voice, "transcribed": False, "transcription_error": "SpeechFailed"}
    del failed["sentences"]
    run(v.voice_answer("q1", "", failed, recording, "voice:q1b", voice_sender, T0 + 7))
    # Another interview: the candidate ends it, and it is evaluated.
    t = InterviewSession("iv-doc-2", cfg)
    run(t.connect_candidate(T0))
    run(t.receive_candidate(End(type="end", client_id="e1"), T0 + 1))
    run(t.evaluation_ready({"error": "none", "proctoring": {}}, T0 + 2))
    return events


def test_every_kind_of_log_entry_has_a_row_naming_each_field_of_its_data() -> None:
    rows = by_name(table("6. The event log"))
    assert set(rows) == _kinds_in_the_code()
    events = _every_kind_of_entry()
    assert {e.kind for e in events} == _kinds_in_the_code(), "the scenario covers every kind"
    for event in events:
        fields = set(event.data)
        if event.kind == "evaluation":
            fields = set(Evaluation.model_fields) | {"error"}
        missing = fields - names(rows[event.kind][1])
        assert not missing, f"{event.kind}: {sorted(missing)} not named in docs/protocol.md"
    connections = [e.data for e in events if e.kind == "connection"]
    assert {"resumed"} <= set().union(*connections) and {"since", "cause"} <= set().union(
        *connections
    )
