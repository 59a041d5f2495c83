"""Everything that talks to GitHub, MCP-free: the client and its request loop, retries, pacing and caching, the
exception tree, the operation catalogue (the only source of API paths), result models, the generic executor,
and the container registry's manifests."""
