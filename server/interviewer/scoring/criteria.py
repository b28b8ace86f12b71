"""How each rubric criterion is scored from the sentences that can count.

A criterion is read by its name and description as technical, problem solving, communication
or general. Every sentence gets a value for it from 0 to 1 (its weight, times what the kind
looks at); an answer's value is its best sentence plus a share of the next two, scaled by how
well the answer takes up its question; a question's value is its best answer (a follow-up can
make up for a thin first answer); and the criterion's quality is the mean over the questions
asked, so an unanswered question counts as zero. The score is 1 + 4 x quality, to one decimal:
no threshold anywhere, so one word more or less moves it a little, never a step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from server.interviewer.base import Criterion
from server.interviewer.scoring.reading import content_words, stem, words
from server.interviewer.scoring.transcript import ReadAnswer, ReadSentence, ReadTranscript
from server.interviewer.scoring.vocabulary import question_fit

CriterionKind = Literal["technical", "problem_solving", "communication", "general"]

_KIND_KEYWORDS: tuple[tuple[CriterionKind, tuple[str, ...]], ...] = (
    ("communication", ("communic", "clarity", "clear", "articul", "concise", "explain", "writ")),
    (
        "problem_solving",
        (
            "problem",
            "reason",
            "analy",
            "design",
            "debug",
            "judg",
            "solution",
            "troubleshoot",
            "diagnos",
            "root cause",
        ),
    ),
    (
        "technical",
        (
            "technical",
            "skill",
            "knowledge",
            "expertise",
            "depth",
            "domain",
            "tool",
            "coding",
            "engineering",
            "sql",
            "modelling",
            "modeling",
        ),
    ),
)

# Shares of an answer's second and third best sentences added to its best one.
_SECOND, _THIRD = 0.3, 0.15
# What an answer keeps of its value when it takes up none of the question's key terms: a good
# paragraph about something else is not an answer to this question.
FIT_FLOOR = 0.45


def criterion_kind(criterion: Criterion) -> CriterionKind:
    for text in (criterion.name.casefold(), criterion.description.casefold()):
        for kind, keywords in _KIND_KEYWORDS:
            if any(k in text for k in keywords):
                return kind
    return "general"


@dataclass(frozen=True, slots=True)
class CriterionReading:
    """What one criterion looks at: its kind and, for a general one, its own key terms."""

    criterion: Criterion
    kind: CriterionKind
    terms: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, criterion: Criterion) -> CriterionReading:
        text = f"{criterion.name} {criterion.description}"
        terms = tuple(dict.fromkeys(frozenset({stem(w)}) for w in content_words(words(text))))
        return cls(criterion, criterion_kind(criterion), terms)

    def value(self, s: ReadSentence) -> float:
        """How much this sentence shows of the criterion, from 0 to 1."""
        weight = s.weight
        if weight == 0:
            return 0.0
        sentence = s.sentence
        named = min(1.0, len(s.tools))
        if self.kind == "technical":
            return weight * (0.3 * named + 0.7 * s.specificity)
        if self.kind == "problem_solving":
            how = max(sentence.reasoning, sentence.method)
            also = min(sentence.reasoning, sentence.method)
            return weight * min(
                1.0, 0.55 * how + 0.2 * also + 0.25 * s.specificity + 0.2 * sentence.result
            )
        if self.kind == "communication":
            return weight * _length_fit(sentence.words) * (0.4 + 0.6 * s.specificity)
        fit = question_fit(sentence.stems, self.terms) if self.terms else 0.0
        return weight * min(1.0, 0.35 * s.specificity + 0.25 * sentence.reasoning + 0.4 * fit)

    def supported_by(self, s: ReadSentence) -> bool:
        """Whether a sentence shows what this criterion looks at, not only its words: a tool
        with a figure, an action or a result (technical); a reason, a method or a result
        (problem solving); an action, a figure or a reason (communication, general). A
        platitude that names the topic ("I think about Python a lot") shows nothing."""
        sentence = s.sentence
        if s.weight < 0.5:
            return False
        if self.kind == "technical":
            return bool(s.tools) and (
                sentence.quantity > 0 or sentence.action >= 0.7 or sentence.result >= 0.6
            )
        if self.kind == "problem_solving":
            # A reason about their own work ("I moved it because..."), not any "because".
            return (
                sentence.reasoning >= 0.8
                or sentence.method >= 0.8
                or sentence.result >= 0.6
                or (sentence.reasoning >= 0.45 and sentence.action >= 0.7)
            )
        if self.kind == "communication" and sentence.words < 8:
            return False
        return (
            sentence.action >= 0.4
            or sentence.quantity > 0
            or sentence.result >= 0.6
            or sentence.reasoning >= 0.8
        )

    def elements(self, answer: ReadAnswer) -> float:
        """How complete the answer is for this kind of criterion: each element it looks for
        (a tool, a figure, an action of their own; a reason, a result, a method) at its best
        anywhere in the answer's sentences that count."""
        counted = [s for s in answer.sentences if s.weight > 0]
        if not counted:
            return 0.0

        def most(feature: Callable[[ReadSentence], float]) -> float:
            return max(s.weight * feature(s) for s in counted)

        if self.kind == "technical":
            tools = {t for s in counted if s.weight >= 0.5 for t in s.tools}
            parts = [
                min(1.0, len(tools) / 2),
                most(lambda s: s.sentence.quantity),
                most(lambda s: s.sentence.action),
            ]
        elif self.kind == "problem_solving":
            parts = [
                most(lambda s: s.sentence.reasoning),
                most(lambda s: s.sentence.result),
                most(lambda s: max(s.sentence.method, s.sentence.action)),
            ]
        else:
            parts = [
                most(lambda s: question_fit(s.sentence.stems, self.terms) if self.terms else 0),
                most(lambda s: s.specificity),
                most(lambda s: s.sentence.reasoning),
            ]
        return sum(parts) / len(parts)


