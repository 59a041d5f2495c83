"""Retention policies as code: a TOML file of `[[cleanup]]` tables, each one `plan_version_cleanup` call's
arguments, read and checked whole before anything is planned.

Every problem is named with its table and key (`cleanup[2].keep_latst: not an argument (did you mean
keep_latest?)`) and all of them are reported at once, so a policy is fixed in one pass, not one error per run.
What the arguments may be is the tool's word, not this module's: the caller passes the tool's argument names and
its own check of their values.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from github_packages_mcp.spelling import closest

__all__ = [
    "MAX_POLICY_BYTES",
    "MAX_TABLES",
    "ArgumentCheck",
    "PolicyError",
    "PolicyTable",
    "parse_policy",
    "policy_from_text",
    "read_policy",
]

TABLE: Final = "cleanup"
# A policy is a few tables a person wrote; the bounds keep a wrong file (a log, a binary) from being read whole.
MAX_POLICY_BYTES: Final = 1 << 20
MAX_TABLES: Final = 100
OWNER_KEYS: Final = ("org", "username")

# The tool's own check of a table's arguments (only known names are given): one `key: what is wrong` per problem.
ArgumentCheck = Callable[[Mapping[str, Any]], list[str]]


class PolicyError(Exception):
    """The policy cannot be run as written; `problems` names each with its table and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PolicyTable:
    """One `[[cleanup]]` table: its place in the file (from 1) and the plan's arguments it holds."""

    number: int
    arguments: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{TABLE}[{self.number}]"

    @property
    def owner(self) -> str:
        return str(self.arguments.get("org") or self.arguments.get("username"))

    def describe(self) -> str:
        """`cleanup[1]: container 'services/*' of my-org`."""
        kind, glob = self.arguments["package_type"], self.arguments["package_name"]
        return f"{self.name}: {kind} {glob!r} of {self.owner}"


def read_policy(path: Path, known: Collection[str], check: ArgumentCheck) -> list[PolicyTable]:
    """The tables of the policy file at `path`, each checked against the tool's argument names (`known`) and its
    `check`.

    Raises:
        PolicyError: Naming every problem: the file unreadable or too large, TOML syntax (with its line), a table
            missing, an unknown key, a value of the wrong type, no owner.
    """
    try:
        with path.open("rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError([f"{path}: cannot read the policy: {exc.strerror or exc}"]) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError([f"{path}: over {MAX_POLICY_BYTES // 1024} KiB, too large for a policy"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError([f"{path}: not UTF-8 text, so not TOML"]) from None
    return policy_from_text(text, known, check, str(path))


def policy_from_text(
    text: str, known: Collection[str], check: ArgumentCheck, source: str = "policy"
) -> list[PolicyTable]:
    """`read_policy` for the text of a policy (`source` names it in problems): what the command reads is what a
    written policy is checked with.

    Raises:
        PolicyError: Naming every problem.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message says the line and column
        raise PolicyError([f"{source}: not valid TOML: {exc}"]) from None
    return parse_policy(document, known, check)


def parse_policy(document: Mapping[str, Any], known: Collection[str], check: ArgumentCheck) -> list[PolicyTable]:
    """`read_policy` for a document already parsed.

    Raises:
        PolicyError: Naming every problem of every table.
    """
    problems = [f"{key}: not part of a policy (a policy is [[{TABLE}]] tables)" for key in document if key != TABLE]
    tables, checked = document.get(TABLE), []
    if tables is None:
        problems.append(f"no [[{TABLE}]] table: a policy has one or more, each one plan_version_cleanup's arguments")
    elif not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        problems.append(f"{TABLE}: must be tables, each written [[{TABLE}]]")
    elif len(tables) > MAX_TABLES:
        problems.append(f"{TABLE}: {len(tables)} tables, at most {MAX_TABLES} in one policy")
    else:
        checked = [PolicyTable(number, dict(table)) for number, table in enumerate(tables, start=1)]
        for table in checked:
            problems += _table_problems(table.name, table.arguments, known, check)
    if problems:
        raise PolicyError(problems)
    return checked


def _table_problems(name: str, table: dict[str, Any], known: Collection[str], check: ArgumentCheck) -> list[str]:
    problems = []
    for key in table:
        if key not in known:
            close = closest(key, known)
            problems.append(f"{name}.{key}: not an argument" + (f" (did you mean {close}?)" if close else ""))
    owners = [key for key in OWNER_KEYS if key in table]
    if not owners:
        problems.append(f"{name}: no owner: set org (an organization) or username (a user)")
    elif len(owners) > 1:
        problems.append(f"{name}: both org and username: one owner per table")
    problems += [f"{name}.{problem}" for problem in check({k: v for k, v in table.items() if k in known})]
    return problems
