"""The policy writer: every value a policy holds is written as TOML that `tomllib` (the command's reader) reads back
as the same value, whatever the strings hold; what TOML cannot hold is refused, never written wrong."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from github_packages_mcp.durations import days_from_text
from github_packages_mcp.retention.policy_text import (
    NotWritable,
    day_count,
    policy_table,
    policy_text,
    toml_key,
    toml_value,
)

HOSTILE = [
    "",
    '"',
    '"""',
    "'''",
    "\\",
    "\\u0041",
    'a"b\\c',
    "line\nbreak",
    "\r\n",
    "tab\there",
    "\x00nul",
    "\x1b[31mred",
    "\x7f",
    "\b\f",
    "é ü 中文 🐳",
    "\u202egnp.exe",  # right-to-left override
    "\u200bzero width",
    "\u2028\u2029",
    "\ufeff",
    "\U000e0041",  # a tag character (format)
    "# not a comment",
    "key = 'value'",
    "]]\n[[cleanup]]\norg = 'evil'",
    "v1.*",
    "sha256:" + "a" * 64,
    "x" * 10_000,
]
# Scalar values TOML holds: text without lone surrogates, 64-bit whole numbers, finite numbers, booleans.
TEXT = st.text(st.characters(exclude_categories=("Cs",)))
SCALARS = st.one_of(
    TEXT,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


def read_back(value: Any) -> Any:
    return tomllib.loads(f"value = {toml_value(value)}\n")["value"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_string_reads_back_as_itself(text: str) -> None:
    assert read_back(text) == text
    assert read_back([text, text]) == [text, text]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_key_reads_back_as_itself(text: str) -> None:
    assert tomllib.loads(f"{toml_key(text)} = 1\n") == {text: 1}


@given(st.one_of(SCALARS, st.lists(TEXT, max_size=5)))
def test_every_value_a_policy_holds_reads_back_the_same(value: Any) -> None:
    assert read_back(value) == value
    assert type(read_back(value)) is type(value)


@given(st.lists(st.dictionaries(TEXT, st.one_of(SCALARS, st.lists(TEXT, max_size=3)), max_size=4), max_size=4))
def test_a_policy_of_any_tables_reads_back_as_those_tables(tables: list[dict[str, Any]]) -> None:
    assert tomllib.loads(policy_text(tables, header="a header")) == ({"cleanup": tables} if tables else {})


def test_what_a_person_reviews_shows_no_invisible_or_reordering_character() -> None:
    written = toml_value("\u202egnp.exe\u200b\x1b\t")
    assert written == '"\\u202Egnp.exe\\u200B\\u001B\\t"'
    assert written.isascii()
    assert toml_value("\U000e0041") == '"\\U000E0041"'
    assert toml_value("é 🐳") == '"é 🐳"'  # printable text stays as it is


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("a\ud800b", "lone surrogate (U+D800)"),
        (2**63, "beyond the whole numbers TOML holds"),
        (-(2**63) - 1, "beyond the whole numbers TOML holds"),
        (float("inf"), "not a finite number"),
        (float("nan"), "not a finite number"),
        (None, "a NoneType is not a policy value"),
        ({"a": 1}, "a dict is not a policy value"),
        (["ok", None], "a NoneType is not a policy value"),
    ],
)
def test_what_toml_cannot_hold_is_refused(value: Any, said: str) -> None:
    with pytest.raises(NotWritable, match=re.escape(said)):
        toml_value(value)


def test_comments_cannot_break_out_of_their_line() -> None:
    text = policy_text([{"a": 1}], notes=["note\n[[cleanup]]\nb = 2"], header="head\x00er\nsecond\u2028line")
    assert tomllib.loads(text) == {"cleanup": [{"a": 1}]}
    assert text.splitlines()[:5] == ["# head\ufffder", "# second", "# line", "", "# note [[cleanup]] b = 2"]


def test_a_policy_reads_as_a_person_writes_it() -> None:
    tables = [
        {"org": "acme", "package_type": "container", "package_name": "web/*", "exclude_tags": ["v*", "latest"]},
        {"username": "mona", "package_type": "npm", "package_name": "lib", "keep_latest": 5, "delete_orphans": True},
    ]
    assert policy_text(tables, ["from plan 1", None], "Policy") == (
        "# Policy\n"
        "\n"
        "# from plan 1\n"
        "[[cleanup]]\n"
        'org = "acme"\n'
        'package_type = "container"\n'
        'package_name = "web/*"\n'
        'exclude_tags = ["v*", "latest"]\n'
        "\n"
        "[[cleanup]]\n"
        'username = "mona"\n'
        'package_type = "npm"\n'
        'package_name = "lib"\n'
        "keep_latest = 5\n"
        "delete_orphans = true\n"
    )


def test_a_table_keeps_only_what_differs_from_the_defaults_in_their_order() -> None:
    defaults = {"org": None, "username": None, "package_name": None, "keep_latest": 0, "tags": [], "on": False}
    given_ = {"on": True, "tags": [], "keep_latest": 3, "package_name": "x", "username": None, "org": "acme"}
    assert list(policy_table(given_, defaults).items()) == [
        ("org", "acme"),
        ("package_name", "x"),
        ("keep_latest", 3),
        ("on", True),
    ]


@pytest.mark.parametrize(
    ("days", "written"),
    [(30.0, 30), (0.0, 0), (1.5, "36h"), (1 / 24, "1h"), (0.3, 0.3), (1e300, 1e300), (17.0, 17)],
)
def test_a_day_count_is_written_as_a_person_would_and_reads_back_exactly(days: float, written: Any) -> None:
    assert day_count(days) == written
    assert days_from_text(written) == days
    assert float(days_from_text(read_back(written))) == days


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_every_day_count_reads_back_exactly(days: float) -> None:
    assert float(days_from_text(read_back(day_count(days)))) == days
