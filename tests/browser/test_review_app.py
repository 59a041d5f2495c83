"""The harness on the server itself: the command serves streamable HTTP for the test's sandbox (`http_url`), and the
review app (docs/apps.md) mounts in the browser with a real plan and a real audit, ready and without an error.

The screenshots are the README's (docs/images/) when UPDATE_SCREENSHOTS=1; otherwise they go to the test's folder.
"""

from __future__ import annotations

from pathlib import Path

from github_packages_mcp.sandbox import DEMO_ORG
from tests.browser.harness import AppView, BrowserHost, shot_path

GATEWAY = {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway"}
RULES = {"keep_latest": 1, "delete_orphans": True, "delete_partial_images": True}
PNG = b"\x89PNG\r\n\x1a\n"


def shown_without_error(app: AppView, view: str, screenshot: Path) -> None:
    app.wait_ready()
    assert app.eval("document.body.dataset.view") == view
    assert [line for line in app.console() if line.startswith(("error", "pageerror"))] == []
    assert app.screenshot(screenshot).read_bytes().startswith(PNG)


def test_the_review_app_shows_a_plan_of_the_sandbox(browser_host: BrowserHost, http_url: str, tmp_path: Path) -> None:
    app = browser_host.open(http_url, "plan_version_cleanup", {**GATEWAY, **RULES}, width=1200)
    assert app.resource_uri == "ui://github-packages-mcp/review.html"
    plan = app.result["structuredContent"]
    shown_without_error(app, "plan", shot_path(tmp_path, "images/review-plan.png"))
    assert app.text("h1") == f"Cleanup plan {plan['plan_id']}"
    assert app.text("[data-testid=live]") == f"{plan['delete']} of {plan['delete']} deletions selected."


def test_the_review_app_shows_an_audit_of_the_sandbox(browser_host: BrowserHost, http_url: str, tmp_path: Path) -> None:
    app = browser_host.open(http_url, "audit_packages", {"org": DEMO_ORG, "package_types": ["container", "npm"]})
    shown_without_error(app, "audit", shot_path(tmp_path, "images/review-audit.png"))
    totals = app.result["structuredContent"]["totals"]
    assert app.text("[data-testid=count-packages]") == f"{totals['packages']} packages"
    assert app.text("[data-testid=count-versions]") == f"{totals['versions']} versions"