def _length_fit(words: int) -> float:
    """1 for sentences of 6 to 35 words; shorter ones say little, longer ones lose the reader."""
    if words < 6:
        return 0.4 + 0.1 * words
    if words <= 35:
        return 1.0
    return max(0.3, 1.0 - (words - 35) / 40)


def best_sentences(answer: ReadAnswer, value: Callable[[ReadSentence], float]) -> float:
    """The answer's best sentence plus a share of the next two, at most 1."""
    best = [*sorted((value(s) for s in answer.sentences), reverse=True)[:3], 0.0, 0.0, 0.0]
    return min(1.0, best[0] + _SECOND * best[1] + _THIRD * best[2])


def on_topic(answer: ReadAnswer) -> float:
    """A few clearly relevant sentences in prose: what any answer that counts has, specific or
    not. Sentences that are only loosely relevant (a platitude about teams) add little."""
    return min(1.0, sum(max(0.0, s.weight - 0.4) for s in answer.sentences) / 1.5)


def answer_value(answer: ReadAnswer, reading: CriterionReading) -> float:
    if answer.non_answer:
        return 0.0
    substance = 0.55 * best_sentences(answer, reading.value) + 0.45 * reading.elements(answer)
    value = 0.35 * on_topic(answer) + 0.65 * substance
    return value * _fit_factor(answer)


def _fit_factor(answer: ReadAnswer) -> float:
    """Less for an answer that does not take up its question, and for one given again under
    other questions (1/n for n copies): a text pasted under several questions cannot answer
    them all, so it is weak evidence of answering any."""
    return (FIT_FLOOR + (1 - FIT_FLOOR) * answer.fit) / answer.copies


def focus(answer: ReadAnswer) -> float:
    """The share of the answer's words in sentences that count: low for a long, empty one."""
    total = answer.words
    if not total:
        return 0.0
    counted = sum(s.sentence.words for s in answer.sentences if s.weight >= 0.5)
    return counted / total


