"""MCP wiring: tool registration, confirmation of destructive tools, error mapping, transports."""

from github_packages_mcp.server.app import AppContext, build_server, selected_operations

__all__ = ["AppContext", "build_server", "selected_operations"]
