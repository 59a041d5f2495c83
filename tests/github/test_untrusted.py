"""What a terminal is given: every character it would obey rather than show is escaped, and JSON stays JSON."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from github_packages_mcp.github.untrusted import visible


@given(st.text())
def test_printed_json_shows_every_character_and_reads_back_the_same(text: str) -> None:
    printed = visible(json.dumps({"name": text}, ensure_ascii=False, indent=2))
    assert all(char.isprintable() or char == "\n" for char in printed)
    assert json.loads(printed) == {"name": text}


def test_bidi_controls_and_characters_beyond_the_basic_plane_are_json_escapes() -> None:
    assert visible("a\u202eb\u2066c\u2069\u200e\u200f") == r"a\u202eb\u2066c\u2069\u200e\u200f"
    assert visible("tag\U000e0001 \x7f é") == r"tag\udb40\udc01 \u007f é"
    assert visible("two\nlines") == "two\nlines"
