"""Question planning for the scripted interviewer: main questions from the job, follow-ups
from the candidate's latest answer. Deterministic, no network.

Main questions come from a plan built from the job: the recruiter's custom questions first, in
order, then an opener on the title, the required skills one by one interleaved with themes from
the description, then general behavioural questions. The first planned question not yet asked is
the next one, so a question the recruiter injected is never asked twice.

Follow-ups pick a salient term from the candidate's latest answer (a required skill they named, a
technical term, a specific phrase) and ask for depth or for a concrete example.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import count, pairwise

from server.interviewer._text import asked, normalize, question_group, sentences, word_count
from server.interviewer.base import JobBrief, QuestionRequest, Turn
from server.interviewer.scoring.vocabulary import Skill, names_skill, skill_names

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
# A whole word: never the tail of a longer token ("M" of "30M", "js" of "node.js").
_WORD = re.compile(
    r"(?<![\w'+#./-])[A-Za-z][A-Za-z0-9'+#./-]*[A-Za-z0-9+#]"
    r"|(?<![\w'+#./-])[A-Za-z](?![\w'+#./-])"
)
_NOT_TERMS = frozenset({"i", "e.g", "i.e", "etc", "ok", "okay"})
_NUMBER = re.compile(r"\d")
_EXAMPLE = re.compile(
    r"\b(for example|for instance|e\.g\.|such as|in my (last|previous|current) (role|job|team)"
    r"|at my (last|previous|current)|when i|we built|i built|i led|i wrote|i designed"
    r"|i implemented|i migrated|i fixed|i reduced|i improved|we shipped|we reduced|we moved"
    r"|last year|one time|once)\b",
    re.IGNORECASE,
)


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
        # Under any of its names: "Postgres" is the skill PostgreSQL.
        said = names_skill(answer, Skill(skill, skill_names(skill))) if skill else None
        if said:
            found.append((0, answer.find(said), said))

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
