"""Styled text and borderless tables for a terminal, written out as plain text or with ANSI SGR colours.

Our own rather than a library's: `rich`, once installed, is imported by the MCP SDK's `MCPServer.__init__` on every
server start (`configure_logging`, python-sdk issue #1656), stdio included. Widths are display widths (East Asian
wide characters take two columns, combining characters none), so columns stay aligned under CJK names. Nothing here
is a markup language: a `[bold]` in a text prints as typed, and the only escape sequences written are our styles'.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Block", "Column", "Indented", "Stack", "Styled", "Table", "display_width"]

# The styles in use, as SGR parameters; a style is one or more of these names, space-separated.
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}
_RESET = "\x1b[0m"
_ELLIPSIS = "…"
_NARROWEST = 8  # a column cut or folded to fit keeps at least this many columns (or its header's width)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def display_width(text: str) -> int:
    """How many terminal columns `text` takes: two for a wide East Asian character, none for a combining one."""
    return sum(_char_width(char) for char in text)


class Block(Protocol):
    """Anything printed for a person: its lines for a terminal `width` columns wide, coloured or not."""

    def lines(self, width: int, colour: bool) -> list[str]: ...


class Styled:
    """Text made of spans, each with a style (`bold`, `dim`, `red`, `green`, `yellow`, or several of them). As a
    block, it is word-wrapped to the terminal's width, unless `whole` (a command to copy: one line)."""

    __slots__ = ("spans", "whole")

    def __init__(self, text: str = "", style: str = "", *, whole: bool = False) -> None:
        self.spans: tuple[tuple[str, str], ...] = ((text, style),) if text else ()
        self.whole = whole

    @classmethod
    def _of(cls, spans: Iterable[tuple[str, str]], whole: bool = False) -> Styled:
        made = cls(whole=whole)
        made.spans = tuple((text, style) for text, style in spans if text)
        return made

    @classmethod
    def _of_chars(cls, chars: Sequence[tuple[str, str]]) -> Styled:
        spans: list[tuple[str, str]] = []
        for char, style in chars:
            if spans and spans[-1][1] == style:
                spans[-1] = (spans[-1][0] + char, style)
            else:
                spans.append((char, style))
        return cls._of(spans)

    def __add__(self, other: Styled | str) -> Styled:
        added = other.spans if isinstance(other, Styled) else ((other, ""),)
        return Styled._of((*self.spans, *added), self.whole)

    def __repr__(self) -> str:
        return f"Styled({self.spans!r})"

    @property
    def plain(self) -> str:
        """The text without its styles."""
        return "".join(text for text, _ in self.spans)

    @property
    def width(self) -> int:
        return display_width(self.plain)

    def styled(self, style: str) -> Styled:
        """The same text with `style` added to every span (a heading: bold, whatever else its parts are)."""
        return Styled._of(((text, f"{own} {style}".strip()) for text, own in self.spans), self.whole)

    def _chars(self) -> list[tuple[str, str]]:
        return [(char, style) for text, style in self.spans for char in text]

    def cut(self, width: int) -> Styled:
        """At most `width` columns: when longer, as much as fits before a closing `…`."""
        if self.width <= width:
            return self
        kept: list[tuple[str, str]] = []
        used = 0
        for char, style in self._chars():
            if used + _char_width(char) > width - 1:
                break
            kept.append((char, style))
            used += _char_width(char)
        return Styled._of_chars([*kept, (_ELLIPSIS, kept[-1][1] if kept else "")])

    def wrap(self, width: int) -> list[Styled]:
        """Lines of at most `width` columns: broken at its line breaks, then at spaces, and a word wider than a
        line folded wherever it must."""
        width = max(width, 1)
        wrapped: list[Styled] = []
        line: list[tuple[str, str]] = []
        for char, style in [*self._chars(), ("\n", "")]:
            if char == "\n":
                wrapped.append(Styled._of_chars(line))
                line = []
                continue
            line.append((char, style))
            if len(line) == 1 or sum(_char_width(c) for c, _ in line) <= width:
                continue
            space = max((at for at, (c, _) in enumerate(line) if c == " "), default=-1)
            if space > 0:  # the words before the last space make a line; the space itself is not printed
                wrapped.append(Styled._of_chars(line[:space]))
                line = line[space + 1 :]
            else:
                wrapped.append(Styled._of_chars(line[:-1]))
                line = line[-1:]
        return wrapped

    def ansi(self, colour: bool) -> str:
        """The text as written to a terminal: each styled span between its SGR sequence and a reset, in colour."""
        if not colour:
            return self.plain
        return "".join(
            f"\x1b[{';'.join(_SGR[name] for name in style.split())}m{text}{_RESET}" if style else text
            for text, style in self.spans
        )

    def lines(self, width: int, colour: bool) -> list[str]:
        shown = [Styled._of(self.spans)] if self.whole else self.wrap(width)
        return [line.ansi(colour) for line in shown]


