"""The harness on the server itself: the command serves streamable HTTP for the test's sandbox (`http_url`), and the
review app (docs/apps.md) mounts in the browser with a real plan and a real audit, ready and without an error.

The screenshots are the README's (docs/images/) when UPDATE_SCREENSHOTS=1; otherwise they go to the test's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.toolkit.apps import AUDIT_KEY, PLAN_KEY
from tests.browser.harness import AppView, BrowserHost, shot_path
from tests.helpers import ok
from tests.server.http_serving import http_client

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


# What a row shows: the rows a filter or search matched, not the images drawn around them as context.
MATCHED_ROWS = "[...document.querySelectorAll('[role=treeitem][data-id]:not([data-context])')]"


def reviewed(app: AppView) -> dict[int, dict[str, Any]]:
    """The plan the app got whole (in the result's `_meta`, for hosts that show apps): every version by id."""
    review = app.result["_meta"][PLAN_KEY]
    return {version["id"]: version for package in review["packages"] for version in package["versions"]}


def parts_of(versions: dict[int, dict[str, Any]], image: dict[str, Any]) -> set[int]:
    """The deletions that follow `image` (its platform images, signatures, attestations), and theirs."""
    found, digests = set(), {image["name"]}
    while (
        grown := {v["id"] for v in versions.values() if v["action"] == "delete" and digests & set(v.get("follows", ()))}
        - found
    ):
        found |= grown
        digests |= {versions[i]["name"] for i in grown}
    return found


def test_the_tree_holds_every_version_each_part_under_its_image(browser_host: BrowserHost, http_url: str) -> None:
    app = browser_host.open(http_url, "plan_version_cleanup", {**GATEWAY, **RULES}, width=1200)
    app.wait_ready()
    versions = reviewed(app)
    by_digest = {v["name"]: v["id"] for v in versions.values()}
    drawn = app.eval(
        "[...document.querySelectorAll('[role=treeitem][data-id]')].map(row => ({id: Number(row.dataset.id),"
        " action: row.dataset.action, parent: Number(row.parentElement.closest('[role=treeitem][data-id]')"
        "?.dataset.id ?? 0), checked: row.getAttribute('aria-checked')}))"
    )
    assert sorted(row["id"] for row in drawn) == sorted(versions)
    for row in drawn:
        version = versions[row["id"]]
        assert row["action"] == version["action"]
        assert row["checked"] == ("true" if version["action"] == "delete" else None)  # every deletion ticked
        if follows := [by_digest[d] for d in version.get("follows", ()) if d in by_digest]:
            assert row["parent"] in follows, version  # a part sits under (one of) the images it follows
    packages = "[...document.querySelectorAll('[data-testid^=package-]')].map(p => p.getAttribute('aria-label'))"
    assert app.eval(packages) == ["gateway: 12 to delete, 7 kept"]


def test_filters_and_search_show_only_what_they_match(browser_host: BrowserHost, http_url: str) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "*", "keep_latest": 2, **RULES}
    app = browser_host.open(http_url, "plan_version_cleanup", arguments, width=1200)
    app.wait_ready()
    versions = reviewed(app)
    app.check("[data-testid=filter-deletes]")
    assert {versions[i]["action"] for i in app.eval(f"{MATCHED_ROWS}.map(r => Number(r.dataset.id))")} == {"delete"}
    app.check("[data-testid=filter-deletes]", False)
    app.check("[data-testid=filter-orphans]")
    orphans = {i for i, v in versions.items() if v.get("orphan")}
    assert orphans and set(app.eval(f"{MATCHED_ROWS}.map(r => Number(r.dataset.id))")) == orphans
    app.check("[data-testid=filter-orphans]", False)
    app.select("[data-testid=filter-package]", "multi/app")
    assert app.eval("[...document.querySelectorAll('[data-testid^=package-]')].map(p => p.dataset.package)") == [
        "multi/app"
    ]
    app.select("[data-testid=filter-package]", "")
    tagged = next(v for v in versions.values() if v.get("tags") and v["action"] == "keep")
    app.fill("[data-testid=search]", tagged["tags"][0])
    assert tagged["id"] in app.eval(f"{MATCHED_ROWS}.map(r => Number(r.dataset.id))")
    assert all(
        tagged["tags"][0].lower() in " ".join([v["name"], str(v["id"]), *(v.get("tags") or [])]).lower()
        for v in (versions[i] for i in app.eval(f"{MATCHED_ROWS}.map(r => Number(r.dataset.id))"))
    )
    app.fill("[data-testid=search]", tagged["name"][7:19])  # a digest, as a person copies part of one
    assert app.eval(f"{MATCHED_ROWS}.map(r => Number(r.dataset.id))") == [tagged["id"]]


