"""What replicas share when `state_url` is set (redis.py): spent confirmation tokens, pacing, plans, the journal
and cancellations. Below the MCP wiring; it knows nothing of the tools."""
