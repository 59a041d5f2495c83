"""The browser harness's own fixture: a tiny MCP server with one MCP App, built with the SDK's `mcp.server.apps`.

`greet` is bound to `ui://fixture/app.html` (fixture_app.html); the app calls `echo` back through the host, and
`echo` counts its calls here, so an answer the app shows can only have come from this process. `model_only` is
bound with visibility ["model"]: the host must refuse the app's call of it.

    python -m tests.browser.fixture_server PORT      (streamable HTTP on 127.0.0.1:PORT/mcp)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.apps import Apps, client_supports_apps
from mcp.server.mcpserver.context import Context

APP_URI = "ui://fixture/app.html"
HTML = (Path(__file__).parent / "fixture_app.html").read_text()


def build() -> MCPServer:
    """The server: `greet` (bound to the app), `echo` (what the app calls) and `model_only`."""
    apps = Apps()
    echoed: list[str] = []

    @apps.tool(resource_uri=APP_URI, name="greet", description="Greet someone, in the fixture app.")
    def greet(name: str, ctx: Context[Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {name}", "client_supports_apps": client_supports_apps(ctx)}

    @apps.tool(resource_uri=APP_URI, visibility=["model"], name="model_only", description="Only for the model.")
    def model_only() -> str:
        return "the app should never get this"

    apps.add_html_resource(APP_URI, HTML, name="fixture app", prefers_border=True)
    server = MCPServer("browser-fixture", version="1.0.0", extensions=[apps])

    @server.tool(description="The text in capitals, with how many calls this server has answered.")
    def echo(text: str) -> dict[str, Any]:
        echoed.append(text)
        return {"echo": text.upper(), "call": len(echoed)}

    return server


if __name__ == "__main__":
    uvicorn.run(build().streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
