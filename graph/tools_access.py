"""The graph's long-lived MCP session: one per process (per event loop), opened on first use.

Where the tools server is comes from the environment: OPSWD_MCP_URL (+ OPSWD_MCP_TOKEN) for a remote
streamable-http server, else a local stdio server (`python -m tools_server`) that inherits the OPSWD_*
environment. Tests can install their own provider with `set_tools_provider`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from langchain_mcp_adapters.sessions import Connection, StdioConnection, StreamableHttpConnection

from graph.mcp_client import McpTools, open_tools

log = logging.getLogger(__name__)
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
    """The process's MCP tools, opening the session once per event loop (again after it closed or died)."""
    if _provider is not None:
        return await _provider()
    loop = id(asyncio.get_running_loop())
    lock = _locks.setdefault(loop, asyncio.Lock())
    async with lock:
        entry = _sessions.get(loop)
        if entry is not None and not entry[0].done() and not entry[2].closed:
            return entry[2]
        if entry is not None:  # it closed or died under a call: let it finish, and say why it died
            old_task, old_stop, _ = _sessions.pop(loop)
            old_stop.set()
            await asyncio.wait((old_task,))
            if not old_task.cancelled() and old_task.exception() is not None:
                log.warning("the MCP tools session had died (%r); opening a new one", old_task.exception())
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
    """Close this loop's session and end its server (CLI exit, service shutdown, tests); a no-op when none is open.

    Calls still in flight raise ToolCallFailed; the transport's shutdown errors are logged (graph.mcp_client).
    """
    loop = id(asyncio.get_running_loop())
    lock = _locks.get(loop)
    if lock is None:  # never opened on this loop
        return
    async with lock:  # not while get_tools is opening one
        entry = _sessions.pop(loop, None)
        if entry is not None:
            task, stop, _ = entry
            stop.set()
            await task
    # Keyed by id(loop): a later loop may get the same id, and an asyncio.Lock stays bound to its first loop.
    if _locks.get(loop) is lock and loop not in _sessions:
        del _locks[loop]
