"""What the job is about, as words: the scorer's measure of relevance.

A job's vocabulary is the content of its own text (title, description, required skills, rubric)
and of the fields of work that text belongs to (``lexicon.FIELD_WORDS``), plus the words of any
workplace. A sentence is relevant to the job when it uses that vocabulary; an answer is relevant
to its question when it takes up the question's key terms (or their synonyms).

Skills are recognised under their other names (``lexicon.SKILL_ALIASES``): a candidate who says
"Postgres" has named the required skill "PostgreSQL".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from server.interviewer.base import JobBrief
from server.interviewer.scoring.lexicon import (
    FIELD_WORDS,
    QUESTION_WORDS,
    SKILL_ALIASES,
    TOPIC_SYNONYMS,
)
from server.interviewer.scoring.reading import Sentence, content_words, stem, words

# Aliases too common as plain words to match in any case: only as written in technical text
# ("CI", "Go" in mid-sentence), never as "go" or "spin".
_CASE_SENSITIVE = frozenset({"go", "ts", "pg", "ci", "cd", "ml", "js", "node", "spin", "s3"})


@dataclass(frozen=True, slots=True)
class Skill:
    """A skill as the recruiter named it, with every name that counts as it."""

    name: str
    names: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def skill_names(skill: str) -> tuple[str, ...]:
    """Every name of ``skill``: itself, and its lexicon entry's name and aliases."""
    key = skill.strip().casefold()
    names = [key]
    for canonical, aliases in SKILL_ALIASES.items():
        if key == canonical or key in aliases:
            names += [canonical, *aliases]
    return tuple(dict.fromkeys(names))


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    body = re.escape(name).replace(r"\ ", r"[\s-]+")
    if name in _CASE_SENSITIVE:
        variants = {name.upper(), name.capitalize()}
        alternatives = "|".join(re.escape(v) for v in sorted(variants))
        return re.compile(rf"(?<![\w+#./-])(?:{alternatives})(?![\w+#])")
    return re.compile(rf"(?<![\w+#./-]){body}(?![\w+#]|\.\w)", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _matchers(names: tuple[str, ...]) -> tuple[tuple[str, str | None, re.Pattern[str]], ...]:
    """Each name with its pattern and the piece of it that any text naming it must contain,
    lower-cased: its longest run without a space (the pattern lets a space be any run of spaces
    and hyphens). No piece for a name that is not ASCII."""
    return tuple(
        (
            name,
            max(name.lower().split(" "), key=len) if name.isascii() else None,
            _name_pattern(name),
        )
        for name in names
    )


def _lowered(text: str) -> str | None:
    # Under re.IGNORECASE an ASCII letter also matches a few other letters (the Kelvin sign,
    # the long s), which ``str.lower`` does not map to it: the prefilter needs ASCII text.
    return text.lower() if text.isascii() else None


def names_skill(text: str, skill: Skill) -> str | None:
    """The words of ``text`` that name ``skill``, exactly as written, or None."""
    return _names_skill(text, _lowered(text), skill)


def _names_skill(text: str, lowered: str | None, skill: Skill) -> str | None:
    # A substring test rules out most names before their regular expression is searched: each
    # sentence is checked against every name of every skill the lexicon knows.
    for name, piece, pattern in _matchers(skill.names):
        if lowered is not None and piece is not None and piece not in lowered:
            continue
        match = pattern.search(text)
        if match and not (name in ("go", "node") and _at_sentence_start(text, match.start())):
            return match.group()
    return None


def _at_sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in ".!?:\n"


# Every skill the lexicon knows, for recognising tools the job did not list.
KNOWN_SKILLS = tuple(Skill(name, skill_names(name)) for name in SKILL_ALIASES)


# How much a word counts towards a sentence's relevance, by where the job's vocabulary has it:
# the job's own text (and the question's key terms), its field of work, any workplace.
OWN_WEIGHT, FIELD_WEIGHT, WORKPLACE_WEIGHT = 1.0, 0.75, 0.5


@dataclass(frozen=True, slots=True)
class JobVocabulary:
    required: tuple[Skill, ...]
    own: frozenset[str]
    field: frozenset[str]
    workplace: frozenset[str]
    fields: tuple[str, ...]

    @classmethod
    def of(cls, job: JobBrief) -> JobVocabulary:
        named = dict.fromkeys(s.strip() for s in job.required_skills if s.strip())
        required = tuple(Skill(name, skill_names(name)) for name in named)
        own_text = " ".join(
            [
                job.title,
                job.description,
                *job.required_skills,
                *(name for skill in required for name in skill.names),
            ]
        )
        generic = _question_stems()
        own = {stem(w) for w in content_words(words(own_text))} - generic
        fields = []
        for field in FIELD_WORDS:
            if field != "workplace" and len(own & _field_stems(field)) >= 3:
                fields.append(field)
        if not fields:
            # A job whose text names no field: the field it shares most with, if any.
            best = max(
                (f for f in FIELD_WORDS if f != "workplace"),
                key=lambda f: len(own & _field_stems(f)),
            )
            if own & _field_stems(best):
                fields.append(best)
        field_stems = frozenset().union(*(_field_stems(f) for f in fields)) - generic
        return cls(
            required=required,
            own=frozenset(own),
            field=field_stems,
            workplace=_field_stems("workplace") - generic,
            fields=tuple(fields),
        )

    def skills_named(self, text: str) -> list[tuple[Skill, str]]:
        """The required skills ``text`` names, each with the words that named it."""
        found = []
        lowered = _lowered(text)
        for skill in self.required:
            said = _names_skill(text, lowered, skill)
            if said is not None:
                found.append((skill, said))
        return found

    def tools_named(self, sentence: Sentence) -> set[str]:
        """Tools and skills a sentence names (required or not), as canonical lower-case names;
        technical-looking tokens (acronyms, versions) count as themselves."""
        tools = {skill.name.casefold() for skill, _ in self.skills_named(sentence.text)}
        lowered = _lowered(sentence.text)
        for skill in KNOWN_SKILLS:
            said = _names_skill(sentence.text, lowered, skill)
            # A tool the job did not ask for counts when it is written as a name ("Redis",
            # "window functions"), not as an everyday word ("pipeline", "escalation").
            if said is not None and (not said.islower() or " " in said):
                tools.add(skill.name)
        tools.update(t.casefold() for t in sentence.technical_tokens)
        return tools

    def relevance(self, sentence: Sentence, key_terms: Iterable[frozenset[str]] = ()) -> float:
        """How much the sentence is about the job or its question, from 0 to 1: two words of
        the job's own text or of the question make it fully relevant; words of its field of work
        count less, and words any workplace uses (team, customer) less again."""
        keys = frozenset().union(*key_terms)
        hits = 0.0
        for word_stem in sentence.stems:
            if word_stem in self.own or _matches(word_stem, keys):
                hits += OWN_WEIGHT
            elif word_stem in self.field:
                hits += FIELD_WEIGHT
            elif word_stem in self.workplace:
                hits += WORKPLACE_WEIGHT
        return min(1.0, hits / 2)


@functools.lru_cache(maxsize=16)
def _field_stems(field: str) -> frozenset[str]:
    return frozenset(stem(w) for w in FIELD_WORDS[field])


@functools.lru_cache(maxsize=1)
def _question_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in QUESTION_WORDS)


