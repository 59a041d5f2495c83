"""The `github-packages-mcp` command, for people and scripts: `main` (arguments, settings, the sandbox), `terminal`
(a tool called through an in-memory MCP client, confirmed at the prompt or by --yes), `readable` (results as tables
for people), `install` (a client's configuration), `policy` and `policy_report` (cleanups from a policy file).
Nothing here is imported to serve MCP; `main` is the entry point."""
