"""Splitting migrations into statements (server/store/sql_script.py): a semicolon ends a
statement only where PostgreSQL's lexer would end it."""

from __future__ import annotations

import pytest

from server.errors import ConfigurationError
from server.store import migrations
from server.store.sql_script import abridge, split_statements


def test_plain_statements_lose_their_semicolons_and_the_comments_before_them() -> None:
    script = """
    -- a comment of its own;
    create table t (id int);  -- trailing; comment
    /* a block; /* nested; */ still the comment; */
    insert into t values (1);

    select 1
    """
    assert split_statements(script) == [
        "create table t (id int)",
        "insert into t values (1)",
        "select 1",
    ]


def test_semicolons_inside_quotes_and_bodies_do_not_split() -> None:
    body = """create function f() returns text language plpgsql as $$
begin
  return 'a;b';
end
$$"""
    tagged = "do $outer$ begin perform 'x; $$ y'; end $outer$"
    script = ";\n".join(
        [
            "select 'it''s; here'",
            "select E'back\\\\slash\\'; still'",
            'select 1 as "odd;name"',
            'select 1 as "quoted""; quote"',
            body,
            tagged,
            "select $1::text, a$b from t",
        ]
    )
    assert split_statements(script) == [
        "select 'it''s; here'",
        "select E'back\\\\slash\\'; still'",
        'select 1 as "odd;name"',
        'select 1 as "quoted""; quote"',
        body,
        tagged,
        "select $1::text, a$b from t",
    ]


def test_a_quote_after_a_name_ending_in_e_is_a_plain_string() -> None:
    # Only a word that is exactly E (or e) makes the string take backslash escapes.
    assert split_statements("select name'\\'; select 2") == ["select name'\\'", "select 2"]


def test_begin_atomic_bodies_are_refused_with_a_clear_message() -> None:
    script = "create function f() returns int language sql begin atomic select 1; end;"
    with pytest.raises(ConfigurationError, match=r"BEGIN ATOMIC .* \$\$"):
        split_statements(script)


def test_every_migration_splits_into_real_statements() -> None:
    for migration in migrations.find_migrations(migrations.default_migrations_dir()):
        statements = migration.statements
        assert statements, migration.path.name
        for statement in statements:
            assert statement and statement == statement.strip()
            assert not statement.startswith(("--", "/*")), statement
            assert not statement.endswith(";"), statement


def test_abridged_statements_fit_on_one_line() -> None:
    assert abridge("select\n   1,\n\t2") == "select 1, 2"
    long = abridge("select " + "x, " * 200)
    assert len(long) == 160 and long.endswith("…") and "\n" not in long
