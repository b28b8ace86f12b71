"""Plain-text handling shared by the interviewers: sentences, chunks, and what was asked."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from server.interviewer.base import QuestionRequest, Turn

MAX_QUOTE_CHARS = 200

_SPACE = re.compile(r"\s+")
_CHUNK_WORD = re.compile(r"\s*\S+\s*")
# A sentence runs to its closing punctuation, a line break or the end of the text.
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)


@functools.lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Case- and spacing-insensitive form used to compare questions. Cached: the scripted
    interviewer compares every planned question with every one asked, for each question."""
    return _SPACE.sub(" ", text).strip().casefold()


def word_count(text: str) -> int:
    return len(text.split())


def chunk_words(text: str, words_per_chunk: int) -> Iterator[str]:
    """Split ``text`` into chunks of a few words; their concatenation is ``text`` exactly."""
    words = _CHUNK_WORD.findall(text)
    for start in range(0, len(words), max(1, words_per_chunk)):
        yield "".join(words[start : start + words_per_chunk])


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, each a verbatim substring of it, stripped."""
    found = (m.group().strip() for m in _SENTENCE.finditer(text))
    return [s for s in found if s]


def trim_quote(sentence: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """Cut a sentence to at most ``limit`` characters at a word boundary, keeping it a
    verbatim prefix (no ellipsis: the quote must still be found in the answer)."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-")


def asked(transcript: Iterable[Turn]) -> set[str]:
    """Normalized texts of every question already asked."""
    return {normalize(turn.text) for turn in transcript}


def next_custom_question(request: QuestionRequest) -> str | None:
    """The recruiter's next custom question not yet asked, if any: they come first, in order."""
    if request.kind != "main":
        return None
    done = asked(request.transcript)
    for question in request.job.custom_questions:
        if question.strip() and normalize(question) not in done:
            return question.strip()
    return None


def question_group(transcript: Iterable[Turn], index: int) -> list[Turn]:
    """Main question ``index`` and its follow-ups so far, in order."""
    return [turn for turn in transcript if turn.index == index]
