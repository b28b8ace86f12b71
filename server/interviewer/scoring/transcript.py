"""The transcript as the scorer reads it: every answer split into sentences, each sentence
weighed for how much it can count (prose, relevant to the job and the question, said for the
first time, not addressed to the scorer).

Near-duplicates count once: a sentence that repeats one of an earlier answer (the same words,
give or take a few, in any order: rapidfuzz's token-sort ratio) adds nothing, so an answer
pasted under every question is credited under the first only, and there only in part (see
``criteria.answer_value``): one text cannot answer every question it was given for.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from server.interviewer.base import Turn
from server.interviewer.scoring.reading import (
    Sentence,
    is_non_answer,
    read_sentence,
    split_sentences,
)
from server.interviewer.scoring.vocabulary import (
    JobVocabulary,
    Skill,
    key_terms,
    question_fit,
)

# Two sentences of five words or more are the same when their words, sorted, are this similar
# (0-100): a changed word or two in a long sentence, a reordering, different punctuation.
DUPLICATE_SIMILARITY = 85
_MIN_WORDS_TO_COMPARE = 5


@dataclass(frozen=True, slots=True)
class ReadSentence:
    sentence: Sentence
    turn: Turn
    relevance: float  # to the job and this question: 0 to 1
    novel: bool  # not a repeat of an earlier answer's sentence
    tools: frozenset[str]  # tools and skills named (canonical names)
    skills: tuple[tuple[Skill, str], ...]  # required skills named, with the words used

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def weight(self) -> float:
        """How much this sentence can count for anything, from 0 to 1."""
        if self.sentence.injection or not self.novel:
            return 0.0
        return self.sentence.prose * self.relevance

    @property
    def specificity(self) -> float:
        s = self.sentence
        named = min(1.0, len(self.tools))
        return 0.35 * s.quantity + 0.25 * named + 0.2 * s.action + 0.2 * s.result


@dataclass(frozen=True, slots=True)
class ReadAnswer:
    turn: Turn
    number: int  # 1-based position among the interview's questions
    sentences: tuple[ReadSentence, ...]
    non_answer: bool
    fit: float  # takes up what the question asked about: 0 to 1
    repeats: int | None  # the number of an earlier question whose answer this one repeats
    copies: int = 1  # how many answers say this one again, itself included

    @property
    def text(self) -> str:
        return self.turn.answer or ""

    @property
    def words(self) -> int:
        return sum(s.sentence.words for s in self.sentences)

    @property
    def relevance(self) -> float:
        """Word-weighted relevance of the answer's sentences."""
        total = sum(s.sentence.words for s in self.sentences)
        if not total:
            return 0.0
        return sum(s.relevance * s.sentence.words for s in self.sentences) / total

    @property
    def prose(self) -> float:
        total = sum(s.sentence.words for s in self.sentences)
        if not total:
            return 0.0
        return sum(s.sentence.prose * s.sentence.words for s in self.sentences) / total

    @property
    def injected(self) -> list[ReadSentence]:
        return [s for s in self.sentences if s.sentence.injection]


@dataclass(frozen=True, slots=True)
class ReadTranscript:
    turns: tuple[Turn, ...]
    answers: tuple[ReadAnswer, ...]  # answered turns only, in order
    vocabulary: JobVocabulary

    @property
    def groups(self) -> dict[int, list[Turn]]:
        """Each main question with its follow-ups (and questions the recruiter added there)."""
        grouped: dict[int, list[Turn]] = {}
        for turn in self.turns:
            grouped.setdefault(turn.index, []).append(turn)
        return grouped

    def answers_to(self, group: Sequence[Turn]) -> list[ReadAnswer]:
        ids = {t.question_id for t in group}
        return [a for a in self.answers if a.turn.question_id in ids]

    @property
    def sentences(self) -> list[ReadSentence]:
        return [s for a in self.answers if not a.non_answer for s in a.sentences]


# A sentence inside a relevant answer is partly relevant through its neighbours: "That took
# the error rate from 2.5% to 0.3%" after a sentence about the service it measures.
CONTEXT_SHARE = 0.75


def _with_context(sentences: list[ReadSentence]) -> list[ReadSentence]:
    out = []
    for i, s in enumerate(sentences):
        neighbours = [n.relevance for n in sentences[max(0, i - 1) : i + 2] if n is not s]
        inherited = CONTEXT_SHARE * max(neighbours, default=0.0)
        if inherited > s.relevance:
            s = dataclasses.replace(s, relevance=inherited)
        out.append(s)
    return out


def read_transcript(vocabulary: JobVocabulary, transcript: Sequence[Turn]) -> ReadTranscript:
    answers: list[ReadAnswer] = []
    earlier: list[str] = []  # normalised sentences of earlier answers
    earlier_owner: list[int] = []
    for number, turn in enumerate(transcript, start=1):
        if not turn.answered or turn.answer is None:
            continue
        text = turn.answer
        non_answer = is_non_answer(text)
        groups = key_terms(turn.text, vocabulary.required)
        sentences: list[ReadSentence] = []
        seen_here: list[str] = []
        repeated_from: list[int] = []
        for raw in split_sentences(text):
            sentence = read_sentence(raw)
            normal = " ".join(t.casefold() for t in sentence.tokens)
            novel = True
            if sentence.words >= _MIN_WORDS_TO_COMPARE:
                match = process.extractOne(
                    normal,
                    earlier + seen_here,
                    scorer=fuzz.token_sort_ratio,
                    score_cutoff=DUPLICATE_SIMILARITY,
                )
                if match is not None:
                    novel = False
                    if match[2] < len(earlier):
                        repeated_from.append(earlier_owner[match[2]])
                seen_here.append(normal)
            sentences.append(
                ReadSentence(
                    sentence=sentence,
                    turn=turn,
                    relevance=vocabulary.relevance(sentence, groups),
                    novel=novel and not non_answer,
                    tools=frozenset(vocabulary.tools_named(sentence)),
                    skills=tuple(vocabulary.skills_named(raw)),
                )
            )
        sentences = _with_context(sentences)
        earlier += seen_here
        earlier_owner += [number] * len(seen_here)
        stems = frozenset().union(*(s.sentence.stems for s in sentences)) if sentences else None
        compared = [s for s in sentences if s.sentence.words >= _MIN_WORDS_TO_COMPARE]
        repeats = None
        if compared and len(repeated_from) * 2 >= len(compared):
            repeats = min(repeated_from)
        answers.append(
            ReadAnswer(
                turn=turn,
                number=number,
                sentences=tuple(sentences),
                non_answer=non_answer,
                fit=question_fit(stems or frozenset(), groups),
                repeats=repeats,
            )
        )
    copies = Counter(a.repeats for a in answers if a.repeats is not None)
    answers = [
        dataclasses.replace(a, copies=1 + copies[a.number]) if copies[a.number] else a
        for a in answers
    ]
    return ReadTranscript(turns=tuple(transcript), answers=tuple(answers), vocabulary=vocabulary)
