"""Split a SQL script into its statements, as PostgreSQL's own lexer would find their ends.

Migrations are applied one statement at a time, so that a failure can name the statement that
failed (and so that ``schema_migrations.statements`` holds statements, as the Supabase CLI
writes it). A semicolon ends a statement unless it is inside a comment (``--`` to the end of the
line, ``/* */`` nested), a string (``'…'`` with ``''``, ``E'…'`` with backslash escapes), a quoted
identifier (``"…"``) or a dollar-quoted body (``$$…$$``, ``$tag$…$tag$``). SQL-standard function
bodies (``BEGIN ATOMIC … END``) contain bare semicolons and are refused: write them
dollar-quoted.
"""

from __future__ import annotations

import re

from server.errors import ConfigurationError

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_BEGIN_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]")


def split_statements(script: str) -> list[str]:
    """The statements of ``script``, each without its semicolon and without the comments and
    blank lines before it; statements that are only comments are dropped."""
    statements: list[str] = []
    start: int | None = None  # where the current statement's first token begins
    code: list[str] = []  # the current statement outside strings and comments
    i, n = 0, len(script)

    def finish(end: int) -> None:
        nonlocal start
        if start is not None:
            if _BEGIN_ATOMIC.search("".join(code)):
                raise ConfigurationError(
                    "BEGIN ATOMIC function bodies are not supported in migrations: quote the"
                    " body with $$ instead"
                )
            statements.append(script[start:end].strip())
        start = None
        code.clear()

    while i < n:
        ch = script[i]
        if script.startswith("--", i):
            newline = script.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if script.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if script.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif script.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        if ch == ";":
            finish(i)
            i += 1
            continue
        if ch.isspace():
            if start is not None:
                code.append(" ")
            i += 1
            continue
        if start is None:
            start = i
        if ch in "'\"":
            escapes = ch == "'" and i > 0 and script[i - 1] in "eE" and _word_start(script, i - 1)
            i = _end_of_quoted(script, i, ch, escapes)
            code.append(" ")
            continue
        if ch == "$" and not (i > 0 and _IDENTIFIER_CHAR.match(script[i - 1])):
            tag = _DOLLAR_TAG.match(script, i)
            if tag is not None:
                close = script.find(tag.group(0), tag.end())
                i = n if close < 0 else close + len(tag.group(0))
                code.append(" ")
                continue
        code.append(ch)
        i += 1
    finish(n)
    return statements


def _word_start(script: str, i: int) -> bool:
    """Whether the character at ``i`` begins a word (E'…' but not, say, name'…')."""
    return i == 0 or not _IDENTIFIER_CHAR.match(script[i - 1])


def _end_of_quoted(script: str, i: int, quote: str, backslash_escapes: bool) -> int:
    """The index just past the quoted text that opens at ``i``."""
    i += 1
    n = len(script)
    while i < n:
        ch = script[i]
        if backslash_escapes and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if script.startswith(quote, i + 1):  # a doubled quote stands for itself
                i += 2
                continue
            return i + 1
        i += 1
    return n


def abridge(statement: str, limit: int = 160) -> str:
    """A statement on one line, for a message: whitespace runs as one space, cut at ``limit``."""
    line = " ".join(statement.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
