"""The MCP server's registration through an in-memory client session: schemas, annotations, error policy."""

from __future__ import annotations

import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from tools_server.parsers import PARSERS
from tools_server.server import WRITES_STORE, ToolName, build_server
from tools_server.settings import Settings
from tools_server.tools import ParseKind


async def test_every_tool_registered_read_only_with_output_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mcp, _ = build_server(Settings(inventory=tmp_path / "absent.yaml"))
    async with create_connected_server_and_client_session(mcp._mcp_server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {n.value for n in ToolName}
        for tool in tools.values():
            assert tool.annotations is not None and tool.annotations.destructiveHint is False
            assert tool.annotations.readOnlyHint is (tool.name not in WRITES_STORE), tool.name
            if tool.name in WRITES_STORE:
                assert "WRITE" in (tool.description or "")
            assert tool.outputSchema is not None and tool.description

        ok = await client.call_tool("parse_output", {"kind": "loadavg", "text": "0.5 0.4 0.3 1/100 42\n"})
        assert not ok.isError and ok.structuredContent is not None
        assert ok.structuredContent["data"]["load1"] == 0.5
        assert ok.content[0].text == "parsed loadavg"  # type: ignore[union-attr]

        missing = await client.call_tool("hosts_list", {})
        assert missing.isError
        assert "cannot read inventory" in missing.content[0].text  # type: ignore[union-attr]
        assert "OPSWD_INVENTORY" in missing.content[0].text  # type: ignore[union-attr]

        bad = await client.call_tool("logs_tail", {"host": "h", "path": "/etc/shadow", "lines": 0})
        assert bad.isError


def test_parse_kinds_match_the_parser_registry() -> None:
    assert set(ParseKind.__args__) == set(PARSERS)


@pytest.mark.parametrize("kind", sorted(PARSERS))
async def test_parse_output_never_raises_through_mcp(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mcp, _ = build_server(Settings(inventory=tmp_path / "absent.yaml"))
    async with create_connected_server_and_client_session(mcp._mcp_server) as client:
        result = await client.call_tool("parse_output", {"kind": kind, "text": "\x00garbage\n"})
    assert not result.isError and result.structuredContent is not None
    assert result.structuredContent["ok"] is False
