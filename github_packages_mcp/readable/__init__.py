"""Results for a person at a terminal, as `gh` prints them: tables and short summaries instead of JSON.

Only the command line imports this (and `rich` with it), when it prints a result to a terminal: the stdio server
never does. Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org) or `TERM=dumb`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, TextIO

from rich.console import Console

from github_packages_mcp.readable.results import RENDERERS, fallback

__all__ = ["colour_wanted", "print_readable"]

# A table pads every cell to its column's width, the last one too: those spaces (before any closing colour
# sequence) go, so that a copied line ends where its text does.
_TRAILING_SPACES = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def colour_wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to colour what goes to `stream`: a terminal, without `NO_COLOR` (set and not empty) or `TERM=dumb`."""
    return stream.isatty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def print_readable(tool: str, data: Mapping[str, Any], stream: TextIO, now: datetime | None = None) -> None:
    """Print a tool's structured result for people, with the renderer its name picks (`RENDERERS`); a result of
    a shape its renderer does not know (GitHub's whole objects, with `full_results`) is shown by `fallback`."""
    render = next((renderer for pattern, renderer in RENDERERS if fnmatchcase(tool, pattern)), fallback)
    console = Console(
        file=stream,
        color_system="auto" if colour_wanted(stream) else None,  # None: no escape sequence at all, bold neither
        markup=False,  # nothing printed is read as markup or emoji codes: GitHub's strings stay as they are
        emoji=False,
        highlight=False,
    )
    now = now or datetime.now(UTC)
    try:
        parts = render(data, now)
    except (KeyError, TypeError, AttributeError):
        parts = fallback(data, now)
    with console.capture() as captured:
        for part in parts:
            console.print(part)
    stream.write(_TRAILING_SPACES.sub(r"\1", captured.get()))
    stream.flush()
