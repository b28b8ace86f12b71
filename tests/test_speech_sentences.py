"""A spoken answer's timed sentences and where an evaluation's quotes were said
(server/speech/sentences.py), and the session that finds its answers in the log."""

from __future__ import annotations

import dataclasses
from typing import Any

from server.sessions.actions import RequestQuestion
from server.sessions.session import InterviewSession
from server.speech.sentences import AnswerPlace, Segment, place_evidence, timed_sentences
from tests.test_session import LONG, T0, answer, config, of, persisted


def test_segments_are_split_at_their_sentences_and_joined_across_segments() -> None:
    segments = [
        Segment(0.4, 2.0, " I built it. Then I moved"),
        Segment(2.5, 4.1, " it to Rust. It is faster!"),
        Segment(4.6, 9.9, " And we kept it"),
    ]
    assert timed_sentences(segments, 9.0) == [
        # Sentences of one segment share its span: nothing finer is known.
        {"text": "I built it.", "start_s": 0.4, "end_s": 2.0},
        {"text": "Then I moved it to Rust.", "start_s": 0.4, "end_s": 4.1},
        {"text": "It is faster!", "start_s": 2.5, "end_s": 4.1},
        # The last one ends with the audio, not past it.
        {"text": "And we kept it", "start_s": 4.6, "end_s": 9.0},
    ]


def test_an_unpunctuated_transcript_has_a_sentence_per_segment() -> None:
    segments = [Segment(0.3, 2.0, " i built it"), Segment(2.6, 4.0, " then we moved it")]
    assert [s["text"] for s in timed_sentences(segments, 5.0)] == ["i built it", "then we moved it"]
    assert [s["start_s"] for s in timed_sentences(segments, 5.0)] == [0.3, 2.6]


def test_closing_quotes_stay_with_their_sentence() -> None:
    segments = [Segment(0.0, 3.0, ' She said "ship it." (We did.) Then')]
    texts = [s["text"] for s in timed_sentences(segments, 3.0)]
    assert texts == ['She said "ship it."', "(We did.)", "Then"]


def _evaluation(*quotes: tuple[str, str]) -> dict[str, Any]:
    evidence = [{"question_id": q, "quote": text} for q, text in quotes]
    return {"criteria": [{"name": "Python", "evidence": evidence}], "overall_score": 3.0}


def test_each_quote_is_placed_at_the_second_its_sentence_was_said() -> None:
    spoken = AnswerPlace(
        7,
        "I built it. Then I moved it to Rust. It is faster!",
        (
            {"text": "I built it.", "start_s": 0.4, "end_s": 2.0},
            {"text": "Then I moved it to Rust.", "start_s": 2.1, "end_s": 4.1},
            {"text": "It is faster!", "start_s": 4.2, "end_s": 5.0},
        ),
    )
    typed = AnswerPlace(4, "I write tests first.")
    placed = place_evidence(
        _evaluation(
            ("q2", "moved it to Rust"),  # inside the second sentence
            ("q2", "Rust. It is faster"),  # over two: where it begins
            ("q1", "tests first"),  # typed: no second to play
            ("q9", "not an answer"),  # no such answer: left as it was
        ),
        {"q1": typed, "q2": spoken},
    )
    assert placed["criteria"][0]["evidence"] == [
        {"question_id": "q2", "quote": "moved it to Rust", "answer_offset": 7, "start_s": 2.1},
        {"question_id": "q2", "quote": "Rust. It is faster", "answer_offset": 7, "start_s": 2.1},
        {"question_id": "q1", "quote": "tests first", "answer_offset": 4},
        {"question_id": "q9", "quote": "not an answer"},
    ]
    assert placed["overall_score"] == 3.0
    # An evaluation that could not be made has no quotes to place.
    assert place_evidence({"error": "x"}, {"q2": spoken}) == {"error": "x"}


def test_the_session_finds_each_committed_answer_with_its_sentences() -> None:
    """Where the answers are, as the committed log has them: what a live evaluation and a
    re-score place quotes with."""
    s = InterviewSession("iv-places", config(question_count=2, follow_ups_per_question=0))
    joined = s.connect_candidate(T0)
    (request,) = of(joined, RequestQuestion)
    events = persisted(joined)
    events += persisted(s.question_ready(request.question_id, "Tell me about a project.", T0))
    (question,) = [e for e in events if e.kind == "question"]
    qid = question.data["question_id"]
    assert s.answer_places() == {}
    events += persisted(s.receive_candidate(answer("a1", qid, LONG), T0 + 1))
    (logged,) = [e for e in events if e.kind == "answer"]
    assert s.answer_places() == {}  # not committed yet
    s.committed(logged.offset)
    assert s.answer_places() == {qid: AnswerPlace(logged.offset, LONG)}
    # A restored session reads them from the log, a spoken answer's sentences included.
    timed = ({"text": LONG, "start_s": 0.3, "end_s": 4.0},)
    spoken = dataclasses.replace(logged, data={**logged.data, "sentences": list(timed)})
    restored = InterviewSession.restore(
        "iv-places", s.config, [*(e for e in events if e.offset < logged.offset), spoken]
    )
    assert restored.answer_places() == {qid: AnswerPlace(logged.offset, LONG, timed)}
