"""The tools through the real MCP client (langchain-mcp-adapters, one session) over stdio and streamable-http."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from langchain_mcp_adapters.sessions import StreamableHttpConnection, create_session
from pydantic import SecretStr

from app.demo import inspect_all, tools_server_connection
from app.fault_expectations import attribution
from graph.mcp_client import ToolCallFailed, open_tools
from tools_server.serve import ServeError, http_app
from tools_server.server import WRITES_STORE, ToolName

from .conftest import FleetInfo

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TOOLS = {n.value for n in ToolName}
TOKEN = "test-token-" + "x" * 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _http_server(fleet: FleetInfo) -> AsyncIterator[str]:
    port = _free_port()
    settings = fleet.settings().model_copy(update={"mcp_port": port, "mcp_token": SecretStr(TOKEN)})
    config = uvicorn.Config(http_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        await task


async def test_stdio_lists_read_only_tools_with_schemas(demo_fleet: FleetInfo) -> None:
    conn = tools_server_connection(demo_fleet.inventory, demo_fleet.known_hosts)
    async with create_session(conn) as session:
        await session.initialize()
        listed = (await session.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert tool.annotations is not None and tool.annotations.destructiveHint is False, tool.name
        assert tool.annotations.readOnlyHint is (tool.name not in WRITES_STORE), tool.name
        assert tool.outputSchema is not None, tool.name
    inspect = next(t for t in listed if t.name == "ssh_inspect_host")
    assert inspect.inputSchema["required"] == ["host"]
    assert "description" in inspect.inputSchema["properties"]["host"]


async def test_stdio_inspects_the_whole_fleet(demo_fleet: FleetInfo) -> None:
    conn = tools_server_connection(demo_fleet.inventory, demo_fleet.known_hosts)
    async with open_tools(conn) as tools:
        assert set(tools.names()) == TOOLS
        hosts = [h["name"] for h in (await tools.call("hosts_list", {}))["hosts"]]
        reports = await inspect_all(tools, hosts)
        with pytest.raises(ToolCallFailed, match="unknown host 'ghost'"):
            await tools.call("ssh_inspect_host", {"host": "ghost"})
        with pytest.raises(ToolCallFailed, match="refused path"):
            await tools.call("logs_tail", {"host": hosts[0], "path": "/etc/shadow"})
        with pytest.raises(ToolCallFailed):
            await tools.call("ssh_inspect_host", {"host": hosts[0], "sections": ["everything"]})
        garbage = await tools.call("parse_output", {"kind": "smartctl", "text": "\x00\x01 garbage"})
        local = await tools.call("local_server_status", {})
    result = attribution(demo_fleet.faults, {r["host"]: r["findings"] for r in reports})
    assert result["missed"] == [] and result["unexpected_critical"] == []
    assert garbage["ok"] is False and garbage["error"]
    assert local["memory"]["total_bytes"] > 0 and local["cpu_count"] >= 1


async def test_streamable_http_with_bearer_token(demo_fleet: FleetInfo) -> None:
    async with _http_server(demo_fleet) as url:
        async with httpx.AsyncClient() as client:
            anonymous = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            wrong = await client.post(url, headers={"Authorization": "Bearer nope"}, json={})
        assert anonymous.status_code == 401 and wrong.status_code == 401
        conn = StreamableHttpConnection(
            transport="streamable_http", url=url, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        async with open_tools(conn) as tools:
            assert set(tools.names()) == TOOLS
            report = await tools.call("ssh_inspect_host", {"host": demo_fleet.host_with("smart_failed")})
            unreachable = await tools.call("ssh_inspect_host", {"host": demo_fleet.host_with("unreachable")})
    assert any(f["metric"] == "smart.health" and f["severity"] == "critical" for f in report["findings"])
    assert unreachable["status"] == "unreachable"


async def test_http_refuses_to_start_without_a_token(demo_fleet: FleetInfo) -> None:
    with pytest.raises(ServeError, match="OPSWD_MCP_TOKEN"):
        http_app(demo_fleet.settings())


async def test_stdio_metrics_and_hardware_tools(demo_fleet: FleetInfo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.metrics_cmd import seed_store

    store = f"sqlite:///{tmp_path / 'metrics.db'}"
    await seed_store(store=store, scenario="demo", hosts=20, days=1, interval_minutes=30)
    conn = tools_server_connection(demo_fleet.inventory, demo_fleet.known_hosts, OPSWD_METRICS__URL=store)
    pressured = demo_fleet.host_with("memory_pressure")
    async with open_tools(conn) as tools:
        hosts = {h["name"]: h["address"] for h in (await tools.call("hosts_list", {}))["hosts"]}
        abnormal = await tools.call("metrics_abnormal_hosts", {"since": "2h"})
        history = await tools.call("metrics_host_history", {"ip": hosts[pressured], "since": "1d", "max_points": 10})
        environment = await tools.call("metrics_environment", {"since": "1d"})
        collected = await tools.call("metrics_collect", {"hosts": [pressured]})
        services = await tools.call("metrics_service_status", {"since": "1d"})
        plan = await tools.call("hardware_plan_upgrade", {"host": pressured})
        with pytest.raises(ToolCallFailed, match="neither a duration"):
            await tools.call("metrics_abnormal_hosts", {"since": "yesterday-ish"})
    assert hosts[pressured] in {h["ip"] for h in abnormal["hosts"]}
    assert history["count"] > 10 and len(history["samples"]) <= 10 and history["peak_memory"] >= 90
    assert environment["count"] >= 1  # the seeded overheating room
    assert collected["written"] == 1 and collected["samples"][0]["memory_status"] == "异常"
    assert services["count"] > 0
    assert plan["plan"]["action"] in ("add", "replace", "keep", "unknown_board") and plan["memory_used_percent"] > 90
