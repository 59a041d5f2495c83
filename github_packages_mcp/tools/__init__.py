"""The MCP tools: GitHub's 27 operations (`operations.py`), retention cleanups (`cleanup.py`), and audits
(`audit.py`). Each module offers its tools as `ToolEntry`s, whose published definitions are shipped as data
(`definitions.py`); `server/app.py` selects and registers them."""
