"""The graph's only way to the ops tools: one long-lived MCP session, opened through langchain-mcp-adapters.

The graph never imports tools_server: it runs unchanged against a local stdio server or a remote
streamable-http one. A call returns the tool's structured JSON (the MCP structuredContent), checked against the
tool's output schema by a validator compiled once per tool (graph/tool_schemas.py). The request goes out with
the session's public `send_request`, as `ClientSession.call_tool` does, but without its per-call validation,
which rebuilds the jsonschema validator every time.

Error policy: a tool error (`isError`) raises ToolCallFailed with the server's message; content that breaks
the output schema raises ToolOutputInvalid (a ToolCallFailed, so nodes record it like any tool failure);
transport faults (a closed pipe, an MCP protocol error) raise as the session raises them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from langchain_mcp_adapters.sessions import Connection, create_session
from mcp import ClientSession, types

from graph.tool_errors import ToolCallFailed, ToolOutputInvalid
from graph.tool_schemas import OutputValidators

__all__ = ["McpTools", "ToolCallFailed", "ToolOutputInvalid", "open_tools"]


class McpTools:
    """The tools of one MCP session by name, with a call that returns the validated structured result."""

    def __init__(self, session: ClientSession, tools: list[types.Tool]) -> None:
        self.session = session
        self.definitions: dict[str, types.Tool] = {t.name: t for t in tools}
        self.validators = OutputValidators({t.name: t.outputSchema for t in tools})

    @classmethod
    async def load(cls, session: ClientSession) -> McpTools:
        """List the server's tools (every page) on an initialised session."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools += page.tools
            cursor = page.nextCursor
            if not cursor:
                return cls(session, tools)

    def names(self) -> list[str]:
        """Names of the tools the server offers."""
        return sorted(self.definitions)

    async def call(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Call tool `name` and return its structured content (raises ToolCallFailed on a tool error)."""
        if name not in self.definitions:
            msg = f"the MCP server offers no tool {name!r} (it has {', '.join(self.names())})"
            raise ToolCallFailed(msg)
        params = types.CallToolRequestParams(name=name, arguments=dict(args))
        request = types.ClientRequest(types.CallToolRequest(params=params))
        result = await self.session.send_request(request, types.CallToolResult)
        if result.isError:
            raise ToolCallFailed(_text(result.content) or f"tool {name} failed without a message")
        self.validators.check(name, result.structuredContent)
        if result.structuredContent is None:
            msg = f"tool {name} returned no structured content: {_text(result.content)[:200]}"
            raise ToolCallFailed(msg)
        return dict(result.structuredContent)


def _text(content: list[types.ContentBlock]) -> str:
    return " ".join(block.text for block in content if isinstance(block, types.TextContent))


@asynccontextmanager
async def open_tools(connection: Connection) -> AsyncIterator[McpTools]:
    """Open one MCP session for the whole run and yield its tools."""
    async with create_session(connection) as session:
        await session.initialize()
        yield await McpTools.load(session)
