"""A spoken answer's sentences, timed in its audio, and where in it a quote was said. No I/O.

A speech-to-text model that gives timestamps (``verbose_json`` with segment timestamps, as
whisper-1 does) returns the answer as *segments*: stretches of speech with their start and end
in the audio, often a sentence each, sometimes a part of one or a few. Each segment is split at
the ends of its sentences (``.``, ``!``, ``?``, ``…``), and the pieces are joined back into
sentences. A sentence is timed by the segments it lies in: ``start_s`` is the start of the
segment it begins in, ``end_s`` the end of the segment it ends in. Nothing finer is known, so
nothing finer is claimed: two sentences of one segment share its span, and playing from a
sentence's ``start_s`` never starts after it, only (within one segment) before it. A transcript
with no sentence punctuation at all (some models and servers do not punctuate) has no sentences
to find: each segment is one then.

A model that gives no timestamps (gpt-4o-transcribe, and any streamed transcript) leaves the
answer untimed: its sentences are not stored at all, rather than timed by guesswork.

An evaluation quotes answers verbatim (server/interviewer/evaluation.py); ``place_evidence``
adds to each quote the offset of the answer entry it quotes and, when that answer is spoken and
timed, the second of its audio where the quote's sentence starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A sentence ends at its closing punctuation (and any closing quote or bracket after it),
# before a space or the end.
_CLOSING = "\"'\u201d\u2019)\\]"
_SENTENCE_END = re.compile(f"[.!?\u2026]+[{_CLOSING}]*(?=\\s)")
_TERMINAL = re.compile(f"[.!?\u2026]+[{_CLOSING}]*$")
_PUNCTUATED = re.compile("[.!?\u2026]")


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the transcript and where it is in the audio (seconds from its start)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class AnswerPlace:
    """Where an answer is: its entry's offset in the interview's log, its text, and its timed
    sentences (empty for a typed or untimed answer)."""

    offset: int
    text: str
    sentences: tuple[Mapping[str, Any], ...] = ()


def timed_sentences(segments: Sequence[Segment], duration_s: float) -> list[dict[str, Any]]:
    """The sentences of a timed transcript: ``{"text", "start_s", "end_s"}`` each, in order,
    times in seconds from the start of the audio (see the module's docstring)."""
    punctuated = any(_PUNCTUATED.search(s.text) for s in segments)
    sentences: list[dict[str, Any]] = []
    pieces: list[str] = []
    start = 0.0

    def close(end: float) -> None:
        text = " ".join(pieces).strip()
        pieces.clear()
        if text:
            start_s, end_s = _clamp(start, duration_s), _clamp(end, duration_s)
            sentences.append({"text": text, "start_s": start_s, "end_s": end_s})

    for segment in sorted(segments, key=lambda s: s.start):
        parts = _split(segment.text)
        for i, part in enumerate(parts):
            if not pieces:
                start = segment.start
            pieces.append(part)
            last = i == len(parts) - 1
            # Within a segment every part but the last ends a sentence (that is where it was
            # split); the last one ends a sentence if it ends with its punctuation, or if the
            # transcript is not punctuated at all (then segments are the only units there are).
            if not last or _TERMINAL.search(part) or not punctuated:
                close(segment.end)
    close(segments[-1].end if segments else 0.0)
    return sentences


def _split(text: str) -> list[str]:
    """``text`` cut after each sentence's end (its punctuation and closing quotes)."""
    parts, begin = [], 0
    for end in _SENTENCE_END.finditer(text):
        parts.append(text[begin : end.end()].strip())
        begin = end.end()
    parts.append(text[begin:].strip())
    return [p for p in parts if p]


def _clamp(seconds: float, duration_s: float) -> float:
    return round(min(max(0.0, seconds), max(0.0, duration_s)), 3)


def quoted_sentence(place: AnswerPlace, quote: str) -> Mapping[str, Any] | None:
    """The timed sentence in which ``quote`` (verbatim in the answer's text) begins; None if
    the answer is untimed or the quote is not in it."""
    quote = quote.strip()
    if not quote or not place.sentences:
        return None
    for sentence in place.sentences:
        if quote in str(sentence.get("text", "")):
            return sentence
    # A quote running over more than one sentence: find where it begins in the text, and the
    # sentence there (sentences are found in the text in order).
    at = place.text.find(quote)
    if at < 0:
        return None
    found: Mapping[str, Any] | None = None
    cursor = 0
    for sentence in place.sentences:
        begins = place.text.find(str(sentence.get("text", "")), cursor)
        if begins < 0 or begins > at:
            break
        found, cursor = sentence, begins + 1
    return found


def place_evidence(evaluation: dict[str, Any], places: Mapping[str, AnswerPlace]) -> dict[str, Any]:
    """``evaluation`` (as stored) with each quote's ``answer_offset`` (the quoted answer's log
    offset) and, when that answer's sentences are timed, ``start_s`` (the second of its audio
    where the quote's sentence starts). Quotes of no answer in ``places`` are left as they are."""
    criteria = evaluation.get("criteria")
    if not isinstance(criteria, list):
        return evaluation
    placed = []
    for criterion in criteria:
        evidence = []
        for e in criterion.get("evidence", []):
            place = places.get(e.get("question_id", ""))
            if place is None:
                evidence.append(e)
                continue
            e = {**e, "answer_offset": place.offset}
            sentence = quoted_sentence(place, str(e.get("quote", "")))
            if sentence is not None and "start_s" in sentence:
                e["start_s"] = sentence["start_s"]
            evidence.append(e)
        placed.append({**criterion, "evidence": evidence})
    return {**evaluation, "criteria": placed}
