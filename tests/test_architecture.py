"""The layout keeps its promises: small units, one-way imports, API paths only in the catalogue, MCP-free lower
layers, and test modules that do not import each other. Read from the source, so a change that breaks one fails
here with the place named."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "github_packages_mcp"
TESTS = ROOT / "tests"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
# GitHub's API paths, as they would be spelled by hand: `/user`, `/orgs/...`, `.../packages`, `/rate_limit` ...
API_PATH = re.compile(r"^/(user|users|orgs|rate_limit)\b|/(packages|versions|restore|docker/conflicts)\b")
# The rooms below the MCP wiring, and what each may import from the package (`errors`, the errors' root,
# `durations`, the parser of day counts, and `spelling`, the did-you-mean, import nothing of it).
LOWER_LAYERS = {
    "github": {"github", "config", "errors"},
    # Plans and the journal are kept in the state (its interface, `state.peers`), which knows nothing of cleanups.
    "retention": {"github", "retention", "state", "errors", "durations", "spelling"},
    "insights": {"github", "insights", "retention", "errors"},
    "state": {"github", "state", "errors"},
}


def modules(root: Path) -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def imported(tree: ast.Module) -> Iterator[str]:
    """Every module a module imports; `from package import module` names the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                is_module = (ROOT / submodule.replace(".", "/")).with_suffix(".py").exists()
                yield submodule if is_module else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_source_file_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for _, path, _ in modules(PACKAGE)
        if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert not long


def test_no_function_is_over_60_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for _, path, tree in modules(PACKAGE)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert not long


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            found.append([*trail[trail.index(name) :], name])
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*trail, name])

    for name in graph:
        visit(name, [])
    return found


def test_package_imports_have_no_cycle() -> None:
    graph = {
        name: {target for target in imported(tree) if target.startswith("github_packages_mcp.")}
        for name, _, tree in modules(PACKAGE)
    }
    assert not cycles(graph)


def test_the_package_folders_import_one_way() -> None:
    """No cycle between rooms either (`server/` builds the app from `tools/`, which are built with `toolkit/`):
    walking down from a tool never climbs back into the room that serves it."""

    def room(module: str) -> str:
        return module.split(".")[1] if module.count(".") else module

    graph: dict[str, set[str]] = {}
    for name, _, tree in modules(PACKAGE):
        targets = {room(target) for target in imported(tree) if target.startswith("github_packages_mcp.")}
        graph.setdefault(room(name), set()).update(targets - {room(name)})
    assert not cycles(graph)


def test_only_the_entry_point_imports_the_command() -> None:
    """`cli/` is the top: the server, the tools and what they stand on never reach into the command line."""
    wrong = [
        f"{name} imports {target}"
        for name, _, tree in modules(PACKAGE)
        if not name.startswith("github_packages_mcp.cli") and name != "github_packages_mcp.__main__"
        for target in imported(tree)
        if target.startswith("github_packages_mcp.cli")
    ]
    assert not wrong


@pytest.mark.parametrize("room", sorted(LOWER_LAYERS))
def test_lower_layers_import_no_mcp_and_nothing_above_them(room: str) -> None:
    wrong = [
        f"{name} imports {target}"
        for name, _, tree in modules(PACKAGE / room)
        for target in imported(tree)
        if target.split(".")[0] == "mcp"
        or (target.startswith("github_packages_mcp.") and target.split(".")[1] not in LOWER_LAYERS[room])
    ]
    assert not wrong


def test_api_paths_are_spelled_only_in_the_catalogue() -> None:
    # The sandbox is GitHub's stand-in: it serves these paths, so it spells them.
    allowed = {PACKAGE / "github" / "catalogue.py"}
    spelled = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for _, path, tree in modules(PACKAGE)
        if path not in allowed and "sandbox" not in path.parts
        for node in ast.walk(tree)
        # Prose (docstrings, messages) has spaces; a path does not.
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and not re.search(r"\s", node.value)
        and API_PATH.search(node.value)
    ]
    assert not spelled


def test_no_test_module_imports_another() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, _, tree in modules(TESTS)
        for target in imported(tree)
        if target.startswith("tests.")
        and (target.rsplit(".", 1)[-1].startswith("test_") or target.endswith("conftest"))
    ]
    assert not wrong


# What the state is: its interface and its two peers (state/peers.py), and the consumer-side protocols of
# shared state (github/pacing.py; retention's `SharedRecords` before the peers).
STATE_TYPES = "State|LocalState|RedisState|PlanRecords|JournalLines|Cancellations|SharedPacing|SharedRecords"
OPTIONAL_STATE = re.compile(
    rf"\b({STATE_TYPES})\s*\|\s*None\b|\bNone\s*\|\s*({STATE_TYPES})\b|Optional\[({STATE_TYPES})\]"
)
STATE_NAMES = {"shared", "_shared", "state", "_state", "shared_pacing", "shared_state"}


def test_nothing_outside_the_state_asks_whether_it_is_shared() -> None:
    """Local and shared state are peers of one interface, chosen once (state/opening.py): outside state/, nothing
    holds a state that may be None, nor compares one with None, so no consumer branches on which it holds."""

    def named(node: ast.expr) -> str | None:
        return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None

    def annotations(tree: ast.Module) -> Iterator[ast.expr]:
        for node in ast.walk(tree):
            if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
                yield node.annotation
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
                yield node.returns

    wrong = []
    for _, path, tree in modules(PACKAGE):
        if path.relative_to(PACKAGE).parts[0] in ("state", "sandbox"):  # the sandbox's state is GitHub's stand-in's
            continue
        wrong += [
            f"{path.relative_to(ROOT)}:{annotation.lineno} {ast.unparse(annotation)}"
            for annotation in annotations(tree)
            if OPTIONAL_STATE.search(ast.unparse(annotation))
        ]
        wrong += [
            f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Compare)
            and any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops)
            and any(isinstance(side, ast.Constant) and side.value is None for side in node.comparators)
            and named(node.left) in STATE_NAMES
        ]
    assert not wrong
