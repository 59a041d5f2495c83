"""Retention cleanups, MCP-free: rules decide per version, images keep what kept images need, plans are saved
and applied with a journal, the journal restores, and the registry's manifests are kept once read."""
