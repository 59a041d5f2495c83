"""docs/migrating.md's policies are ones `cleanup --policy` accepts: every ```toml block is checked as the command
checks a policy file (plan_version_cleanup's own argument names and argument model), so a renamed key or a value
of the wrong type in the page fails here rather than in a reader's first run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from github_packages_mcp.cli.policy import load_policy
from github_packages_mcp.retention.policy import PolicyError

PAGE = Path(__file__).parent.parent / "docs" / "migrating.md"
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.S | re.M)
# One worked example per action, and the page's note on dataaxiom's default: fewer means a block went missing or
# the pattern no longer finds them.
EXPECTED_BLOCKS = 4


def toml_blocks() -> list[str]:
    return TOML_BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_a_policy_for_each_action() -> None:
    assert len(toml_blocks()) >= EXPECTED_BLOCKS


@pytest.mark.parametrize("block", toml_blocks(), ids=lambda block: block.splitlines()[3])
def test_every_policy_on_the_page_validates(block: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(block, encoding="utf-8")
    try:
        tables = load_policy(policy)
    except PolicyError as exc:
        pytest.fail("docs/migrating.md has a policy cleanup --policy refuses:\n" + "\n".join(exc.problems))
    assert tables


def test_a_policy_with_a_wrong_key_or_value_is_refused(tmp_path: Path) -> None:
    """The check above can fail: the page's first policy with a misspelt key and a keep count in words."""
    policy = tmp_path / "policy.toml"
    policy.write_text(toml_blocks()[0].replace("keep_latest = 10", 'keep_latst = 10\nkeep_latest = "ten"'))
    with pytest.raises(PolicyError) as refused:
        load_policy(policy)
    assert any("keep_latst: not an argument" in problem for problem in refused.value.problems)
    assert any("keep_latest:" in problem for problem in refused.value.problems)
