"""The plan review app through MCP (docs/apps.md): the tools name its ui:// resource, resources/read serves it with
the Apps MIME type, a client that negotiated Apps gets the whole plan or audit in the result's `_meta`, and a
client without Apps gets exactly what it got before."""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.server.review_app import APP_HTML
from github_packages_mcp.toolkit.apps import APP_URI, AUDIT_KEY, PLAN_KEY
from tests.helpers import ok

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
GATEWAY = {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway"}
RULES = {"keep_latest": 1, "delete_orphans": True, "delete_partial_images": True}
WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "tagged": "untagged"}
SERVER_INFO = "io.modelcontextprotocol/serverInfo"  # what the SDK stamps on every 2026-07-28 result
Mode = Literal["auto", "legacy"]
MODES: list[Mode] = ["auto", "legacy"]


def client(settings: Settings, mode: Mode, *, apps: bool) -> Client:
    return Client(build_server(settings), mode=mode, extensions=[APPS] if apps else None)


def without_ids(result: CallToolResult) -> dict[str, Any]:
    """The result as sent, with the plan id (new for every plan) left out."""
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return _replaced(dumped, re.compile(r"\b[0-9a-f]{16}\b"))


def _replaced(value: Any, plan_id: re.Pattern[str]) -> Any:
    if isinstance(value, dict):
        return {key: _replaced(item, plan_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, plan_id) for item in value]
    return plan_id.sub("<plan>", value) if isinstance(value, str) else value


@pytest.mark.parametrize("mode", MODES)
async def test_the_tools_name_the_app_and_resources_read_serves_it_as_an_app(settings: Settings, mode: Mode) -> None:
    async with client(settings, mode, apps=True) as apps:
        tools = {tool.name: tool for tool in (await apps.list_tools()).tools}
        read = await apps.read_resource(APP_URI)
    ui = {name: (tool.meta or {}).get("ui") for name, tool in tools.items() if tool.meta and "ui" in tool.meta}
    assert ui == {
        "plan_version_cleanup": {"resourceUri": APP_URI},
        "apply_version_cleanup": {"resourceUri": APP_URI, "visibility": ["model"]},  # the app cannot apply
        "audit_packages": {"resourceUri": APP_URI},
    }
    [content] = read.contents
    assert (str(content.uri), content.mime_type) == (APP_URI, APP_MIME_TYPE)
    assert content.meta == {"ui": {"csp": {}, "prefersBorder": True}}  # no domain: the host's strictest CSP
    assert content.text == APP_HTML.read_text(encoding="utf-8")  # type: ignore[union-attr]


def test_the_app_is_one_self_contained_file_of_at_most_150_kb() -> None:
    html = APP_HTML.read_text(encoding="utf-8")
    assert len(html.encode()) <= 150 * 1024
    # No URL but SVG's namespace name, which nothing fetches: no script, style, font or image from anywhere.
    assert set(re.findall(r"[a-z]+://[^\s\"'<>)]*", html)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", html)
    assert re.search(r'<meta http-equiv="Content-Security-Policy" content="default-src \'none\';', html)


@pytest.mark.parametrize("mode", MODES)
async def test_an_apps_client_gets_the_whole_plan_in_meta_and_the_same_result_otherwise(
    settings: Settings, sandbox: SandboxServer, mode: Mode
) -> None:
    async with client(settings, mode, apps=False) as plain:
        before = await plain.call_tool("plan_version_cleanup", {**GATEWAY, **RULES})
    async with client(settings, mode, apps=True) as apps:
        shown = await apps.call_tool("plan_version_cleanup", {**GATEWAY, **RULES})
    assert set(before.meta or {}) <= {SERVER_INFO}
    review = (shown.meta or {})[PLAN_KEY]
    assert without_ids(shown.model_copy(update={"meta": before.meta})) == without_ids(before)
    assert review["plan_id"] == ok(shown)["plan_id"]
    assert (review["delete"], review["keep"]) == (12, 7)
    [package] = review["packages"]
    versions = {v["id"]: v for v in package["versions"]}
    assert len(versions) == 19 and package["omitted"] == 0
    assert [v["action"] for v in package["versions"]] == ["delete"] * 12 + ["keep"] * 7  # deletions first
    index = versions[3430000103]
    assert (index["kind"], index["tags"], index["rule"]) == ("index", ["v3"], "delete: beyond the newest selected")
    assert index["created_at"].endswith("Z") and index["updated_at"].endswith("Z")
    platform = versions[3430000101]
    assert (platform["kind"], platform["follows"], platform["rule_id"]) == (
        "platform image",
        [index["name"]],
        "deleted_with",
    )
    assert versions[3430000104]["kind"] == "signature"
    assert (versions[3430000202]["kind"], versions[3430000202]["orphan"]) == ("signature", True)
    assert versions[3430000301]["kind"] == "image" and "orphan" not in versions[3430000301]


async def test_a_plan_of_hundreds_of_versions_is_whole_for_the_app_and_cut_for_the_model(settings: Settings) -> None:
    async with client(settings, "auto", apps=True) as apps:
        shown = await apps.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": 1})
    plan = ok(shown)
    [package] = (shown.meta or {})[PLAN_KEY]["packages"]
    assert plan["packages"][0]["versions"] == len(package["versions"]) == 345
    assert len(plan["packages"][0]["decisions"]) + plan["packages"][0]["decisions_omitted"] == 345
    assert len(plan["packages"][0]["decisions"]) < 345


@pytest.mark.parametrize("mode", MODES)
async def test_an_apps_client_gets_the_audit_by_month_and_the_same_result_otherwise(
    settings: Settings, mode: Mode
) -> None:
    arguments = {"org": DEMO_ORG, "package_types": ["container", "npm"]}
    async with client(settings, mode, apps=False) as plain:
        before = await plain.call_tool("audit_packages", arguments)
    async with client(settings, mode, apps=True) as apps:
        shown = await apps.call_tool("audit_packages", arguments)
    assert set(before.meta or {}) <= {SERVER_INFO}
    assert shown.model_copy(update={"meta": before.meta}) == before
    review = (shown.meta or {})[AUDIT_KEY]
    packages = {p["name"]: p for p in review["packages"]}
    web = packages["web/api"]
    assert sum(web["by_month"].values()) == web["version_count"] == 345  # its active versions, each in its month
    assert list(web["by_month"]) == sorted(web["by_month"])
    assert review["totals"] == ok(shown)["totals"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_apps_lists_the_same_tools_but_for_their_ui_meta(settings: Settings, mode: Mode) -> None:
    async with client(settings, mode, apps=False) as plain:
        listed = (await plain.list_tools()).tools
    async with client(settings, mode, apps=True) as apps:
        assert (await apps.list_tools()).tools == listed  # static definitions: the same for every client
    assert {tool.name for tool in listed if tool.meta and "ui" in tool.meta} == {
        "plan_version_cleanup",
        "apply_version_cleanup",
        "audit_packages",
    }
