"""Pydantic building blocks shared by the resource modules."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from pydantic import StringConstraints

from server.protocol.text import (
    WHITESPACE,
    Trimmed,
    min_stripped_length_pattern,
    stripped_pattern,
    unstorable,
)

__all__ = [
    "WHITESPACE",
    "Email",
    "Input",
    "Name",
    "Output",
    "Password",
    "Trimmed",
    "min_stripped_length_pattern",
    "stripped_pattern",
]


class Input(pydantic.BaseModel):
    """A request model: unknown fields are an error, not silently dropped, and no string may
    hold a character PostgreSQL cannot store (NUL, an unpaired surrogate: see
    ``server.protocol.text``)."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)

    # After the field's own validation, not before it: a before-validator would hand the
    # field a Python value instead of JSON input, and strict JSON parsing of a body would
    # then refuse a date or a UUID given, as JSON must give it, as a string.
    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = _unstorable_in(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _unstorable_in(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, list | tuple):
        return next((p for p in map(_unstorable_in, value) if p is not None), None)
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
        return next((p for p in map(_unstorable_in, items) if p is not None), None)
    return None


class Output(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)


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
