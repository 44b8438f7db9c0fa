"""`python -m tools_server` serves the ops tools over MCP stdio (how the graph starts a local tools server)."""

import asyncio

from tools_server.serve import serve_stdio
from tools_server.settings import Settings

asyncio.run(serve_stdio(Settings()))
