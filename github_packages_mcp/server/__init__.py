"""MCP wiring: tool registration, confirmation of destructive tools, error mapping, transports."""

from github_packages_mcp.server.app import AppContext, ToolEntry, build_server, select_tools, tool_entries

__all__ = ["AppContext", "ToolEntry", "build_server", "select_tools", "tool_entries"]
