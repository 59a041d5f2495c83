"""The pieces a readable result is made of: GitHub's strings as inert text, ages and local times, tables, and
key/value blocks; and the generic rendering of any result (nested keys and values, lists of objects as tables).

Every string from a result may be a publisher's (a package name, a tag): it becomes a `Styled` text (no markup, so a
`[bold]` in a tag prints as typed) after `visible` escaped what a terminal would obey (an ANSI escape, a bidi
override), line breaks included, so one cell stays one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from github_packages_mcp.cli.readable.table import Block, Column, Indented, Stack, Styled, Table
from github_packages_mcp.github.untrusted import visible

__all__ = [
    "age",
    "cell",
    "digest",
    "generic",
    "heading",
    "key_values",
    "local_time",
    "note",
    "table",
    "tags",
    "when",
]

_MINUTE, _HOUR, _DAY = 60, 3600, 86_400
_DIGEST_TAG = re.compile(r"^(sha256-[0-9a-f]{12})[0-9a-f]{52}(?=\.|$)")


def cell(value: Any, style: str = "") -> Styled:
    """One value as inert text: None as nothing, lists joined with commas, everything escaped (`visible`)."""
    if value is None:
        return Styled("")
    if isinstance(value, bool):
        return Styled("yes" if value else "no", style=style)
    if isinstance(value, list | tuple):
        return Styled(", ".join(visible(str(item), keep="") for item in value), style=style)
    if isinstance(value, dict):
        shown = ", ".join(f"{key}: {value[key]}" for key in value)
        return Styled(visible(shown, keep=""), style=style)
    return Styled(visible(str(value), keep=""), style=style)


def digest(name: str) -> str:
    """An image digest as people read one (`sha256:` and 12 hex digits); any other version name unchanged."""
    algorithm, sep, hexdigits = name.partition(":")
    return f"{algorithm}:{hexdigits[:12]}…" if sep and len(hexdigits) > 12 else name


def tags(value: list[str] | None) -> Styled:
    """Container tags, or `untagged` (dimmed); nothing for registries without tags. A tag naming a digest (a
    signature's `sha256-<64 hex>.sig`) keeps 12 of its hex digits, as `digest` does."""
    if value is None:
        return Styled("")
    return cell([_DIGEST_TAG.sub(r"\1…", tag) for tag in value]) if value else Styled("untagged", style="dim")


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age(text: str | None, now: datetime) -> str:
    """How long ago an ISO time was, as people say it: `45s`, `20m`, `5h`, `3d`, `5w`, `8mo`, `2y`."""
    moment = _moment(text) if text else None
    if moment is None:
        return text or ""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < _MINUTE:
        return f"{seconds}s"
    if seconds < _HOUR:
        return f"{seconds // _MINUTE}m"
    if seconds < 2 * _DAY:
        return f"{seconds // _HOUR}h"
    days = seconds // _DAY
    if days < 14:
        return f"{days}d"
    if days < 60:
        return f"{days // 7}w"
    return f"{days // 30}mo" if days < 730 else f"{days // 365}y"


def local_time(text: str | None) -> str:
    """An ISO time in this machine's time zone, to the minute: `2026-12-07 23:00`."""
    moment = _moment(text) if text else None
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else (text or "")


def when(text: str | None, now: datetime) -> str:
    """Local time and age: `2026-12-05 23:00 (2d ago)`; a time still to come says `in`."""
    moment = _moment(text) if text else None
    if moment is None:
        return text or ""
    if moment > now:
        return f"{local_time(text)} (in {age(now.isoformat(), moment)})"
    return f"{local_time(text)} ({age(text, now)} ago)"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Styled | str]],
    *,
    right: Iterable[str] = (),
    cut: Iterable[str] = (),
) -> Table:
    """A borderless table as `gh` prints one: upper-case headers, columns two spaces apart; `right`: the headers
    of columns aligned right (counts); `cut`: those cut short (with `…`) to fit a narrow terminal (prose, lists),
    so that what names a thing (ids, package and version names) and ages stay whole."""
    aligned, cuttable = set(right), set(cut)
    columns = tuple(
        Column(header.upper(), right=header in aligned, fit="cut" if header in cuttable else "whole")
        for header in headers
    )
    return Table(columns, tuple(tuple(_styled(value) for value in row) for row in rows))


def key_values(pairs: Iterable[tuple[str, Styled | str]]) -> Table:
    """`key: value` lines, the keys bold, the values aligned (and folded onto more lines on a narrow terminal)."""
    rows = tuple((Styled(f"{key}:", "bold"), _styled(value)) for key, value in pairs)
    return Table((Column(), Column(fit="fold")), rows, gap=1, header=False)


def heading(text: str | Styled) -> Styled:
    """A section's first line, in bold; the text is inert (`cell` escapes GitHub's part of it)."""
    return _styled(text).styled("bold")


def note(text: str | None) -> Styled:
    """A result's message or note, dimmed: the server's words, quoting GitHub's strings escaped already."""
    return Styled(visible(text or ""), "dim")


def _styled(value: Styled | str) -> Styled:
    return Styled(value) if isinstance(value, str) else value


def generic(data: Any, now: datetime) -> Block:
    """Any result, readable: scalars as `key: value`, objects nested under their key, lists of objects as
    tables, times local with their age."""
    if isinstance(data, Mapping):
        return _block(data, now)
    if isinstance(data, list) and data and all(isinstance(item, Mapping) for item in data):
        return _rows(data, now)
    return _scalar("", data, now)


def _key(key: str) -> str:
    return key.replace("_", " ")


def _scalar(key: str, value: Any, now: datetime) -> Styled:
    if isinstance(value, str) and key.endswith("_at"):
        return Styled(when(value, now))
    if isinstance(value, str) and key.endswith("url"):  # one line, which the terminal wraps and keeps clickable
        return Styled(visible(value, keep=""), whole=True)
    return cell(value)


def _block(data: Mapping[str, Any], now: datetime) -> Block:
    parts: list[Block] = []
    pairs: list[tuple[str, Styled | str]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) and value and any(isinstance(v, Mapping | list) for v in value.values()):
            parts.append(Stack((heading(f"{_key(key)}:"), Indented(_block(value, now)))))
        elif isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            parts.append(Stack((heading(f"{_key(key)}:"), Indented(_rows(value, now)))))
        elif isinstance(value, Mapping):
            pairs.append((_key(key), cell(value)))
        else:
            pairs.append((_key(key), _scalar(key, value, now)))
    return Stack((*([key_values(pairs)] if pairs else []), *parts))


def _rows(items: Sequence[Mapping[str, Any]], now: datetime) -> Table:
    columns = list(dict.fromkeys(key for item in items for key in item))
    rows = ([_scalar(key, item.get(key), now) for key in columns] for item in items)
    names = {key for key in columns if key in ("id", "name") or key.endswith("_id")}  # whole, as in other tables
    return table([_key(key) for key in columns], rows, cut=[_key(key) for key in columns if key not in names])
