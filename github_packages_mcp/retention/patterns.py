"""Retention patterns: globs and regexes that cannot stall the server.

Patterns match the whole text, case-sensitively, with RE2 (`google-re2`), whose matching time is linear in the
text: no pattern can stall the server. A glob means what `fnmatch.fnmatchcase` means (`*`, `?`, `[...]`,
`[!...]`, everything else literal) and is translated once into RE2 (`glob_to_re2`). A regex is RE2 syntax:
Python's without backreferences, lookarounds or atomic groups (refused with a `RulesError` that says so), and with
ASCII-only classes (`\\d`, `\\w`, `\\s`). Each list holds at most `MAX_PATTERNS` patterns of at most
`MAX_PATTERN_LENGTH` characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from github_packages_mcp.errors import InvalidArguments

__all__ = [
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "PatternList",
    "RulesError",
    "check_pattern_limits",
    "compile_pattern",
    "glob_to_re2",
]


class RulesError(InvalidArguments):
    """Rules that cannot apply (an invalid regex, tag rules for tagless versions); the message names the argument."""


MAX_PATTERNS = 50  # per list (include_tags, exclude_versions, ...)
MAX_PATTERN_LENGTH = 256  # characters, per pattern; the package name glob too


@cache
def _re2() -> tuple[Any, Any]:
    """RE2 and its options, imported when the first pattern is compiled: serving needs them only for patterns (the
    library adds 2.4 MiB to the process)."""
    import re2  # type: ignore[import-untyped]

    options = re2.Options()
    options.log_errors = False  # the error goes into the RulesError, not onto stderr
    options.never_capture = True  # only whether it matches counts: the fastest of RE2's engines
    return re2, options


def check_pattern_limits(name: str, patterns: Sequence[str]) -> None:
    """Refuse more than `MAX_PATTERNS` patterns, or one longer than `MAX_PATTERN_LENGTH` characters.

    Raises:
        RulesError: Naming the argument and the limit.
    """
    if len(patterns) > MAX_PATTERNS:
        raise RulesError(f"{name}: at most {MAX_PATTERNS} patterns are accepted, {len(patterns)} were given")
    for pattern in patterns:
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise RulesError(
                f"{name}: a pattern may be at most {MAX_PATTERN_LENGTH} characters long; "
                f"{pattern[:40]!r}... has {len(pattern)}"
            )


def compile_pattern(name: str, pattern: str, syntax: str) -> Callable[[str], bool]:
    """One pattern (glob or regex, within the limits) as a function telling whether a whole text matches it.

    Raises:
        RulesError: If the pattern is too long, or RE2 cannot compile it (saying so when RE2 lacks the feature).
    """
    check_pattern_limits(name, (pattern,))
    re2, options = _re2()
    try:
        regex = re2.compile(glob_to_re2(pattern) if syntax == "glob" else pattern, options)
    except (re2.error, UnicodeError) as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        if reason.startswith(("invalid perl operator", "invalid escape sequence")):
            reason += (
                " (patterns run on RE2, which matches in linear time: it has no backreferences, lookarounds, "
                "atomic groups or \\Z)"
            )
        raise RulesError(f"{name}: invalid {syntax} {pattern!r}: {reason}") from None
    fullmatch = regex.fullmatch
    return lambda text: fullmatch(text.encode("utf-8", "surrogatepass")) is not None


def glob_to_re2(glob: str) -> str:
    """The RE2 pattern matching exactly the texts `fnmatch.fnmatchcase` matches with `glob`, in linear time.

    `*` is any text, `?` any one character, `[...]` a class (`[!...]` negated; a `]` first is a member, `a-z` a
    range, a reversed range matches nothing, an unclosed `[` is literal); every other character is literal.
    """
    parts = ["(?s)"]  # fnmatch's `*` and `?` match newlines too
    last_close = glob.rfind("]")
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "*":
            if parts[-1] != ".*":
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "[":
            j = i + (glob[i : i + 1] == "!")
            j += glob[j : j + 1] == "]"
            end = glob.find("]", j) if j <= last_close else -1  # never a rescan to the end for each `[`
            if end < 0:
                parts.append(_literal("["))
                continue
            parts.append(_glob_class(glob, i, end))
            i = end + 1
        else:
            parts.append(_literal(char))
    return "".join(parts)


NEVER = r"[^\x00-\x{10FFFF}]"  # an RE2 class no character is in


def _glob_class(glob: str, start: int, end: int) -> str:
    """The RE2 class for `glob[start:end]`, the inside of a `[...]`, read step by step as CPython's fnmatch reads it
    (quirks included: a reversed range that leaves a leading `!` negates the class)."""
    # fnmatch's chunks: a `-` after the first character (after `!` and one more when negated) and not right after a
    # range's end separates two chunks, a range between the last character of one and the first of the next.
    chunks: list[str] = []
    i, k = start, start + (2 if glob[start] == "!" else 1)
    while (k := glob.find("-", k, end)) >= 0:
        chunks.append(glob[i:k])
        i, k = k + 1, k + 3
    if chunk := glob[i:end]:
        chunks.append(chunk)
    elif chunks:
        chunks[-1] += "-"
    for k in range(len(chunks) - 1, 0, -1):  # a reversed range matches nothing, and takes its ends with it
        if chunks[k - 1][-1] > chunks[k][0]:
            chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
            del chunks[k]
    # The class as a regex would read '-'.join(chunks): characters, and None for a range's hyphen.
    tokens: list[str | None] = []
    for n, chunk in enumerate(chunks):
        tokens.extend([*([None] if n else []), *chunk])
    if not tokens:
        return NEVER  # fnmatch: an empty class matches nothing
    if tokens == ["!"]:
        return "."  # and a negated empty one anything
    negated = tokens[0] == "!"
    if not (members := _class_members(tokens[1:] if negated else tokens)):
        return "." if negated else NEVER
    return f"[{'^' if negated else ''}{''.join(members)}]"


def _class_members(tokens: list[str | None]) -> list[str]:
    """RE2 class members for regex-class tokens: `a` `-` `z` is a range; a hyphen with no range around it is `-`."""
    members: list[str] = []
    n = 0
    while n < len(tokens):
        low = tokens[n] or "-"
        if n + 2 < len(tokens) and tokens[n + 1] is None:
            high = tokens[n + 2] or "-"
            if low <= high:
                members.append(f"{_literal(low)}-{_literal(high)}")
            n += 3
        else:
            members.append(_literal(low))
            n += 1
    return members


def _literal(char: str) -> str:
    """One character as RE2 reads it literally, inside or outside a class."""
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{ord(char):x}}}"


class PatternList:
    """A rule's patterns, compiled: which text matches which pattern."""

    def __init__(self, name: str, patterns: Sequence[str], syntax: str) -> None:
        """Raises:
        RulesError: If there are too many patterns, or one is too long or does not compile.
        """
        check_pattern_limits(name, patterns)
        self._compiled = [(pattern, compile_pattern(name, pattern, syntax)) for pattern in patterns]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def first_match(self, texts: Sequence[str]) -> tuple[str, str] | None:
        """The first (text, pattern) that matches, in text order then pattern order; None when none does."""
        for text in texts:
            for pattern, matches in self._compiled:
                if matches(text):
                    return text, pattern
        return None

    def first_unmatched(self, texts: Sequence[str]) -> str | None:
        """The first text that no pattern matches; None when every one is matched."""
        return next((text for text in texts if not any(matches(text) for _, matches in self._compiled)), None)
