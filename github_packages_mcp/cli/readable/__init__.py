"""Results for a person at a terminal, as `gh` prints them: tables and short summaries instead of JSON.

Only the command line imports this, when it prints a result to a terminal: the stdio server never does. The tables
are our own (`table.py`), fitted to the terminal's width. Colour only on a terminal, and never with `NO_COLOR` set
(https://no-color.org) or `TERM=dumb`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, TextIO

from github_packages_mcp.cli.readable.results import RENDERERS, fallback

__all__ = ["colour_wanted", "print_readable"]


def colour_wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to colour what goes to `stream`: a terminal, without `NO_COLOR` (set and not empty) or `TERM=dumb`."""
    return stream.isatty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def print_readable(tool: str, data: Mapping[str, Any], stream: TextIO, now: datetime | None = None) -> None:
    """Print a tool's structured result for people, with the renderer its name picks (`RENDERERS`); a result of
    a shape its renderer does not know (GitHub's whole objects, with `full_results`) is shown by `fallback`."""
    render = next((renderer for pattern, renderer in RENDERERS if fnmatchcase(tool, pattern)), fallback)
    colour = colour_wanted(stream)
    width = shutil.get_terminal_size().columns
    now = now or datetime.now(UTC)
    try:
        parts = render(data, now)
    except (KeyError, TypeError, AttributeError):
        parts = fallback(data, now)
    stream.write("".join(f"{line}\n" for part in parts for line in part.lines(width, colour)))
    stream.flush()
