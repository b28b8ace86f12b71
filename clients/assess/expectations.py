"""What a trustworthy scorer must do with the simulated candidates, as checks that return the
problems they find (an empty list when all is well). The tests assert there are none; the
``openhire assess`` command prints them under its table.

Rankings are compared within one job, bank and seed (the same questions, the same phrasing
generator), so each check is about the candidates, not about luck in the draw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from clients.assess.personas import SUBSTANTIVE, SUPPORTS
from clients.assess.run import Interviewed

LOW = frozenset({"lean_no_hire", "no_hire"})
GAMING = ("stuffer", "canned", "off_topic", "injection")
_QUOTED = re.compile(r'"([^"]+)"')


def _by_draw(results: Iterable[Interviewed]) -> dict[tuple[str, str, int], dict[str, Interviewed]]:
    draws: dict[tuple[str, str, int], dict[str, Interviewed]] = defaultdict(dict)
    for r in results:
        draws[(r.job.key, r.bank, r.seed)][r.persona] = r
    return draws


def ranking_problems(results: Sequence[Interviewed]) -> list[str]:
    problems = []
    for (job, bank, seed), p in sorted(_by_draw(results).items()):
        where = f"{job}/{bank}/seed {seed}"

        def overall(persona: str, p: dict[str, Interviewed] = p) -> float:
            return p[persona].overall

        if {"strong", "average", "weak"} <= p.keys() and not (
            overall("strong") > overall("average") > overall("weak")
        ):
            problems.append(
                f"{where}: strong {overall('strong')} > average {overall('average')} > "
                f"weak {overall('weak')} does not hold"
            )
        if {"terse", "average"} <= p.keys():
            terse, average = (p[x].score_of_kind("technical") for x in ("terse", "average"))
            if terse is not None and average is not None and terse < average:
                problems.append(f"{where}: terse technical {terse} < average technical {average}")
        if {"rambling", "average"} <= p.keys() and overall("rambling") >= overall("average"):
            problems.append(
                f"{where}: rambling {overall('rambling')} >= average {overall('average')}"
            )
        for persona in GAMING:
            if persona not in p:
                continue
            r = p[persona]
            if "weak" in p and r.overall > overall("weak") + 0.5:
                problems.append(f"{where}: {persona} {r.overall} > weak {overall('weak')} + 0.5")
            if r.evaluation["recommendation"] not in LOW:
                problems.append(f"{where}: {persona} got {r.evaluation['recommendation']}")
        for persona in ("silent", "dont_know"):
            if persona in p:
                problems += floor_problems(p[persona], where)
    return problems


def floor_problems(r: Interviewed, where: str) -> list[str]:
    e = r.evaluation
    problems = []
    if e["overall_score"] != 1.0 or any(c["score"] != 1.0 for c in e["criteria"]):
        problems.append(f"{where}: {r.persona} is not at the floor ({e['overall_score']})")
    if any(c["evidence"] for c in e["criteria"]):
        problems.append(f"{where}: {r.persona} has evidence")
    if e["strengths"]:
        problems.append(f"{where}: {r.persona} has strengths {e['strengths']}")
    if e["recommendation"] != "no_hire":
        problems.append(f"{where}: {r.persona} got {e['recommendation']}")
    return problems


def evidence_problems(r: Interviewed) -> list[str]:
    """Quotes verbatim from the answer they name, of a kind of sentence that supports their
    criterion, from a relevant answer; different criteria cite different sentences (strong
    candidates give plenty); every criterion of a strong candidate cites something."""
    where = f"{r.job.key}/{r.bank}/seed {r.seed}/{r.persona}"
    problems = []
    cited: dict[str, list[str]] = {}
    for criterion in r.evaluation["criteria"]:
        kind = r.job.kind_of(criterion["name"])
        allowed = SUPPORTS[kind] | ({"canned-first"} if r.persona == "canned" else set())
        if r.persona != "strong":
            # All an average candidate has is generic: it supports their (low) score.
            allowed |= {"generic"}
        if r.persona == "strong" and not criterion["evidence"]:
            problems.append(f"{where}: {criterion['name']} cites nothing")
        for evidence in criterion["evidence"]:
            answer = r.answers.get(evidence["question_id"])
            quote = evidence["quote"]
            if answer is None or quote not in answer.text:
                problems.append(f"{where}: quote not verbatim: {quote!r}")
                continue
            role = answer.role_of(quote)
            if role not in allowed:
                problems.append(
                    f"{where}: {criterion['name']} ({kind}) cites a {role} sentence: {quote!r}"
                )
            cited.setdefault(quote, []).append(criterion["name"])
    if r.persona == "strong":
        shared = {q: names for q, names in cited.items() if len(names) > 1}
        if shared:
            problems.append(f"{where}: criteria share quotes: {shared}")
    return problems


def feedback_problems(r: Interviewed) -> list[str]:
    """Every quote in the strengths and concerns is verbatim from an answer; a candidate who
    said nothing of substance gets no strength."""
    where = f"{r.job.key}/{r.bank}/seed {r.seed}/{r.persona}"
    texts = [a.text for a in r.answers.values()]
    problems = []
    for line in [*r.evaluation["strengths"], *r.evaluation["concerns"]]:
        if line.startswith("Proctoring:"):
            continue
        for quote in _QUOTED.findall(line):
            if not any(quote in t for t in texts):
                problems.append(f"{where}: feedback quote not verbatim: {quote!r}")
    substantive = any(
        role in SUBSTANTIVE | {"canned-first"}
        for a in r.answers.values()
        for _, role in a.sentences
    )
    if not substantive and r.evaluation["strengths"]:
        problems.append(f"{where}: strengths without substance: {r.evaluation['strengths']}")
    return problems
