"""What the server keeps beyond one call (plans, the journal, manifests, spent confirmation tokens, pacing,
cancellations), as one interface with two peers: files under journal_dir (local.py) or Redis shared by replicas
(redis.py); opened once per process (opening.py). Below the MCP wiring; it knows nothing of the tools."""
