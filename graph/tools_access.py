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

from langchain_mcp_adapters.sessions import Connection, StdioConnection, StreamableHttpConnection

from graph.mcp_client import McpTools, open_tools

ToolsProvider = Callable[[], Awaitable[McpTools]]
# Per event loop: the task that owns the session (anyio needs enter and exit in the same task), its stop
# signal, and the tools. Nodes run in tasks of their own, so the session cannot belong to any of them.
_sessions: dict[int, tuple[asyncio.Task[None], asyncio.Event, McpTools]] = {}
_locks: dict[int, asyncio.Lock] = {}
_provider: ToolsProvider | None = None


def connection_from_env() -> Connection:
    """The MCP connection the environment describes."""
    url = os.environ.get("OPSWD_MCP_URL")
    if url:
        token = os.environ.get("OPSWD_MCP_TOKEN", "")
        return StreamableHttpConnection(
            transport="streamable_http", url=url, headers={"Authorization": f"Bearer {token}"} if token else None
        )
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
        entry = _sessions.get(loop)
        if entry is not None and not entry[0].done():
            return entry[2]
        ready: asyncio.Future[McpTools] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        task = asyncio.create_task(_own_session(connection_from_env(), ready, stop), name="opswd-mcp-session")
        tools = await ready
        _sessions[loop] = (task, stop, tools)
        return tools


async def _own_session(connection: Connection, ready: asyncio.Future[McpTools], stop: asyncio.Event) -> None:
    try:
        async with open_tools(connection) as tools:
            ready.set_result(tools)
            await stop.wait()
    except BaseException as exc:
        if not ready.done():
            ready.set_exception(exc)
        raise


async def close_tools() -> None:
    """Close this loop's session (CLI exit, tests)."""
    entry = _sessions.pop(id(asyncio.get_running_loop()), None)
    if entry is not None:
        task, stop, _ = entry
        stop.set()
        await task
