"""Strengths and concerns, each quoting what the candidate said (verbatim, as evidence is).

A strength names what a sentence shows (a result with figures, a reason, a skill applied) and
quotes the best such sentence; a concern names what kept answers from counting (a non-answer,
an answer off the question, a list of keywords, a repeated answer, words addressed to the
scorer, nothing specific) and quotes an example.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.interviewer._text import trim_quote
from server.interviewer.base import CriterionScore
from server.interviewer.scoring.criteria import focus
from server.interviewer.scoring.transcript import ReadAnswer, ReadSentence, ReadTranscript

_QUOTE_CHARS = 160


def _q(text: str) -> str:
    return f'"{trim_quote(text, _QUOTE_CHARS)}"'


def _numbers(answers: Sequence[ReadAnswer]) -> str:
    ns = [str(a.number) for a in answers]
    return ns[0] if len(ns) == 1 else ", ".join(ns[:-1]) + " and " + ns[-1]


def strengths(
    transcript: ReadTranscript, criteria: Sequence[CriterionScore], credited: Sequence[str]
) -> list[str]:
    counted = [s for s in transcript.sentences if s.weight >= 0.5]
    found: list[str] = []
    quoted: set[str] = set()

    def best(key: str, candidates: list[ReadSentence]) -> ReadSentence | None:
        for s in candidates:
            if s.text not in quoted:
                quoted.add(s.text)
                return s
        return None

    results = sorted(
        (s for s in counted if s.sentence.result >= 0.6 and s.sentence.quantity >= 1.0),
        key=lambda s: -s.weight * s.specificity,
    )
    if pick := best("result", results):
        found.append(f"States results with figures: {_q(pick.text)}")
    own = sorted(
        (s for s in counted if s.sentence.action >= 1.0 and s.specificity >= 0.6),
        key=lambda s: -s.weight * s.specificity,
    )
    if pick := best("own", own):
        found.append(f"Specific about their own part: {_q(pick.text)}")
    reasons = sorted(
        (s for s in counted if s.sentence.reasoning >= 0.6),
        key=lambda s: -s.weight * s.sentence.reasoning,
    )
    if pick := best("reason", reasons):
        found.append(f"Explains the reasons behind decisions: {_q(pick.text)}")
    if credited:
        skill = credited[0]
        shown = [s for s in counted if any(k.name == skill for k, _ in s.skills)]
        if pick := best("skill", shown):
            names = ", ".join(credited)
            found.append(f"Applied required skills in their own work ({names}): {_q(pick.text)}")
    strong = [c.name for c in criteria if c.score >= 4.0]
    if strong and found:
        found.append(f"Strongest on: {', '.join(strong)}.")
    return found


def concerns(
    transcript: ReadTranscript, required: Sequence[str], credited: Sequence[str]
) -> list[str]:
    found: list[str] = []
    asked = len(transcript.turns)
    answers = transcript.answers
    unanswered = asked - len(answers)
    non_answers = [a for a in answers if a.non_answer]
    if not answers:
        return ["No answers to evaluate."]
    if non_answers:
        found.append(
            f"No real answer to {len(non_answers)} of {asked} questions, for example: "
            f"{_q(non_answers[0].text)}"
        )
    if unanswered:
        found.append(f"{unanswered} of {asked} questions went unanswered (time ran out or ended).")
    given = [a for a in answers if not a.non_answer]
    injected = [s for a in given for s in a.injected]
    if injected:
        found.append(
            f"Addressed the scorer instead of the question (not counted): {_q(injected[0].text)}"
        )
    repeated = [a for a in given if a.repeats is not None]
    if repeated:
        found.append(
            f"The answers to questions {_numbers(repeated)} repeat an earlier answer "
            f"(counted once): {_q(repeated[0].sentences[0].text)}"
        )
    lists = [
        a for a in given if a.repeats is None and a.prose < 0.4 and a.sentences and not a.injected
    ]
    if lists:
        found.append(
            f"Lists keywords instead of answering in sentences (questions {_numbers(lists)}): "
            f"{_q(lists[0].sentences[0].text)}"
        )
    off = [
        a
        for a in given
        if a.repeats is None and a.prose >= 0.4 and a.relevance < 0.35 and not a.injected
    ]
    if off:
        found.append(
            f"Off the question or the job (questions {_numbers(off)}): "
            f"{_q(off[0].sentences[0].text)}"
        )
    rambling = [
        a for a in given if a.words >= 80 and focus(a) < 0.35 and a not in off and a.prose >= 0.4
    ]
    if rambling:
        vague = min(rambling[0].sentences, key=lambda s: (s.weight, s.specificity))
        found.append(
            f"Long answers with little in them (questions {_numbers(rambling)}): {_q(vague.text)}"
        )
    counted = [s for s in transcript.sentences if s.weight >= 0.5]
    if given and not any(s.specificity >= 0.5 for s in counted):
        example = [s for a in given for s in a.sentences if not s.sentence.injection]
        if example:
            vague = min(example, key=lambda s: (s.specificity, -s.weight))
            found.append(
                "Nothing specific: no figures, named tools or results of their own work, "
                f"for example: {_q(vague.text)}"
            )
    missing = [name for name in required if name not in credited]
    if missing:
        found.append(
            "Required skills not shown in claims about their own work: " + ", ".join(missing) + "."
        )
    return found
