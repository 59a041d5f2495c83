"""GitHub's strings shown to people: quoted, with control and format characters escaped.

Package names, version names, tags and descriptions are whatever a publisher chose. Put verbatim into a
confirmation question, a newline, an ANSI escape or a bidi override could make the question read differently
from what it deletes; quoted and escaped, every character is visible for what it is.
"""

from __future__ import annotations

__all__ = ["escaped", "quoted"]


def quoted(text: str) -> str:
    """`text` in single quotes, each character that does not print as itself (control and format characters,
    line and paragraph separators, unusual spaces) escaped as Python would (`\\n`, `\\x1b`, `\\u202e`)."""
    return "'" + escaped(text.replace("\\", "\\\\").replace("'", "\\'")) + "'"


def escaped(text: str, keep: str = "") -> str:
    """`text` with each character that does not print as itself escaped, except those in `keep`."""
    return "".join(
        char if char.isprintable() or char in keep else char.encode("unicode_escape").decode("ascii") for char in text
    )