@functools.lru_cache(maxsize=1)
def _topics() -> tuple[tuple[str, frozenset[str]], ...]:
    topics = []
    for topic, synonyms in TOPIC_SYNONYMS.items():
        terms = {stem(topic)}
        for synonym in synonyms:
            terms.update(stem(w) for w in content_words(words(synonym)))
        topics.append((stem(topic), frozenset(terms)))
    return tuple(topics)


def _matches(word_stem: str, keys: frozenset[str]) -> bool:
    """Equal stems, or one a prefix of the other (disagre/disagr, decid/decis are not)."""
    if word_stem in keys:
        return True
    return len(word_stem) >= 5 and any(
        len(k) >= 5 and (k.startswith(word_stem) or word_stem.startswith(k)) for k in keys
    )


@functools.lru_cache(maxsize=4096)
def key_terms(question: str, skills: tuple[Skill, ...]) -> tuple[frozenset[str], ...]:
    """What the question is about, as groups of stems: each group is one key term of the
    question with its synonyms (a skill's other names, a topic's usual words). Template words
    ("tell me about a time") are not key terms."""
    groups: list[frozenset[str]] = []
    named = set()
    for skill in skills:
        if names_skill(question, skill) is not None:
            named.add(skill.name)
            group = {stem(w) for n in skill.names for w in content_words(words(n))}
            groups.append(frozenset(group))
    skill_stems = frozenset().union(*groups) if groups else frozenset()
    for word in dict.fromkeys(content_words(words(question))):
        word_stem = stem(word)
        if word_stem in _question_stems() or word_stem in skill_stems or len(word) < 3:
            continue
        group = {word_stem}
        for topic, synonyms in _topics():
            if topic == word_stem or word_stem in synonyms:
                group |= synonyms
        groups.append(frozenset(group))
    return tuple(groups)


def question_fit(answer_stems: frozenset[str], groups: tuple[frozenset[str], ...]) -> float:
    """How much of what the question is about the answer takes up: 1 for two key terms (or
    every one, when there are fewer), 1 for a question with no key terms at all."""
    if not groups:
        return 1.0
    matched = sum(1 for group in groups if any(_matches(s, group) for s in answer_stems))
    return min(1.0, matched / min(2, len(groups)))
