"""Pydantic building blocks shared by the resource modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pydantic
from pydantic import StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema


class Input(pydantic.BaseModel):
    """A request model: unknown fields are an error, not silently dropped, and no string may
    hold a NUL character (PostgreSQL's text cannot store one)."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)

    # After the field's own validation, not before it: a before-validator would hand the
    # field a Python value instead of JSON input, and strict JSON parsing of a body would
    # then refuse a date or a UUID given, as JSON must give it, as a string.
    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Output(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)


# What strip_whitespace removes from both ends of a string: Unicode White_Space, as Rust's
# str::trim (pydantic-core) sees it. Spelled out as the body of a regex character class
# because \s means something else in each regex dialect (Python, Rust, JSON Schema's).
WHITESPACE = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE_CHARS = (
    "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


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
    surrounding whitespace, and at least ``min_length`` characters after that.

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


Email = Annotated[
    str,
    Trimmed(
        max_length=254,
        to_lower=True,
        pattern=stripped_pattern(
            rf"[^@{WHITESPACE}\u0000]+@[^@{WHITESPACE}\u0000]+\.[^@{WHITESPACE}\u0000]+"
        ),
    ),
]
# Exactly as typed: a password is never trimmed.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=8, max_length=128)]
Name = Annotated[str, Trimmed(max_length=200, min_length=1)]
