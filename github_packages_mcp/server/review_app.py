"""The plan review app served through the MCP Apps extension (`mcp.server.apps`, docs/apps.md): one self-contained
HTML file (`ui/review.html`: scripts and styles inline, no URL outside it) as a `ui://` resource of the Apps MIME
type, declaring no domain at all, so hosts give it their strictest Content-Security-Policy.

The tools name it in their definitions (toolkit/apps.py); this is where it is served. The file is read when a
client reads the resource, not when the server is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp
from mcp.server.mcpserver.resources import FileResource

from github_packages_mcp.toolkit.apps import APP_URI

__all__ = ["APP_HTML", "review_app"]

APP_HTML: Final = Path(__file__).with_name("ui") / "review.html"


def review_app() -> Apps:
    """The Apps extension, serving the review app; a server offers it with `MCPServer(extensions=[...])`."""
    apps = Apps()
    # No connect, resource, frame or base-uri domain: the app reaches nothing but its host.
    ui = {"csp": ResourceCsp().model_dump(by_alias=True, exclude_none=True), "prefersBorder": True}
    apps.add_resource(
        FileResource(
            uri=APP_URI,
            name="review",
            title="Cleanup plan and audit review",
            description="Shows cleanup plans as a tree to narrow, and audits as charts.",
            mime_type=APP_MIME_TYPE,
            path=APP_HTML,
            encoding="utf-8",
            meta={"ui": ui},
        )
    )
    return apps
