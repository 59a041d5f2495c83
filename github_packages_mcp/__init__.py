"""An MCP server for GitHub Packages: every REST operation as a typed tool, confirmed deletes, a built-in sandbox."""

__version__ = "0.1.0"

__all__ = ["__version__"]
