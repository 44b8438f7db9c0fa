"""The graph's only way to the ops tools: one long-lived MCP session through langchain-mcp-adapters.

The graph never imports tools_server: it runs unchanged against a local stdio server or a remote
streamable-http one. Tool results come back as structured JSON (the MCP structuredContent, carried as
the ToolMessage artifact); an MCP tool error becomes ToolCallFailed with the server's message.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.sessions import Connection, create_session
from langchain_mcp_adapters.tools import load_mcp_tools

_call_ids = itertools.count(1)


class ToolCallFailed(RuntimeError):
    """An MCP tool answered with an error (bad input, unknown host): the message is the server's."""


class McpTools:
    """The tools of one MCP session by name, with a call that returns the structured result."""

    def __init__(self, tools: list[BaseTool]) -> None:
        self.by_name: dict[str, BaseTool] = {t.name: t for t in tools}

    def names(self) -> list[str]:
        """Names of the tools the server offers."""
        return sorted(self.by_name)

    async def call(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Call tool `name` and return its structured content (raises ToolCallFailed on a tool error)."""
        tool = self.by_name.get(name)
        if tool is None:
            msg = f"the MCP server offers no tool {name!r} (it has {', '.join(self.names())})"
            raise ToolCallFailed(msg)
        call = {"type": "tool_call", "id": f"call-{next(_call_ids)}", "name": name, "args": dict(args)}
        message = await tool.ainvoke(call)
        if not isinstance(message, ToolMessage):
            msg = f"tool {name} returned {type(message).__name__}, expected a ToolMessage"
            raise ToolCallFailed(msg)
        if message.status == "error":
            raise ToolCallFailed(_text(message.content))
        artifact = message.artifact
        structured = artifact.get("structured_content") if isinstance(artifact, dict) else None
        if structured is None:
            msg = f"tool {name} returned no structured content: {_text(message.content)[:200]}"
            raise ToolCallFailed(msg)
        return dict(structured)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


@asynccontextmanager
async def open_tools(connection: Connection) -> AsyncIterator[McpTools]:
    """Open one MCP session for the whole run and yield its tools."""
    async with create_session(connection) as session:
        await session.initialize()
        yield McpTools(await load_mcp_tools(session))
