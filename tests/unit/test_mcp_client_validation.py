"""McpTools against an in-memory MCP server: results are schema-checked with one compiled validator per tool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.server.lowlevel import Server
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent, Tool
from pydantic import BaseModel

from graph.mcp_client import McpTools, ToolCallFailed, ToolOutputInvalid
from graph.tool_schemas import COMPILERS, Backend, OutputValidators

pytestmark = pytest.mark.timeout(5)


class Answer(BaseModel):
    host: str
    used_percent: float


def _server() -> Server[Any, Any]:
    # The low-level server passes a CallToolResult through unchecked: "broken" is a server bug the client catches.
    server: Server[Any, Any] = Server("schema-test")
    names = ("good", "broken", "refuses")

    @server.list_tools()
    async def list_tools() -> list[Tool]:
        return [Tool(name=n, inputSchema={"type": "object"}, outputSchema=Answer.model_json_schema()) for n in names]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> CallToolResult:
        if name == "refuses":
            raise ValueError(f"unknown host {arguments['host']!r}")
        structured = {"host": arguments["host"], **({"used_percent": 42.0} if name == "good" else {})}
        return CallToolResult(content=[TextContent(type="text", text="x")], structuredContent=structured)

    return server


@asynccontextmanager
async def _tools() -> AsyncIterator[McpTools]:
    async with create_connected_server_and_client_session(_server()) as session:
        yield await McpTools.load(session)


async def test_valid_result_comes_back_and_the_validator_is_compiled_once() -> None:
    async with _tools() as tools:
        assert tools.names() == ["broken", "good", "refuses"]
        assert await tools.call("good", {"host": "node-01"}) == {"host": "node-01", "used_percent": 42.0}
        compiled = tools.validators.compiled("good")
        for i in range(3):
            assert (await tools.call("good", {"host": f"node-0{i}"}))["host"] == f"node-0{i}"
        assert tools.validators.compiled("good") is compiled


async def test_content_breaking_the_schema_fails_clearly() -> None:
    async with _tools() as tools:
        with pytest.raises(ToolOutputInvalid, match=r"tool broken returned content that breaks its output schema"):
            await tools.call("broken", {"host": "node-01"})
        with pytest.raises(ToolCallFailed, match=r"used_percent. is a required property"):
            await tools.call("broken", {"host": "node-01"})


async def test_tool_error_and_unknown_tool() -> None:
    async with _tools() as tools:
        with pytest.raises(ToolCallFailed, match="unknown host 'ghost'") as caught:
            await tools.call("refuses", {"host": "ghost"})
        assert not isinstance(caught.value, ToolOutputInvalid)
        with pytest.raises(ToolCallFailed, match="offers no tool 'nope'"):
            await tools.call("nope", {})


@pytest.mark.parametrize("backend", sorted(COMPILERS))
def test_validators_without_a_session(backend: Backend) -> None:
    schema: dict[str, Any] = Answer.model_json_schema()
    remote = {"$ref": "http://127.0.0.1:1/schema.json"}
    schemas = {"answer": schema, "free": None, "bad": {"type": "no-such-type"}, "remote": remote}
    validators = OutputValidators(schemas, backend)
    validators.check("answer", {"host": "a", "used_percent": 1})
    validators.check("free", None)  # no schema, nothing to check
    assert not validators.has_schema("free") and validators.has_schema("answer")
    with pytest.raises(ToolOutputInvalid, match=r"at \$\.used_percent: .high. is not of type .number."):
        validators.check("answer", {"host": "a", "used_percent": "high"})
    with pytest.raises(ToolOutputInvalid, match=r"at \$: .* \(and 1 more\)"):
        validators.check("answer", {})
    with pytest.raises(ToolOutputInvalid, match="returned no structured content"):
        validators.check("answer", None)
    with pytest.raises(ToolOutputInvalid, match="declares an unusable output schema"):
        validators.check("bad", {})
    with pytest.raises(ToolOutputInvalid, match="declares an unusable output schema"):
        validators.check("remote", {})  # never fetched
    with pytest.raises(ToolOutputInvalid) as caught:
        validators.check("answer", {"host": "a", "used_percent": "x" * 5000})
    assert len(str(caught.value)) < 500