@dataclass(frozen=True)
class Column:
    """A table's column: its header, `right` for numbers, and how it gives way when the table is wider than the
    terminal: `whole` never (ids, versions, ages), `cut` to a shorter line ending with `…`, `fold` onto more lines."""

    header: str = ""
    right: bool = False
    fit: Literal["whole", "cut", "fold"] = "whole"


@dataclass(frozen=True)
class Table:
    """Rows of cells under their columns' headers (`header`: a bold first row), `gap` spaces apart, no borders, as
    `gh` prints them. When that makes it fit a narrow terminal, the columns that may give way narrow, the widest
    first; when even that would not, none does."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Styled, ...], ...]
    gap: int = 2
    header: bool = True

    def widths(self, width: int) -> list[int]:
        """Each column's width in a terminal `width` columns wide."""
        natural = [display_width(column.header) if self.header else 0 for column in self.columns]
        for row in self.rows:
            natural = [max(now, cell.width) for now, cell in zip(natural, row, strict=True)]
        narrowest = [
            min(wide, max(_NARROWEST, display_width(column.header) if self.header else 0))
            if column.fit != "whole"
            else wide
            for wide, column in zip(natural, self.columns, strict=True)
        ]
        gaps = self.gap * (len(natural) - 1)
        if sum(natural) + gaps <= width or sum(narrowest) + gaps > width:
            return natural  # it fits; or it cannot, and cutting would lose text while the terminal wraps the lines
        widths = list(natural)
        for _ in range(sum(natural) + gaps - width):  # a column at a time: the widest of those that can narrow
            widest = max((at for at in range(len(widths)) if widths[at] > narrowest[at]), key=widths.__getitem__)
            widths[widest] -= 1
        return widths

    def lines(self, width: int, colour: bool) -> list[str]:
        widths = self.widths(width)
        rows = [tuple(Styled(column.header, "bold") for column in self.columns)] if self.header else []
        lines: list[str] = []
        for row in [*rows, *self.rows]:
            cells = [_fitted(cell, column, wide) for cell, column, wide in zip(row, self.columns, widths, strict=True)]
            for at in range(max(len(cell) for cell in cells)):
                parts = [
                    _padded(cell[at] if at < len(cell) else Styled(), column.right, wide, colour)
                    for cell, column, wide in zip(cells, self.columns, widths, strict=True)
                ]
                # padding follows the last cell's closing sequence, so a copied line ends where its text does
                lines.append((" " * self.gap).join(parts).rstrip(" "))
        return lines

    def render(self, width: int, colour: bool) -> str:
        """The table as printed: its lines, each ending with a line break."""
        return "".join(f"{line}\n" for line in self.lines(width, colour))


def _fitted(cell: Styled, column: Column, width: int) -> list[Styled]:
    if column.fit == "cut":
        return [cell.cut(width)]
    if column.fit == "fold":
        return [cell] if cell.whole else cell.wrap(width)
    return [cell]


def _padded(cell: Styled, right: bool, width: int, colour: bool) -> str:
    padding = " " * max(0, width - cell.width)
    return padding + cell.ansi(colour) if right else cell.ansi(colour) + padding


@dataclass(frozen=True)
class Stack:
    """Blocks printed one after another."""

    parts: tuple[Block, ...]

    def lines(self, width: int, colour: bool) -> list[str]:
        return [line for part in self.parts for line in part.lines(width, colour)]


@dataclass(frozen=True)
class Indented:
    """A block printed `by` spaces to the right (a nested object under its key)."""

    block: Block
    by: int = 2

    def lines(self, width: int, colour: bool) -> list[str]:
        return [f"{' ' * self.by}{line}" if line else line for line in self.block.lines(width - self.by, colour)]
