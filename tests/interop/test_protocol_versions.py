"""The Python SDK's client at every protocol version it knows, in memory and over stdio (a subprocess of the
command): tools, a read, a delete confirmed by token, a delete confirmed by form where the version has forms
(2025-06-18 on) and the token where it has not, resources and prompts.

The handshake-era versions are forced by making the client ask for them in its `initialize` (as an older client
would); 2026-07-28 is what the default `Client` negotiates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp.client.session
import pytest
from mcp import Client, StdioServerParameters
from mcp_types.version import KNOWN_PROTOCOL_VERSIONS

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server, tool_entries
from tests.helpers import COMMAND, Person, ok
from tests.interop.helpers import WEB, deletes, untagged_version, version_path

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parent.parent.parent
MODERN = "2026-07-28"
# Each version the SDK speaks, and whether it has form elicitation (it arrived in 2025-06-18).
FORMS = {"2024-11-05": False, "2025-03-26": False, "2025-06-18": True, "2025-11-25": True, MODERN: True}
versions = pytest.mark.parametrize("version", list(FORMS))
transports = pytest.mark.parametrize("transport", ["memory", "stdio"])


def test_every_protocol_version_the_sdk_knows_is_covered() -> None:
    assert set(FORMS) == set(KNOWN_PROTOCOL_VERSIONS)


@pytest.fixture
def connect(
    settings: Settings, server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:  # a factory of async context managers
    @asynccontextmanager
    async def connected(version: str, transport: str, person: Person | None = None) -> AsyncIterator[Client]:
        target: Any = build_server(settings)
        if transport == "stdio":
            target = StdioServerParameters(command=COMMAND[0], args=COMMAND[1:], env=server_env, cwd=ROOT)
        options: dict[str, Any] = {"elicitation_callback": person} if person else {}
        if version != MODERN:
            monkeypatch.setattr(mcp.client.session, "LATEST_HANDSHAKE_VERSION", version)
            options["mode"] = "legacy"
        async with Client(target, **options) as client:
            assert client.protocol_version == version
            yield client

    return connected


@versions
@transports
async def test_tools_a_read_and_a_delete_confirmed_by_token(
    connect: Any, sandbox: SandboxServer, version: str, transport: str
) -> None:
    target = untagged_version(sandbox)
    arguments = {**WEB, "package_version_id": target}
    async with connect(version, transport) as client:  # declares no elicitation: tokens
        names = {tool.name for tool in (await client.list_tools()).tools}
        package = ok(await client.call_tool("get_org_package", WEB))
        first = ok(await client.call_tool("delete_org_package_version", arguments))
        assert deletes(sandbox) == []
        done = ok(
            await client.call_tool(
                "delete_org_package_version", {**arguments, "confirmation_token": first["confirmation_token"]}
            )
        )
    assert names == {entry.name for entry in tool_entries()}
    assert package["name"] == "web/api"
    assert first["status"] == "confirmation_required"
    assert done["status"] == "deleted"
    assert deletes(sandbox) == [version_path(target)]


@versions
@transports
async def test_a_delete_confirmed_by_form_where_the_version_has_forms(
    connect: Any, sandbox: SandboxServer, version: str, transport: str
) -> None:
    target = untagged_version(sandbox)
    arguments = {**WEB, "package_version_id": target}
    person = Person(typed="web/api")
    async with connect(version, transport, person) as client:  # declares elicitation, whatever the version
        first = ok(await client.call_tool("delete_org_package_version", arguments))
        if not FORMS[version]:  # no forms before 2025-06-18: the token, though the client declared elicitation
            assert first["status"] == "confirmation_required"
            assert person.messages == []
            assert deletes(sandbox) == []
            token = first["confirmation_token"]
            first = ok(await client.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token}))
    assert first["status"] == "deleted"
    assert len(person.messages) == FORMS[version]
    if FORMS[version]:
        assert f"version {target}" in person.messages[0]
    assert deletes(sandbox) == [version_path(target)]


@versions
@transports
async def test_resources_and_prompts(connect: Any, version: str, transport: str) -> None:
    async with connect(version, transport) as client:
        templates = (await client.list_resource_templates()).resource_templates
        resource = await client.read_resource("github-packages://orgs/acme-labs/packages/container/web%2Fapi")
        prompts = (await client.list_prompts()).prompts
        prompt = await client.get_prompt("clean_up_container_package", {"owner": DEMO_ORG, "package": "web/api"})
    assert len(templates) == 3
    assert '"web/api"' in resource.contents[0].text  # type: ignore[union-attr]
    assert [p.name for p in prompts] == ["clean_up_container_package", "audit_organization", "draft_cleanup_policy"]
    assert "'web/api' of 'acme-labs'" in prompt.messages[0].content.text  # type: ignore[union-attr]
