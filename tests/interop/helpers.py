"""What both interoperability modules look at in the sandbox: web/api's versions and the DELETEs it received."""

from __future__ import annotations

from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer

WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


def untagged_version(sandbox: SandboxServer) -> int:
    """An untagged version of web/api, which a delete may remove."""
    return next(v.id for v in sandbox.state.package(DEMO_ORG, "container", "web/api").active_versions() if not v.tags)


def deletes(sandbox: SandboxServer) -> list[str]:
    """The raw path of every DELETE the sandbox received, in order."""
    return [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"]


def version_path(version_id: int) -> str:
    """The API path of a web/api version."""
    return f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{version_id}"
