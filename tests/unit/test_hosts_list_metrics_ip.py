"""hosts_list shows each host's metrics IP, through the MCP server and the graph's client (in memory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from graph.mcp_client import McpTools
from tools_server.server import build_server
from tools_server.settings import Settings

pytestmark = pytest.mark.timeout(5)

INVENTORY = """\
hosts:
  - {name: web-01, address: 10.0.0.11, ip: 192.168.1.11}
  - {name: web-02, address: 10.0.0.12}
  - {name: db-01, address: db-01.example.internal}
  - {name: db-02, address: db-02.example.internal, ip: 192.168.1.22}
"""


async def test_hosts_list_carries_the_metrics_ip(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    mcp, _ = build_server(Settings(inventory=tmp_path / "inventory.yaml"))
    async with create_connected_server_and_client_session(mcp._mcp_server) as session:
        tools = await McpTools.load(session)
        listed = await tools.call("hosts_list", {})
    assert {h["name"]: (h["address"], h["metrics_ip"]) for h in listed["hosts"]} == {
        "web-01": ("10.0.0.11", "192.168.1.11"),  # the store's IP, not the SSH address
        "web-02": ("10.0.0.12", "10.0.0.12"),  # an IP address is its own metrics IP
        "db-01": ("db-01.example.internal", None),  # only a host name: the store cannot know it by IP
        "db-02": ("db-02.example.internal", "192.168.1.22"),
    }
