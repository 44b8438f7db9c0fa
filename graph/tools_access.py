"""The graph's long-lived MCP session: one per process (per event loop), opened on first use.

Where the tools server is comes from the environment: OPSWD_MCP_URL (+ OPSWD_MCP_TOKEN) for a remote
streamable-http server, else a local stdio server (`python -m tools_server`) that inherits the OPSWD_*
environment. Tests can install their own provider with `set_tools_provider`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from langchain_mcp_adapters.sessions import Connection, StdioConnection, StreamableHttpConnection

from graph.mcp_client import McpTools, open_tools

ToolsProvider = Callable[[], Awaitable[McpTools]]
_sessions: dict[int, tuple[AsyncExitStack, McpTools]] = {}
_locks: dict[int, asyncio.Lock] = {}
_provider: ToolsProvider | None = None


def connection_from_env() -> Connection:
    """The MCP connection the environment describes."""
    url = os.environ.get("OPSWD_MCP_URL")
    if url:
        token = os.environ.get("OPSWD_MCP_TOKEN", "")
        return StreamableHttpConnection(transport="streamable_http", url=url,
                                        headers={"Authorization": f"Bearer {token}"} if token else None)
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPSWD_", "PYTHON", "PATH", "HOME", "HF_"))}
    return StdioConnection(transport="stdio", command=sys.executable, args=["-m", "tools_server"], env=env)


def set_tools_provider(provider: ToolsProvider | None) -> None:
    """Replace how nodes get their tools (tests); None restores the environment-driven session."""
    global _provider
    _provider = provider


async def get_tools() -> McpTools:
    """The process's MCP tools, opening the session once per event loop."""
    if _provider is not None:
        return await _provider()
    loop = id(asyncio.get_running_loop())
    lock = _locks.setdefault(loop, asyncio.Lock())
    async with lock:
        if loop not in _sessions:
            stack = AsyncExitStack()
            tools = await stack.enter_async_context(open_tools(connection_from_env()))
            _sessions[loop] = (stack, tools)
        return _sessions[loop][1]


async def close_tools() -> None:
    """Close this loop's session (CLI exit, tests)."""
    entry = _sessions.pop(id(asyncio.get_running_loop()), None)
    if entry is not None:
        await entry[0].aclose()
