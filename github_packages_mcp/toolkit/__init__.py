"""The kit the MCP tools are built with: what a call reaches (context), confirmation and its tokens, published
schemas and results, and errors turned into advice. Below the tools, above GitHub and the cleanup logic."""