def test_narrowed_in_the_app_then_confirmed_exactly_the_chosen_are_deleted(
    browser_host: BrowserHost, http_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    app = browser_host.open(http_url, "plan_version_cleanup", {**GATEWAY, **RULES}, theme="dark", width=1200)
    app.wait_ready()
    versions = reviewed(app)
    deletions = {i for i, v in versions.items() if v["action"] == "delete"}
    image = next(v for v in versions.values() if v["action"] == "delete" and parts_of(versions, v))
    parts = parts_of(versions, image)
    # By keyboard, as a person without a mouse: the image's row gets focus, Space unticks it and its parts.
    app.eval(f"document.querySelector('[data-testid=row-{image['id']}]').focus()")
    app.press(f"[data-testid=row-{image['id']}]", " ")
    unticked = {image["id"], *parts}
    assert app.eval("[...document.querySelectorAll('[aria-checked=false]')].map(r => Number(r.dataset.id))") == [
        i
        for i in app.eval("[...document.querySelectorAll('[role=treeitem][data-id]')].map(r => Number(r.dataset.id))")
        if i in unticked
    ]
    chosen = len(deletions) - len(unticked)
    assert app.text("[data-testid=live]") == f"{chosen} of {len(deletions)} deletions selected."
    app.click("[data-testid=narrow]")
    [call] = app.wait_for_calls("narrow_version_cleanup")
    narrowed = call["result"]["structuredContent"]
    assert narrowed["delete"] == chosen
    assert app.wait_for("document.querySelector('[data-testid=narrow-result]')?.dataset.planId") == narrowed["plan_id"]
    app.screenshot(shot_path(tmp_path, "images/review-plan-narrowed.png"))
    # The app never applies: nothing was deleted, and it asked nothing but the narrowing (and told the model).
    assert [r["method"] for r in app.app_requests()] == ["tools/call", "ui/update-model-context"]
    assert not [r for r in sandbox.state.requests if r.method == "DELETE"]
    # The person confirms the narrowed plan in the conversation (here the token flow): exactly the chosen go.
    summary, done = anyio.run(applied_with_confirmation, http_url, narrowed["plan_id"])
    assert f"{chosen} version(s)" in summary
    assert done["deleted_count"] == chosen
    gone = {int(r.raw_path.rsplit("/", 1)[1]) for r in sandbox.state.requests if r.method == "DELETE"}
    assert gone == deletions - unticked


async def applied_with_confirmation(url: str, plan_id: str) -> tuple[str, dict[str, Any]]:
    """Apply `plan_id` over MCP as an assistant does without forms: asked first, then confirmed with the token."""
    async with http_client(url, mode="legacy") as client:
        asked = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan_id}))
        arguments = {"plan_id": plan_id, "confirmation_token": asked["confirmation_token"]}
        return asked["summary"], ok(await client.call_tool("apply_version_cleanup", arguments))


def test_the_audit_draws_every_package_and_month(browser_host: BrowserHost, http_url: str) -> None:
    app = browser_host.open(http_url, "audit_packages", {"org": DEMO_ORG, "package_types": ["container"]})
    app.wait_ready()
    audit = app.result["structuredContent"]
    assert app.eval("document.querySelector('[data-testid=chart-packages]').tagName.toLowerCase()") == "svg"
    assert app.eval("document.querySelector('[data-testid=chart-packages]').getAttribute('role')") == "img"
    cells = "[...document.querySelectorAll('[data-testid={}] tbody tr')].map(r => r.cells[0].textContent)"
    assert sorted(app.eval(cells.format("table-packages"))) == sorted(p["name"] for p in audit["packages"])
    review = app.result["_meta"][AUDIT_KEY]
    months = {month for package in review["packages"] for month in package.get("by_month", {})}
    assert app.eval(cells.format("table-months")) == sorted(months)


def test_the_frame_shrinks_when_a_filter_shows_less(browser_host: BrowserHost, http_url: str) -> None:
    # The host sizes the frame to what the app reports (ui/notifications/size-changed), as hosts do.
    app = browser_host.open(http_url, "plan_version_cleanup", {**GATEWAY, **RULES}, width=1200)
    app.wait_ready()
    frame = "document.querySelector('iframe').getBoundingClientRect().height"
    whole = app.wait_for(frame, where="host")
    image = next(v for v in reviewed(app).values() if v["action"] == "delete" and not v.get("follows"))
    app.fill("[data-testid=search]", image["name"][7:19])
    assert app.wait_for(f"{frame} < {whole / 2} && {frame}", where="host") > 0