def communication_value(answer: ReadAnswer, reading: CriterionReading) -> float:
    if answer.non_answer:
        return 0.0
    clear = 0.35 * on_topic(answer) + 0.65 * best_sentences(answer, reading.value)
    clear *= _fit_factor(answer)
    substantive = sum(1 for s in answer.sentences if s.weight >= 0.5 and s.specificity >= 0.2)
    complete = min(1.0, substantive / 3)
    on_point = 0.4 + 0.6 * min(1.0, max(0.0, (focus(answer) - 0.2) / 0.4))
    return (0.7 * clear + 0.3 * complete) * on_point


@dataclass(frozen=True, slots=True)
class Quality:
    """A criterion's quality (0 to 1) and the figures its rationale names."""

    value: float
    per_question: tuple[float, ...]
    skills_credited: tuple[str, ...]


def quality(reading: CriterionReading, transcript: ReadTranscript) -> Quality:
    groups = list(transcript.groups.values())
    if not groups:
        return Quality(0.0, (), ())

    def of_answer(answer: ReadAnswer) -> float:
        if reading.kind == "communication":
            return communication_value(answer, reading)
        return answer_value(answer, reading)

    per_question = tuple(
        max((of_answer(a) for a in transcript.answers_to(group)), default=0.0) for group in groups
    )
    value = sum(per_question) / len(groups)
    credited = skills_credited(transcript)
    if reading.kind == "technical" and transcript.vocabulary.required:
        coverage = len(credited) / len(transcript.vocabulary.required)
        value = 0.75 * value + 0.25 * coverage * min(1.0, 2 * value)
    return Quality(min(1.0, value), per_question, credited)


def skills_credited(transcript: ReadTranscript) -> tuple[str, ...]:
    """Required skills named inside a claim: a relevant prose sentence about the candidate's
    own work or with something specific in it. A skill in a list of keywords is not credited."""
    credited: dict[str, None] = {}
    for s in transcript.sentences:
        if s.weight >= 0.5 and (s.sentence.action >= 0.7 or s.specificity >= 0.5):
            for skill, _ in s.skills:
                credited.setdefault(skill.name)
    order = [skill.name for skill in transcript.vocabulary.required]
    return tuple(name for name in order if name in credited)


def score_of(value: float) -> float:
    return round(1.0 + 4.0 * max(0.0, min(1.0, value)), 1)


def rationale(reading: CriterionReading, q: Quality, transcript: ReadTranscript) -> str:
    asked = len(q.per_question)
    counted = sum(1 for v in q.per_question if v >= 0.25)
    parts = [f"{counted} of {asked} questions answered with something that counts here"]
    sentences = [s for s in transcript.sentences if s.weight >= 0.5]
    if reading.kind == "technical":
        required = transcript.vocabulary.required
        if required:
            names = ", ".join(q.skills_credited) or "none"
            parts.append(
                f"{len(q.skills_credited)} of {len(required)} required skills named in claims "
                f"about their own work ({names})"
            )
        specific = sum(1 for s in sentences if s.specificity >= 0.5)
        parts.append(f"{specific} specific sentences (figures with units, tools, own results)")
    elif reading.kind == "problem_solving":
        reasons = sum(1 for s in sentences if s.sentence.reasoning >= 0.6)
        results = sum(1 for s in sentences if s.sentence.result >= 0.6)
        parts.append(f"{reasons} sentences give reasons or trade-offs, {results} state a result")
    elif reading.kind == "communication":
        answered = [a for a in transcript.answers if not a.non_answer]
        if answered:
            on_point = sum(1 for a in answered if focus(a) >= 0.5 and a.fit >= 0.5)
            mean_words = sum(a.words for a in answered) / len(answered)
            parts.append(
                f"{on_point} of {len(answered)} answers on the question and to the point; "
                f"{mean_words:.0f} words per answer on average"
            )
    else:
        on_topic = sum(
            1 for s in sentences if reading.terms and question_fit(s.sentence.stems, reading.terms)
        )
        parts.append(f"{on_topic} sentences speak to its description")
    return "; ".join(parts) + "."


def kinds(rubric: Sequence[Criterion]) -> list[CriterionReading]:
    return [CriterionReading.of(c) for c in rubric]
