"""Evidence: for each criterion, the sentences that show it best, quoted verbatim.

A sentence supports a criterion when its value for it (``CriterionReading.value``) reaches
``SUPPORT``: so a quote always comes from a relevant answer, in prose, said for the first time,
and shows what the criterion looks at. Criteria with the fewest supporting sentences choose
first, and each takes sentences no other criterion has taken while it has any: different
criteria cite different sentences wherever the transcript allows. With nothing that supports
it, a criterion cites nothing rather than something beside the point.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.interviewer._text import trim_quote
from server.interviewer.base import Evidence
from server.interviewer.scoring.criteria import CriterionReading
from server.interviewer.scoring.transcript import ReadSentence, ReadTranscript

SUPPORT = 0.3
QUOTES_PER_CRITERION = 2


def choose_evidence(
    readings: Sequence[CriterionReading], transcript: ReadTranscript
) -> list[list[Evidence]]:
    """The evidence of each criterion, in the order of ``readings``."""
    sentences = transcript.sentences
    ranked: list[list[tuple[float, int, ReadSentence]]] = []
    for reading in readings:
        supporting = [
            (reading.value(s), position, s)
            for position, s in enumerate(sentences)
            if reading.value(s) >= SUPPORT and reading.supported_by(s)
        ]
        supporting.sort(key=lambda r: (-r[0], r[1]))
        ranked.append(supporting)
    used: set[int] = set()
    chosen: list[list[Evidence]] = [[] for _ in readings]
    order = sorted(range(len(readings)), key=lambda i: (len(ranked[i]), i))
    for i in order:
        fresh = [r for r in ranked[i] if r[1] not in used]
        picks = fresh[:QUOTES_PER_CRITERION]
        if not picks and ranked[i]:
            picks = ranked[i][:1]  # every supporting sentence is taken: share the best
        for _, position, s in picks:
            used.add(position)
            chosen[i].append(Evidence(question_id=s.turn.question_id, quote=trim_quote(s.text)))
    return chosen
