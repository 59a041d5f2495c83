"""npm packages the tests run next to their harness (tests/interop, tests/browser): pinned exactly in a folder's
package.json and package-lock.json, installed there by `npm ci` on first use, or the reason they cannot be."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

NPM_INSTALL_TIMEOUT = 300  # a first run on a fresh machine downloads about 100 small packages (3 s here)
# Cached packages first; one retry, soon, so that a machine without network gives up in seconds, not minutes.
NPM_OPTIONS = (
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--loglevel=error",
    "--fetch-retries=1",
    "--fetch-retry-mintimeout=2000",
    "--fetch-retry-maxtimeout=10000",
    "--fetch-timeout=30000",
)


def pinned(folder: Path) -> dict[str, str]:
    """The exact versions the folder's package.json (and package-lock.json) pins."""
    versions: dict[str, str] = json.loads((folder / "package.json").read_text())["dependencies"]
    return versions


def installed(folder: Path, package: str) -> str | None:
    """The version of the package installed in the folder's node_modules, if any."""
    manifest = folder / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def all_installed(folder: Path) -> bool:
    return all(installed(folder, package) == version for package, version in pinned(folder).items())


def npm_ci(folder: Path) -> str | None:
    """Install the folder's pinned packages unless they are there: None once they are, else why they are not."""
    # Another pytest run (or worker) in this checkout may be installing at the same moment: one at a time.
    with (folder / ".npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all_installed(folder):
            return None
        npm = shutil.which("npm")
        if npm is None:
            return "npm is not installed"
        try:
            done = subprocess.run(
                [npm, "ci", *NPM_OPTIONS],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=NPM_INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"npm ci did not finish within {NPM_INSTALL_TIMEOUT} s (offline?)"
        if done.returncode != 0 or not all_installed(folder):
            error = next((line for line in done.stderr.splitlines() if line.startswith("npm error")), "")
            return f"npm ci failed (offline?): {error}"
        return None


def node_with_packages(folder: Path, what: str) -> str:
    """The node executable, with the folder's pinned packages installed; the test skips, saying why, when either
    cannot be had. `what`: the packages, as the reason names them."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"node (Node.js) is not installed: {what} cannot run")
    failure = npm_ci(folder)
    if failure is not None:
        pytest.skip(f"cannot install {what}: {failure}")
    return node
