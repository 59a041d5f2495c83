"""Read-only insights, MCP-free: an owner's packages audited, and what a token is and may do."""
