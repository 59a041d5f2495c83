"""MCP wiring: tools built from the catalogue and the cleanup, confirmation of destructive tools, error mapping."""

from github_packages_mcp.server.app import build_server, select_tools, tool_entries
from github_packages_mcp.server.toolkit import AppContext, ToolEntry

__all__ = ["AppContext", "ToolEntry", "build_server", "select_tools", "tool_entries"]
