"""Strings as clients send them and the server stores them: one set of rules for the HTTP API and
the interview sockets.

Every string a client sends ends up in PostgreSQL, as ``text`` or inside ``jsonb``. Two kinds of
character cannot be stored there: NUL (``text`` cannot hold it, and ``jsonb`` refuses the
``\u0000`` escape) and unpaired UTF-16 surrogates (not Unicode scalar values: they cannot be
encoded as UTF-8, so neither the JSON encoder nor the database takes them). ``unstorable`` names
them, and every request model and socket message refuses them before anything is stored: a
message the database would refuse must never be accepted, answered or acked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# What strip_whitespace removes from both ends of a string: Unicode White_Space, as Rust's
# str::trim (pydantic-core) sees it. Spelled out as the body of a regex character class
# because \s means something else in each regex dialect (Python, Rust, JSON Schema's).
WHITESPACE = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE_CHARS = (
    "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why PostgreSQL could not store ``value`` (as text or in jsonb), or None if it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value) is not None:
        return "must not contain unpaired surrogates"
    return None


def without_unstorable(value: Any) -> Any:
    """``value`` (text, or lists and dicts holding text) with the characters PostgreSQL cannot
    store taken out: for text nobody can be asked to send again, such as the AI interviewer's
    questions and evaluation, which would otherwise fail to store each time they are made."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, list | tuple):
        return [without_unstorable(v) for v in value]
    if isinstance(value, dict):
        return {without_unstorable(k): without_unstorable(v) for k, v in value.items()}
    return value


def stripped_pattern(pattern: str) -> str:
    """``^pattern$``, allowing the surrounding whitespace a request model strips."""
    return f"^[{WHITESPACE}]*{pattern}[{WHITESPACE}]*$"


def min_stripped_length_pattern(min_length: int) -> str:
    """A JSON Schema pattern for: no NUL, and at least ``min_length`` characters between
    the first and the last character that is not whitespace."""
    if min_length <= 0:
        return "^[^\\u0000]*$"
    if min_length == 1:
        return f"^[^\\u0000]*[^{WHITESPACE}\\u0000][^\\u0000]*$"
    return (
        f"^[{WHITESPACE}]*[^{WHITESPACE}\\u0000][^\\u0000]{{{min_length - 2},}}"
        f"[^{WHITESPACE}\\u0000][{WHITESPACE}]*$"
    )


@dataclass(frozen=True, slots=True)
class Trimmed:
    """``Annotated[str, Trimmed(max_length=200, min_length=1)]``: a request string of at most
    ``max_length`` characters as sent (and matching ``pattern``, if given), then stripped of
    surrounding whitespace, and at least ``min_length`` characters after that; never with a
    character PostgreSQL cannot store (``unstorable``). Request models (``server.http.types``)
    and socket messages (``server.protocol.messages``) use the same type, so a blank or
    unstorable answer is refused the same way over HTTP and over a socket.

    The order matters: the limits a client reads in the OpenAPI document (maxLength, pattern)
    hold for what it sends, and a blank value never passes for a present one.
    """

    max_length: int
    min_length: int = 0
    pattern: str | None = None
    to_lower: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        raw = core_schema.str_schema(
            max_length=self.max_length,
            pattern=self.pattern,
            to_lower=self.to_lower,
            strip_whitespace=False,
        )
        return core_schema.no_info_after_validator_function(self._strip, raw)

    def _strip(self, value: str) -> str:
        problem = unstorable(value)
        if problem is not None:
            raise PydanticCustomError("string_unstorable", "String " + problem)
        value = value.strip(_WHITESPACE_CHARS)
        if len(value) < self.min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should not be blank"
                if self.min_length == 1
                else "String should have at least {min_length} characters, not counting"
                " surrounding whitespace",
                {"min_length": self.min_length},
            )
        return value

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: pydantic.GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if self.min_length > 0:
            json_schema["minLength"] = self.min_length
        if self.pattern is None:
            json_schema["pattern"] = min_stripped_length_pattern(self.min_length)
        return json_schema
