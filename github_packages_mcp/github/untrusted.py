"""GitHub's strings shown to people: quoted, with control and format characters escaped.

Package names, version names, tags and descriptions are whatever a publisher chose. Put verbatim into a
confirmation question, a newline, an ANSI escape or a bidi override could make the question read differently
from what it deletes; quoted and escaped, every character is visible for what it is. What the command prints on a
terminal goes through `visible`, whose escapes are JSON's too, so printed JSON stays JSON.
"""

from __future__ import annotations

__all__ = ["escaped", "quoted", "visible"]


def quoted(text: str) -> str:
    """`text` in single quotes, each character that does not print as itself (control and format characters,
    line and paragraph separators, unusual spaces) escaped as Python would (`\\n`, `\\x1b`, `\\u202e`)."""
    return "'" + escaped(text.replace("\\", "\\\\").replace("'", "\\'")) + "'"


def escaped(text: str, keep: str = "") -> str:
    """`text` with each character that does not print as itself escaped, except those in `keep`."""
    return "".join(
        char if char.isprintable() or char in keep else char.encode("unicode_escape").decode("ascii") for char in text
    )


def visible(text: str, keep: str = "\n") -> str:
    """`text` for a terminal: each character that does not print as itself (bidi controls such as U+202E, U+2066 to
    U+2069, U+200E and U+200F, other format and control characters, separators, unusual spaces) as a `\\uXXXX`
    escape, so the terminal shows it rather than obeys it; characters in `keep` stay. The escapes are JSON's (a
    surrogate pair beyond U+FFFF), so JSON text stays valid and reads back as the same data."""
    return "".join(char if char.isprintable() or char in keep else _json_escape(char) for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
