"""MCP wiring only: the server built from the tools (`app.py`), what a call reaches (`context.py`), confirmation of
destructive tools (`confirmation.py`, `tokens.py`), errors turned into advice (`advice.py`), published schemas and
results (`schemas.py`), resources and prompts, and the transports."""
