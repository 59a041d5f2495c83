"""A retention policy written out: `[[cleanup]]` tables as the TOML text `cleanup --policy` reads (policy.py).

Python reads TOML (`tomllib`) but does not write it; the values a policy holds are few (strings, whole numbers,
numbers of days, true or false, lists of strings), so they are written here rather than by a dependency. Strings
are TOML basic strings: quotes, backslashes and control characters escaped as TOML says, and so are format and
separator characters (a right-to-left override in a pattern would make the file read differently from what it
does), so the text a person reviews is what runs. What cannot be written (a lone surrogate, a number TOML cannot
hold, a table or None) raises rather than being written wrong; `policy.policy_from_text` then reads the text back
as the command does.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Final

from github_packages_mcp.durations import duration_days
from github_packages_mcp.retention.policy import TABLE

__all__ = ["NotWritable", "day_count", "policy_table", "policy_text", "toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SHORT_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_INT64: Final = (-(2**63), 2**63 - 1)  # what TOML's integers hold


class NotWritable(ValueError):
    """A value TOML cannot hold, or this writer does not write (a table, None)."""


def toml_key(key: str) -> str:
    """A bare key when TOML allows one, else a quoted one."""
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def toml_value(value: Any) -> str:
    """One value as TOML writes it: a string, a whole number, a finite number, true or false, or a list of them.

    Raises:
        NotWritable: If TOML cannot hold it (a lone surrogate, a whole number beyond 64 bits, infinity) or it is of
            another type.
    """
    if isinstance(value, bool):  # before int: a bool is one
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise NotWritable(f"{value} is beyond the whole numbers TOML holds (64 bits)")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotWritable(f"{value} is not a finite number")
        return repr(value)  # always with a '.' or an exponent, so read back as a float, exactly
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise NotWritable(f"a {type(value).__name__} is not a policy value")


def _string(text: str) -> str:
    return '"' + "".join(_character(character) for character in text) + '"'


def _character(character: str) -> str:
    if escaped := _SHORT_ESCAPES.get(character):
        return escaped
    category = unicodedata.category(character)
    if category == "Cs":
        raise NotWritable(f"a lone surrogate (U+{ord(character):04X}) is not text TOML can hold")
    if category[0] in "CZ" and character != " ":  # control, format, unassigned, private use, separators
        code = ord(character)
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return character


def day_count(days: float) -> int | float | str:
    """A number of days as a person writes it in a policy: `30`, `"36h"`, or the number itself; always read back
    (by `durations.days_from_text`) as exactly `days`."""
    if days.is_integer() and days <= _INT64[1]:
        return int(days)
    hours = days * 24
    if hours.is_integer() and duration_days(text := f"{int(hours)}h") == days:
        return text
    return days


def policy_table(arguments: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The keys a table needs: those of `defaults` (every argument, in the order the table is written) whose value
    in `arguments` is given and not the default."""
    table = {}
    for key, default in defaults.items():
        value = arguments.get(key, default)
        if value is not None and value != default:
            table[key] = value
    return table


def policy_text(tables: Sequence[Mapping[str, Any]], notes: Sequence[str | None] = (), header: str = "") -> str:
    """The policy file: `header` and each table's note as comments (which the loader skips), then the tables.

    Raises:
        NotWritable: If a value cannot be written.
    """
    lines = [_comment(line) for line in header.splitlines()]
    for number, table in enumerate(tables):
        note = notes[number] if number < len(notes) else None
        lines += ["", *([_comment(note)] if note else []), f"[[{TABLE}]]"]
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _comment(text: str) -> str:
    # A comment ends at the line's end, and TOML refuses control characters in one: none can get in.
    return "# " + "".join("\ufffd" if unicodedata.category(c)[0] == "C" else c for c in " ".join(text.split()))
