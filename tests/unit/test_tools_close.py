"""Closing an MCP tools session (graph.mcp_client) against an in-memory server: calls in flight are cut off with
ToolCallFailed, and only the transport's shutdown errors of a closing session are swallowed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from langchain_mcp_adapters.sessions import StdioConnection
from mcp import ClientSession
from mcp.server.lowlevel import Server
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent, Tool

import graph.mcp_client
from graph.mcp_client import McpTools, ToolCallFailed, open_tools

pytestmark = pytest.mark.timeout(5)

CONNECTION = StdioConnection(transport="stdio", command="unused", args=[])


def _server() -> Server[Any, Any]:
    server: Server[Any, Any] = Server("close-test")

    @server.list_tools()
    async def list_tools() -> list[Tool]:
        return [Tool(name=n, inputSchema={"type": "object"}) for n in ("hang", "echo")]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> CallToolResult:
        if name == "hang":
            await anyio.sleep_forever()
        return CallToolResult(content=[TextContent(type="text", text="x")], structuredContent=arguments)

    return server


@asynccontextmanager
async def _tools() -> AsyncIterator[McpTools]:
    async with create_connected_server_and_client_session(_server()) as session:
        yield await McpTools.load(session)


def _session_ending_with(error: BaseException | None, *, on_open: bool = False) -> Any:
    """A stand-in for create_session: the in-memory session, whose exit (or opening) raises `error`."""

    @asynccontextmanager
    async def create_session(connection: Any) -> AsyncIterator[ClientSession]:
        if on_open and error is not None:
            raise error
        async with create_connected_server_and_client_session(_server()) as session:
            yield session
        if error is not None:
            raise error

    return create_session


async def test_close_cuts_off_calls_in_flight_and_refuses_new_ones() -> None:
    async with _tools() as tools:
        calls = [asyncio.create_task(tools.call("hang", {})) for _ in range(3)]
        await asyncio.sleep(0.2)
        assert tools.close() == 3
        for call in calls:
            with pytest.raises(ToolCallFailed, match="cut off: the MCP tools session closed"):
                await asyncio.wait_for(call, 2)
        with pytest.raises(ToolCallFailed, match="session is closed"):
            await tools.call("echo", {"a": 1})
        assert tools.close() == 0  # again: nothing left in flight


async def test_a_cancelled_caller_stays_cancelled_and_the_session_keeps_working() -> None:
    async with _tools() as tools:
        call = asyncio.create_task(tools.call("hang", {}))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await tools.call("echo", {"a": 1}) == {"a": 1}
        assert tools.close() == 0


@pytest.mark.parametrize(
    "noise",
    [
        ExceptionGroup("tg", [anyio.BrokenResourceError()]),
        ExceptionGroup("outer", [ExceptionGroup("tg", [BrokenPipeError(), anyio.ClosedResourceError()])]),
        ConnectionResetError(),
    ],
)
async def test_shutdown_noise_of_a_closing_session_is_logged_once(
    noise: BaseException, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(graph.mcp_client, "create_session", _session_ending_with(noise))
    caplog.set_level(logging.INFO, logger="graph.mcp_client")
    async with open_tools(CONNECTION) as tools:
        assert await tools.call("echo", {"a": 1}) == {"a": 1}
    said = [r.getMessage() for r in caplog.records if r.name == "graph.mcp_client"]
    assert len(said) == 1 and said[0].startswith(
        "MCP tools session closed while calls were in flight (0 cut off); ignored"
    ), said


async def test_any_other_error_of_the_close_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    mixed = ExceptionGroup("tg", [anyio.BrokenResourceError(), ValueError("a real bug")])
    monkeypatch.setattr(graph.mcp_client, "create_session", _session_ending_with(mixed))
    with pytest.raises(ExceptionGroup) as raised:
        async with open_tools(CONNECTION):
            pass
    assert raised.value is mixed


async def test_transport_errors_outside_the_close_are_raised_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = ConnectionResetError("server went away during initialize")
    monkeypatch.setattr(graph.mcp_client, "create_session", _session_ending_with(refused, on_open=True))
    with pytest.raises(ConnectionResetError) as raised:
        async with open_tools(CONNECTION):
            pass
    assert raised.value is refused

    monkeypatch.setattr(graph.mcp_client, "create_session", _session_ending_with(None))
    with pytest.raises((BrokenPipeError, ExceptionGroup)) as body:  # the session's task group may wrap it
        async with open_tools(CONNECTION):
            raise BrokenPipeError("the body's own")  # not shutdown noise: the session was not closing
    assert isinstance(body.value, BrokenPipeError) or body.group_contains(BrokenPipeError, match="body's own")
