"""Closing the graph's MCP session (graph.tools_access) while tool calls are in flight: the real stdio tools server.

This is what `opswatchdog serve` does on SIGTERM with incident runs still inspecting hosts: close must not raise
the transport's shutdown noise, the callers must fail promptly with the error nodes record (ToolCallFailed), and
the tools server must not stay behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio

from graph.mcp_client import ToolCallFailed
from graph.tools_access import close_tools, get_tools
from tests.conftest import REPO_ROOT

from .conftest import FleetInfo
from .graph_env import graph_environment

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PROMPT_S = 10.0


def _tools_server_tree() -> list[psutil.Process]:
    """The live `python -m tools_server` children of this process, and their own children."""
    tree: list[psutil.Process] = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "tools_server" in child.cmdline():
                tree += [child, *child.children(recursive=True)]
    return tree


async def _gone(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `procs` still running (zombies count as gone) after waiting up to PROMPT_S."""
    left = procs
    for _ in range(int(PROMPT_S / 0.1)):
        left = [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left:
            break
        await asyncio.sleep(0.1)
    return left


@pytest_asyncio.fixture(loop_scope="module")
async def stdio_env(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FleetInfo]:
    """The environment-driven stdio session of graph.tools_access on the fleet; the silent host holds each SSH
    connect for 60 s, so its calls are still in flight when a test closes the session."""
    for name, value in graph_environment(demo_fleet, tmp_path, f"sqlite:///{tmp_path}/checkpoints.db").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPSWD_MCP_URL", raising=False)
    monkeypatch.setenv("OPSWD_SSH__CONNECT_TIMEOUT_S", "60")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    try:
        yield demo_fleet
    finally:
        await close_tools()


async def _close_under(callers: list[Coroutine[Any, Any, object]]) -> None:
    """Start `callers`, close the session while they wait on the server, and check how everything ended."""
    tasks = [asyncio.create_task(c) for c in callers]
    await asyncio.sleep(1.0)  # every request reached the server; the silent host's have no answer yet
    assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
    server = _tools_server_tree()
    assert server, "the stdio tools server should be running"

    await asyncio.wait_for(close_tools(), PROMPT_S)  # no exception escapes

    done, pending = await asyncio.wait(tasks, timeout=PROMPT_S)
    for t in pending:
        t.cancel()
    assert not pending, f"{len(pending)} of {len(tasks)} callers still waiting {PROMPT_S} s after close"
    for t in done:
        assert isinstance(t.exception(), ToolCallFailed), repr(t.exception())
        assert "MCP tools session" in str(t.exception())
    assert await _gone(server) == []


async def test_close_cuts_off_unanswered_calls(stdio_env: FleetInfo, caplog: pytest.LogCaptureFixture) -> None:
    tools = await get_tools()
    dead = stdio_env.host_with("unreachable")
    caplog.set_level(logging.INFO, logger="graph.mcp_client")
    await _close_under([tools.call("ssh_inspect_host", {"host": dead}) for _ in range(4)])
    said = [r.getMessage() for r in caplog.records if r.name == "graph.mcp_client"]
    assert len(said) == 1 and "closed while calls were in flight (4 cut off)" in said[0], said


async def test_close_while_answers_stream_in(stdio_env: FleetInfo, caplog: pytest.LogCaptureFixture) -> None:
    """Callers keep the server answering while it closes: answers meet the session's closed reader, which made
    mcp's stdio transport raise ExceptionGroup(BrokenResourceError) out of close."""
    tools = await get_tools()
    dead = stdio_env.host_with("unreachable")

    async def busy() -> None:
        while True:
            await tools.call("hosts_list", {})

    caplog.set_level(logging.INFO, logger="graph.mcp_client")
    unanswered = [tools.call("ssh_inspect_host", {"host": dead}) for _ in range(2)]
    await _close_under([*unanswered, *(busy() for _ in range(8))])
    said = [r.getMessage() for r in caplog.records if r.name == "graph.mcp_client"]
    # With eight callers always waiting on the server, some answer is always in the pipe when the session stops.
    assert len(said) == 1 and re.search(r"in flight \(\d+ cut off\); ignored: .*BrokenResourceError", said[0]), said


async def test_close_is_idempotent_and_safe_unopened(stdio_env: FleetInfo) -> None:
    await close_tools()  # nothing open on this loop
    tools = await get_tools()
    server = _tools_server_tree()
    await close_tools()
    await close_tools()
    assert await _gone(server) == []
    with pytest.raises(ToolCallFailed, match="session is closed"):
        await tools.call("hosts_list", {})
    reopened = await get_tools()  # a closed session is never handed out again
    assert reopened is not tools
    assert (await reopened.call("hosts_list", {}))["hosts"]
    await close_tools()
    assert await _gone(server + _tools_server_tree()) == []
