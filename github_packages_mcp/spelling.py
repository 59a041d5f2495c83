"""The known name a misspelt one most resembles (a tool, a prompt, a setting), for a "did you mean" in an error."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest"]


def closest(name: str, known: Iterable[str]) -> str | None:
    import difflib  # only an error needs it, not every start

    close = difflib.get_close_matches(name[:200], list(known), n=1)  # bounded: the comparison is quadratic
    return close[0] if close else None
