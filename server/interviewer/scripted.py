"""The scripted interviewer: deterministic questions and transparent scores, no network.

It is the embedded default, so a fresh install runs whole interviews offline, and the same
inputs always give the same questions and the same evaluation (which is what tests and
benchmarks need).

Main questions come from a plan built from the job: the recruiter's custom questions first, in
order, then an opener on the title, the required skills one by one interleaved with themes from
the description, then general behavioural questions. The first planned question not yet asked is
the next one, so a question the recruiter injected is never asked twice.

Follow-ups pick a salient term from the candidate's latest answer (a required skill they named, a
technical term, a specific phrase) and ask for depth or for a concrete example.

Scores are heuristics, each criterion classified by its name as technical, problem solving,
communication or general: coverage of the required skills, concrete examples and numbers,
reasoning words (because, trade-off, instead), answer length; all scaled down by the share of
questions left unanswered. The rationale of each score names the figures it used.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass
from itertools import count, pairwise
from typing import Literal

import anyio.to_thread

from server.interviewer._text import (
    asked,
    chunk_words,
    normalize,
    question_group,
    sentences,
    trim_quote,
    word_count,
)
from server.interviewer.base import (
    Criterion,
    CriterionScore,
    Evaluation,
    Evidence,
    Interviewer,
    JobBrief,
    ProctoringSummary,
    QuestionRequest,
    Turn,
)
from server.interviewer.evaluation import (
    overall_score,
    proctoring_concerns,
    proctoring_record,
    recommendation_for,
    rubric_version,
    verify_evaluation,
)

SCRIPT_VERSION = "scripted-1"

_OPENER = (
    "What draws you to this {title} role, and which part of your recent work prepares you "
    "best for it?"
)
_SKILL_TEMPLATES = (
    "Walk me through a recent project where you used {skill}. What was your part, and what "
    "would you do differently today?",
    "How do you decide when {skill} is the right tool and when it is not? Give an example "
    "from your own work.",
    "Tell me about a hard problem you ran into with {skill}. How did you find the cause, and "
    "how did you fix it?",
    "What does good work with {skill} look like to you, and how do you test it and keep it "
    "maintainable?",
)
_THEME_TEMPLATES = (
    'The job description says: "{theme}". Tell me about a time you did something similar: '
    "the situation, what you did, and the result.",
    'The job description says: "{theme}". How would you approach that here, and what would '
    "you want to know first?",
)
_GENERAL = (
    "Tell me about a project you are proud of. What was your contribution, and how did you "
    "measure its success?",
    "Describe a time you disagreed with a teammate about a technical decision. How did you "
    "resolve it?",
    "Tell me about a mistake you made at work. What happened, and what did you change afterwards?",
    "Describe a time you had to learn something new quickly to get a job done. How did you go "
    "about it?",
    "Tell me about a time you had to deliver under a tight deadline. What did you cut, and why?",
    "How do you explain a complex technical topic to someone without your background? Give an "
    "example.",
    "Describe a situation where the requirements were unclear. What did you do to move forward?",
    "Tell me about feedback you received that changed how you work.",
    "What is a decision you made with a trade-off you still think about? What were the options?",
    "How do you prioritise when several urgent things land at once? Give a recent example.",
    "Tell me about a time you improved a process or a system without being asked.",
    "Where do you want to grow in the next two years, and how would this role help?",
)
_FALLBACK = (
    "Tell me about another piece of work you are proud of (number {n}): what was the problem, "
    "what did you do, and what changed because of it?"
)

_FOLLOW_UPS = {
    # The answer was short: ask for one concrete case.
    "thin": (
        'You mentioned "{term}". Can you give me a concrete example: what the situation was, '
        "what you did yourself, and how it turned out?",
        'Let\'s stay with "{term}" a moment. What exactly was your part, step by step?',
    ),
    # Long enough, but no example or figure: ask for evidence.
    "vague": (
        'You mentioned "{term}". Can you make that concrete: a specific time, what you did, '
        "and a number or outcome that shows the result?",
        'On "{term}": how did you know it worked? What did you measure or observe?',
    ),
    # Concrete already: go one level deeper.
    "rich": (
        'You mentioned "{term}". Let\'s go one level deeper: how did it work in detail, what '
        "trade-offs did you weigh, and what would you change now?",
        'About "{term}": what went wrong or surprised you along the way, and how did you '
        "handle it?",
    ),
    # Nothing salient to pick up.
    "bare": (
        "Can you expand on that with a concrete example from your own work: the situation, "
        "what you did, and the result?",
        "What would you do differently if you faced the same situation again, and why?",
        "What was the hardest part of that, and how did you deal with it?",
        "Who else was involved, and what was your own part in it?",
        "How did you know it had worked? What did you measure or observe?",
    ),
    # The question went unanswered.
    "unanswered": (
        "No problem. Let's try it from another angle: can you describe one concrete situation, "
        "even a small one, that relates to this question?",
        "Let's keep it short: in two or three sentences, what is your experience here?",
    ),
}

_FOLLOW_UP_FALLBACK = (
    "Let's add one more detail to that answer (detail {n}): something you have not mentioned "
    "yet that shows how you work."
)

_STOPWORD_TEXT = """
a about above actually after again against all also although always am an and any are
around as at basically be because been before being below between both but by can cannot
could did do does doing done down during each either else enough especially even ever
every few first for from further get gets getting give go going good got great had has
have having he her here hers him his how however i if in into is it its itself just kind
know last later least less let like likely lot lots made make makes making many may me
might more most much must my myself need needed never new next no not nothing now of off
often on once one only or other others our ours out over own part pretty quite rather
really right said same say says see seem should since so some something sometimes somewhat
still such sure take than that the their theirs them then there these they thing things
think this those though through thus time times to too took try tried under until up upon
us use used using very want was way we well went were what whatever when where whether
which while who whom whose why will with within without work worked working would yeah yes
yet you your yours
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_ABOUT_US = frozenset({"we", "we're", "our", "us", "join", "about"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'+#./-]*[A-Za-z0-9+#]|[A-Za-z]")
_NOT_TERMS = frozenset({"i", "e.g", "i.e", "etc", "ok", "okay"})
_NUMBER = re.compile(r"\d")
_EXAMPLE = re.compile(
    r"\b(for example|for instance|e\.g\.|such as|in my (last|previous|current) (role|job|team)"
    r"|at my (last|previous|current)|when i|we built|i built|i led|i wrote|i designed"
    r"|i implemented|i migrated|i fixed|i reduced|i improved|we shipped|we reduced|we moved"
    r"|last year|one time|once)\b",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(because|trade-?offs?|instead of|instead|so that|therefore|which meant|the reason"
    r"|root cause|compared|alternatives?|decided|weighed|measured|benchmark(ed)?|risk)\b",
    re.IGNORECASE,
)
_STRUCTURE = re.compile(r"\b(first|second|then|finally|in the end|as a result|overall)\b", re.I)

CriterionKind = Literal["technical", "problem_solving", "communication", "general"]
_KIND_KEYWORDS: tuple[tuple[CriterionKind, tuple[str, ...]], ...] = (
    ("communication", ("communic", "clarity", "clear", "articul", "concise", "explain")),
    ("problem_solving", ("problem", "reason", "analy", "design", "debug", "judg", "solution")),
    (
        "technical",
        ("technical", "skill", "knowledge", "expertise", "depth", "domain", "tool", "coding"),
    ),
)


class ScriptedInterviewer(Interviewer):
    name = "scripted"

    # Questions are whole before they are streamed: a few words a frame still streams, and
    # costs a third of the frames two words would (every frame goes to every watcher too).
    def __init__(self, *, words_per_chunk: int = 6) -> None:
        self.model = "scripted-v1"
        self.prompt_version = SCRIPT_VERSION
        self.words_per_chunk = words_per_chunk

    async def stream_question(self, request: QuestionRequest) -> AsyncGenerator[str, None]:
        # No sleeping between chunks: the caller paces the stream.
        for chunk in chunk_words(next_question(request), self.words_per_chunk):
            yield chunk

    async def evaluate(
        self, job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
    ) -> Evaluation:
        # A few milliseconds of pure Python per interview: in a worker thread, so that many
        # interviews ending at once do not hold every socket's event loop while they are scored.
        return await anyio.to_thread.run_sync(score_interview, job, tuple(transcript), proctoring)


# Questions


def next_question(request: QuestionRequest) -> str:
    if request.kind == "follow_up":
        return follow_up(request)
    done = asked(request.transcript)
    return next(q for q in planned_questions(request.job) if normalize(q) not in done)


def planned_questions(job: JobBrief) -> Iterator[str]:
    """Every main question the script would ask for this job, in order, without repeats; the
    sequence never ends, so any question_count can be served."""
    seen: set[str] = set()

    def fresh(question: str) -> bool:
        key = normalize(question)
        if key in seen:
            return False
        seen.add(key)
        return True

    def candidates() -> Iterator[str]:
        yield from (q.strip() for q in job.custom_questions if q.strip())
        if job.title.strip():
            yield _OPENER.format(title=job.title.strip())
        skills = [s.strip() for s in job.required_skills if s.strip()]
        themes = description_themes(job.description)
        # Two skills, then a theme from the description, while both last.
        for i in range(max(len(skills), 2 * len(themes))):
            if i < len(skills):
                yield _SKILL_TEMPLATES[i % len(_SKILL_TEMPLATES)].format(skill=skills[i])
            if i % 2 == 1 and i // 2 < len(themes):
                theme = themes[i // 2]
                yield _THEME_TEMPLATES[(i // 2) % len(_THEME_TEMPLATES)].format(theme=theme)
        yield from _GENERAL
        for offset in range(1, len(_SKILL_TEMPLATES)):
            for i, skill in enumerate(skills):
                template = _SKILL_TEMPLATES[(i + offset) % len(_SKILL_TEMPLATES)]
                yield template.format(skill=skill)
        for n in count(2):
            yield _FALLBACK.format(n=n)

    return (q for q in candidates() if fresh(q))


def description_themes(description: str, limit: int = 4) -> list[str]:
    """Short statements of what the job involves: bullet points first, then sentences."""
    bullets: list[str] = []
    prose: list[str] = []
    for line in description.splitlines():
        stripped = line.strip()
        bullet = re.match(r"^(?:[-*•·]|\d+[.)])\s+(.*)$", stripped)
        if bullet:
            bullets.append(bullet.group(1))
        elif stripped:
            # "We are a small team..." describes the company, not the work.
            prose.extend(s for s in sentences(stripped) if s.split()[0].casefold() not in _ABOUT_US)
    themes: list[str] = []
    for candidate in [*bullets, *prose]:
        theme = candidate.strip().rstrip(".!?:;,").replace('"', "'")
        if 4 <= word_count(theme) <= 25 and theme.casefold() not in map(str.casefold, themes):
            themes.append(theme)
        if len(themes) == limit:
            break
    return themes


def follow_up(request: QuestionRequest) -> str:
    """A follow-up built on the latest answer to main question ``request.index``.

    Candidates are tried in order (salient terms of the answer, each with the templates that
    fit the answer's shape, then term-less prompts) and the first one not yet asked anywhere in
    the interview wins, so a candidate who repeats an answer is not asked the same thing twice.
    """
    group = question_group(request.transcript, request.index)
    previous = [t for t in group if t.kind == "follow_up"]
    answered = [t for t in group if t.answered and t.answer is not None]
    done = asked(request.transcript)
    return next(
        q
        for q in _follow_up_candidates(request.job, answered, previous)
        if normalize(q) not in done
    )


def _follow_up_candidates(
    job: JobBrief, answered: Sequence[Turn], previous: Sequence[Turn]
) -> Iterator[str]:
    variant = len(previous)
    if not answered:
        yield from _rotate(_FOLLOW_UPS["unanswered"], variant)
    else:
        answer = answered[-1].answer or ""
        if word_count(answer) < 30:
            shape = "thin"
        elif not (_NUMBER.search(answer) or _EXAMPLE.search(answer)):
            shape = "vague"
        else:
            shape = "rich"
        used = " ".join(t.text for t in previous).casefold()
        for term in salient_terms(answer, job.required_skills):
            if term.casefold() not in used:
                for template in _rotate(_FOLLOW_UPS[shape], variant):
                    yield template.format(term=term)
    yield from _rotate(_FOLLOW_UPS["bare"], variant)
    for n in count(2):
        yield _FOLLOW_UP_FALLBACK.format(n=n)


def _rotate(templates: Sequence[str], start: int) -> list[str]:
    start %= len(templates)
    return [*templates[start:], *templates[:start]]


def salient_term(answer: str, skills: Sequence[str], *, exclude: str = "") -> str | None:
    """The first of :func:`salient_terms` not found in ``exclude`` (text already asked)."""
    exclude = exclude.casefold()
    return next((t for t in salient_terms(answer, skills) if t.casefold() not in exclude), None)


def salient_terms(answer: str, skills: Sequence[str]) -> list[str]:
    """Terms from the answer worth asking about, exactly as the candidate wrote them.

    In order of preference: required skills they named (in the order they named them),
    technical-looking terms (acronyms, CamelCase, digits, dotted names, capitalised names),
    pairs of content words (longest first), single content words (longest first).
    """
    found: list[tuple[int, int, str]] = []  # (rank, position, term)
    for skill in skills:
        skill = skill.strip()
        match = re.search(rf"(?<!\w){re.escape(skill)}(?!\w)", answer, re.I) if skill else None
        if match:
            found.append((0, match.start(), match.group()))

    words = list(_WORD.finditer(answer))
    for match in words:
        word = match.group()
        technical = (
            (len(word) >= 2 and word.isupper())
            or any(ch.isdigit() for ch in word)
            or any(ch in ".+#" for ch in word[1:])
            or (any(ch.isupper() for ch in word[1:]) and any(ch.islower() for ch in word))
            or (
                word[0].isupper()
                and word.casefold() not in _STOPWORDS
                and not _starts_sentence(answer, match.start())
            )
        )
        if technical and word.casefold() not in _NOT_TERMS:
            found.append((1, match.start(), word))

    def content(word: str) -> bool:
        return len(word) >= 4 and word.casefold() not in _STOPWORDS and "'" not in word

    for first, second in pairwise(words):
        gap = answer[first.end() : second.start()]
        if gap == " " and content(first.group()) and content(second.group()):
            phrase = answer[first.start() : second.end()]
            found.append((2, -len(phrase), phrase))
    for match in words:
        if content(match.group()) and len(match.group()) >= 5:
            found.append((3, -len(match.group()), match.group()))

    terms: dict[str, str] = {}
    for _, _, term in sorted(found):
        terms.setdefault(term.casefold(), term)
    return list(terms.values())


def _starts_sentence(text: str, position: int) -> bool:
    while position > 0 and text[position - 1].isspace():
        position -= 1
    return position == 0 or text[position - 1] in ".!?:\"'(-"


# Evaluation


@dataclass(frozen=True, slots=True)
class _Answer:
    turn: Turn
    text: str
    words: int
    concrete: bool
    reasoning: bool
    structured: bool
    skills: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Signals:
    asked: int
    answers: tuple[_Answer, ...]
    skills: tuple[str, ...]
    mentioned: tuple[str, ...]

    @property
    def answered_ratio(self) -> float:
        return len(self.answers) / self.asked if self.asked else 0.0

    def share(self, flag: str) -> float:
        if not self.answers:
            return 0.0
        return sum(bool(getattr(a, flag)) for a in self.answers) / len(self.answers)

    @property
    def coverage(self) -> float:
        if not self.skills:
            # Nothing to cover: fall back on concreteness so the weight is not free points.
            return self.share("concrete")
        return len(self.mentioned) / len(self.skills)

    @property
    def mean_words(self) -> float:
        return sum(a.words for a in self.answers) / len(self.answers) if self.answers else 0.0

    @property
    def length(self) -> float:
        """0 for empty answers, 1 from about 80 words."""
        if not self.answers:
            return 0.0
        return sum(min(1.0, a.words / 80) for a in self.answers) / len(self.answers)

    @property
    def clarity(self) -> float:
        """1 for answers of 25-250 words, less for shorter ones and for rambling ones."""
        if not self.answers:
            return 0.0

        def one(a: _Answer) -> float:
            base = min(1.0, a.words / 25) if a.words <= 250 else 0.7
            return min(1.0, base + (0.1 if a.structured else 0.0))

        return sum(one(a) for a in self.answers) / len(self.answers)


def _signals(job: JobBrief, transcript: Sequence[Turn]) -> _Signals:
    skills = tuple(dict.fromkeys(s.strip() for s in job.required_skills if s.strip()))
    answers = []
    for turn in transcript:
        if not turn.answered or turn.answer is None:
            continue
        text = turn.answer
        answers.append(
            _Answer(
                turn=turn,
                text=text,
                words=word_count(text),
                concrete=bool(_NUMBER.search(text) or _EXAMPLE.search(text)),
                reasoning=bool(_REASONING.search(text)),
                structured=bool(_STRUCTURE.search(text)),
                skills=frozenset(s for s in skills if _mentions(text, s)),
            )
        )
    mentioned = tuple(s for s in skills if any(s in a.skills for a in answers))
    return _Signals(
        # A question still pending when the interview is scored went unanswered.
        asked=len(transcript),
        answers=tuple(answers),
        skills=skills,
        mentioned=mentioned,
    )


@functools.lru_cache(maxsize=1024)
def _skill_pattern(skill: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(skill)}(?!\w)", re.IGNORECASE)


def _mentions(text: str, skill: str) -> bool:
    return _skill_pattern(skill).search(text) is not None


def criterion_kind(criterion: Criterion) -> CriterionKind:
    for text in (criterion.name.casefold(), criterion.description.casefold()):
        for kind, keywords in _KIND_KEYWORDS:
            if any(k in text for k in keywords):
                return kind
    return "general"


def _quality(kind: CriterionKind, s: _Signals) -> float:
    """How well the answers speak to a criterion of this kind, from 0 to 1, before the
    unanswered-questions penalty."""
    concrete, reasoning = s.share("concrete"), s.share("reasoning")
    if kind == "technical":
        return 0.45 * s.coverage + 0.3 * concrete + 0.25 * s.length
    if kind == "problem_solving":
        return 0.45 * reasoning + 0.3 * concrete + 0.25 * s.length
    if kind == "communication":
        return 0.7 * s.clarity + 0.3 * concrete
    return 0.3 * s.length + 0.3 * concrete + 0.2 * reasoning + 0.2 * s.coverage


def _score(quality: float) -> int:
    # Half rounds up (not to even), so the rule is the one a person would apply by hand.
    return max(1, min(5, math.floor(1 + 4 * quality + 0.5)))


def _rationale(kind: CriterionKind, s: _Signals) -> str:
    answered = f"Answered {len(s.answers)} of {s.asked} questions"
    concrete = sum(a.concrete for a in s.answers)
    reasoning = sum(a.reasoning for a in s.answers)
    parts = [answered]
    if kind in ("technical", "general") and s.skills:
        names = ", ".join(s.mentioned) if s.mentioned else "none"
        parts.append(f"mentioned {len(s.mentioned)} of {len(s.skills)} required skills ({names})")
    if kind in ("problem_solving", "general"):
        parts.append(f"explained reasons or trade-offs in {reasoning}")
    parts.append(f"gave concrete examples or figures in {concrete}")
    parts.append(f"answers averaged {s.mean_words:.0f} words")
    return "; ".join(parts) + "."


@dataclass(frozen=True, slots=True)
class _Sentence:
    """A quotable sentence of an answer and what the evidence ranking looks at in it."""

    position: int
    question_id: str
    quote: str
    words: int
    concrete: bool
    reasoning: bool
    named: int


def _quotable(s: _Signals) -> list[_Sentence]:
    """Every sentence of five words or more, read once per evaluation (not per criterion)."""
    found = []
    position = 0
    for answer in s.answers:
        for sentence in sentences(answer.text):
            position += 1
            words = word_count(sentence)
            if words < 5:
                continue
            found.append(
                _Sentence(
                    position=position,
                    question_id=answer.turn.question_id,
                    quote=trim_quote(sentence),
                    words=words,
                    concrete=bool(_NUMBER.search(sentence) or _EXAMPLE.search(sentence)),
                    reasoning=bool(_REASONING.search(sentence)),
                    named=sum(_mentions(sentence, skill) for skill in s.skills),
                )
            )
    return found


def _sentence_weight(kind: CriterionKind, sentence: _Sentence) -> int:
    concrete, reasoning, named = sentence.concrete, sentence.reasoning, sentence.named
    if kind == "technical":
        return 2 * named + concrete
    if kind == "problem_solving":
        return 2 * reasoning + concrete
    if kind == "communication":
        return int(8 <= sentence.words <= 40) + concrete + reasoning
    return concrete + reasoning + min(1, named)


def _evidence(kind: CriterionKind, quotable: Sequence[_Sentence], limit: int = 2) -> list[Evidence]:
    ranked = [
        (
            -_sentence_weight(kind, sentence),
            sentence.position,
            Evidence(question_id=sentence.question_id, quote=sentence.quote),
        )
        for sentence in quotable
    ]
    ranked.sort(key=lambda r: (r[0], r[1]))
    chosen: list[Evidence] = []
    for weight, _, evidence in ranked:
        if len(chosen) == limit or (weight == 0 and chosen):
            break
        if evidence.quote not in {c.quote for c in chosen}:
            chosen.append(evidence)
    return chosen


def score_interview(
    job: JobBrief, transcript: Sequence[Turn], proctoring: ProctoringSummary
) -> Evaluation:
    s = _signals(job, transcript)
    quotable = _quotable(s)
    criteria = []
    for criterion in job.rubric:
        kind = criterion_kind(criterion)
        quality = _quality(kind, s) * s.answered_ratio
        criteria.append(
            CriterionScore(
                name=criterion.name,
                weight=criterion.weight,
                score=_score(quality),
                rationale=_rationale(kind, s),
                evidence=_evidence(kind, quotable),
            )
        )
    overall = overall_score(criteria)
    evaluation = Evaluation(
        criteria=criteria,
        overall_score=overall,
        strengths=_strengths(s, criteria),
        concerns=[*_concerns(s, criteria), *proctoring_concerns(proctoring)],
        recommendation=recommendation_for(overall),
        proctoring=proctoring_record(proctoring),
        rubric_version=rubric_version(job.rubric),
        prompt_version=SCRIPT_VERSION,
        model="scripted-v1",
        interviewer="scripted",
    )
    # The quotes are taken from the answers, so this only guards against a future bug.
    return verify_evaluation(evaluation, transcript)


def _strengths(s: _Signals, criteria: Sequence[CriterionScore]) -> list[str]:
    strengths = []
    if s.asked and len(s.answers) == s.asked:
        strengths.append("Answered every question.")
    if s.skills and s.coverage >= 0.6:
        strengths.append(
            f"Spoke to {len(s.mentioned)} of {len(s.skills)} required skills: "
            f"{', '.join(s.mentioned)}."
        )
    concrete = sum(a.concrete for a in s.answers)
    if s.answers and concrete / len(s.answers) >= 0.5:
        strengths.append(
            f"Backed {concrete} of {len(s.answers)} answers with concrete examples or figures."
        )
    reasoning = sum(a.reasoning for a in s.answers)
    if s.answers and reasoning / len(s.answers) >= 0.5:
        strengths.append(
            f"Explained the reasons and trade-offs behind decisions in {reasoning} answers."
        )
    strengths.extend(f"Strong on {c.name} ({c.score}/5)." for c in criteria if c.score >= 4)
    return strengths


def _concerns(s: _Signals, criteria: Sequence[CriterionScore]) -> list[str]:
    concerns = []
    if not s.answers:
        concerns.append("No answers to evaluate.")
    unanswered = s.asked - len(s.answers)
    if unanswered > 0 and s.answers:
        concerns.append(f"{unanswered} of {s.asked} questions went unanswered.")
    missing = [skill for skill in s.skills if skill not in s.mentioned]
    if missing and s.answers:
        concerns.append(f"Did not mention these required skills: {', '.join(missing)}.")
    if s.answers and s.share("concrete") < 0.34:
        concerns.append("Few concrete examples or figures to back up the answers.")
    if s.answers and s.mean_words < 25:
        concerns.append(f"Answers were short (about {s.mean_words:.0f} words on average).")
    concerns.extend(f"Weak on {c.name} ({c.score}/5)." for c in criteria if c.score <= 2)
    return concerns
