"""The tables printed for people (readable/table.py): columns aligned by display width, a table wider than the
terminal narrowed by cutting its prose columns (never its ids), escape sequences only for colour, and GitHub's
strings printed as typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from github_packages_mcp.cli.readable.cells import _block, cell, key_values, table
from github_packages_mcp.cli.readable.table import Column, Indented, Stack, Styled, Table, display_width

SGR = re.compile(r"\x1b\[[0-9;]*m")
RULE = "signature of kept image sha256:c94da96b3e43… (v2.1.0, latest), by its tag"


def test_display_width_counts_wide_characters_twice_and_combining_ones_not_at_all() -> None:
    assert display_width("abc") == 3
    assert display_width("日本語") == 6
    assert display_width("\uff46\uff55\uff4c\uff4c") == 8  # fullwidth forms of "full"
    assert display_width("cafe\u0301") == 4  # e and a combining acute accent


def test_columns_line_up_under_wide_and_combining_characters() -> None:
    rows = [(cell("日本語パッケージ"), "npm", "3"), (cell("cafe\u0301"), "container", "12"), (cell("abc"), "npm", "1")]
    lines = table(("name", "type", "versions"), rows, right=("versions",)).lines(80, colour=False)
    assert lines == [
        "NAME              TYPE       VERSIONS",
        "日本語パッケージ  npm               3",
        "cafe\u0301              container        12",
        "abc               npm               1",
    ]
    assert len({display_width(line) for line in lines}) == 1  # the last column is right-aligned: one width


def test_a_table_wider_than_the_terminal_cuts_its_prose_and_keeps_ids_whole() -> None:
    rows = [("delete", "3420553917", cell(RULE)), ("keep", "3420551205", cell("among the 2 newest"))]
    lines = table(("action", "id", "rule"), rows, cut=("rule",)).lines(40, colour=False)
    assert max(display_width(line) for line in lines) == 40
    assert lines[0].split() == ["ACTION", "ID", "RULE"]
    cut_rule = lines[1].split("  ")[-1]
    assert cut_rule.endswith("…") and RULE.startswith(cut_rule[:-1])
    assert lines[1].startswith("delete  3420553917  ") and lines[2].startswith("keep    3420551205  ")
    assert lines[2].endswith("among the 2 newest")  # short enough: whole


def test_the_widest_cuttable_column_narrows_first() -> None:
    rows = [(cell("v2.1.0, latest"), cell(RULE))]
    columns = table(("tags", "rule"), rows, cut=("tags", "rule"))
    assert columns.widths(60) == [14, 60 - 14 - 2]  # the tags fit once the rule gave way
    narrow = columns.widths(24)
    assert narrow == [11, 11]  # both narrowed to the same width, the widest first
    assert all(display_width(line) <= 24 for line in columns.lines(24, colour=False))


def test_ids_are_never_cut_even_when_the_table_cannot_fit() -> None:
    rows = [("3420553917", "sha256:6286c37f6efa…", cell(RULE))]
    shown = table(("id", "version", "rule"), rows, cut=("rule",))
    assert shown.widths(30) == [10, 20, len(RULE)]  # narrowing the rule could not make it fit: nothing is lost
    assert shown.lines(30, colour=False)[1] == f"3420553917  sha256:6286c37f6efa…  {RULE}"


def test_a_wide_character_is_not_split_when_a_cell_is_cut() -> None:
    shown = Styled("日本語パッケージ").cut(8)
    assert shown.plain == "日本語…" and shown.width == 7  # a fourth wide character would take 9 columns
    lines = Table((Column("name", fit="cut"), Column("type")), ((shown, Styled("npm")),)).lines(80, colour=False)
    assert lines[1] == "日本語…  npm"


def test_no_escape_sequence_without_colour_and_styles_as_sgr_with_it() -> None:
    rows = [(Styled("delete", "red"), "3420553917", Styled("untagged", "dim"))]
    grid = table(("action", "id", "tags"), rows)
    plain = grid.render(80, colour=False)
    assert "\x1b" not in plain
    coloured = grid.render(80, colour=True)
    assert coloured.splitlines()[0] == "\x1b[1mACTION\x1b[0m  \x1b[1mID\x1b[0m          \x1b[1mTAGS\x1b[0m"
    assert coloured.splitlines()[1] == "\x1b[31mdelete\x1b[0m  3420553917  \x1b[2muntagged\x1b[0m"
    assert SGR.sub("", coloured) == plain
    assert Styled("Plan").styled("bold").styled("dim").ansi(colour=True) == "\x1b[1;2mPlan\x1b[0m"


def test_githubs_strings_print_as_typed_with_control_characters_escaped() -> None:
    name = "evil\x1b[31mred\u202egpj.exe[bold]x[/bold]\nnext"
    shown = table(("name",), [(cell(name),)]).render(80, colour=True)
    assert r"evil\u001b[31mred\u202egpj.exe[bold]x[/bold]\u000anext" in shown
    assert "\u202e" not in shown and SGR.sub("", shown).count("\x1b") == 0  # no escape sequence but our bold


def test_key_values_fold_long_values_under_their_column() -> None:
    usable = "34 tool(s): list_my_packages, list_org_packages, list_user_packages"
    lines = key_values([("user", "octo-demo"), ("usable", usable)]).lines(40, colour=False)
    assert lines == [
        "user:   octo-demo",
        "usable: 34 tool(s): list_my_packages,",
        "        list_org_packages,",
        "        list_user_packages",
    ]


def test_a_url_stays_on_one_line_for_the_terminal_to_wrap_and_keep_clickable() -> None:
    url = "https://github.com/orgs/acme-labs/packages/container/package/web%2Fapi"
    lines = _block({"name": "web/api", "html_url": url}, datetime.now(UTC)).lines(40, colour=False)
    assert lines == ["name:     web/api", f"html url: {url}"]


def test_text_wraps_at_spaces_and_folds_a_word_longer_than_a_line() -> None:
    assert [line.plain for line in Styled("Nothing was deleted. To delete these").wrap(16)] == [
        "Nothing was",
        "deleted. To",
        "delete these",
    ]
    assert [line.plain for line in Styled("sha256:6286c37f6efa2193").wrap(10)] == ["sha256:628", "6c37f6efa2", "193"]
    assert [line.plain for line in Styled("one\ntwo").wrap(80)] == ["one", "two"]
    command = "  github-packages-mcp call apply_version_cleanup plan_id=aff35e2bddd344e1"
    assert Styled(command, whole=True).lines(20, colour=False) == [command]  # to copy: one line


def test_a_nested_block_is_indented_and_narrowed_by_its_indent() -> None:
    nested = Stack((Styled("owner:", "bold"), Indented(key_values([("login", "acme-labs"), ("type", "Organization")]))))
    assert nested.lines(80, colour=False) == ["owner:", "  login: acme-labs", "  type:  Organization"]
    assert Indented(Styled("a b c d")).lines(5, colour=False) == ["  a b", "  c d"]
