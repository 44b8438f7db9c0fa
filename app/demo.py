"""`make demo`: a simulated fleet inspected through the real MCP server over stdio, as a findings table."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_mcp_adapters.sessions import StdioConnection
from simfleet.server import start_fleet

from app.fault_expectations import attribution
from app.findings_table import render_findings
from graph.mcp_client import McpTools, open_tools


def tools_server_connection(inventory: Path, known_hosts: Path, **extra_env: str) -> StdioConnection:
    """How to start the MCP tools server as a stdio subprocess for this fleet."""
    env = {
        "OPSWD_INVENTORY": str(inventory),
        "OPSWD_SSH__KNOWN_HOSTS": str(known_hosts),
        "OPSWD_SSH__CONNECT_TIMEOUT_S": "3",
        "OPSWD_SSH__COMMAND_TIMEOUT_S": "15",
        "PYTHONPATH": os.pathsep.join(sys.path),
        **extra_env,
    }
    return StdioConnection(
        transport="stdio",
        command=sys.executable,
        args=["-m", "app", "tools", "serve", "--transport", "stdio"],
        env=env,
    )


async def inspect_all(tools: McpTools, hosts: list[str]) -> list[dict[str, Any]]:
    """Call ssh_inspect_host for every host concurrently (the server bounds the SSH concurrency)."""
    return list(await asyncio.gather(*(tools.call("ssh_inspect_host", {"host": h}) for h in hosts)))


async def run_demo(hosts: int, scenario: str, out: Path | None) -> int:
    """Run the demo; exit status 0 when every injected fault was found on its host."""
    with tempfile.TemporaryDirectory(prefix="opswd-demo-") as tmp:
        out_dir = out or Path(tmp)
        async with start_fleet(scenario, out_dir, hosts=hosts) as fleet:
            print(f"simulated fleet: {len(fleet.hosts)} hosts on 127.0.0.1 (scenario {scenario})", flush=True)
            conn = tools_server_connection(out_dir / "inventory.yaml", out_dir / "known_hosts")
            started = time.perf_counter()
            async with open_tools(conn) as tools:
                listed = await tools.call("hosts_list", {})
                reports = await inspect_all(tools, [h["name"] for h in listed["hosts"]])
            elapsed = time.perf_counter() - started
        faults: dict[str, list[str]] = json.loads((out_dir / "faults.json").read_text())
    print(render_findings(reports))
    by_host = {r["host"]: r["findings"] for r in reports}
    result = attribution(faults, by_host)
    total = len(result["found"]) + len(result["missed"])
    print(f"\ninspected {len(reports)} hosts through the MCP server in {elapsed:.1f} s")
    print(f"injected faults found on the right host: {len(result['found'])}/{total}")
    for host, kind in result["missed"]:
        print(f"  MISSED: {kind} on {host}")
    for host, metric in result["unexpected_critical"]:
        print(f"  UNEXPECTED critical finding {metric} on {host}")
    return 0 if not result["missed"] and not result["unexpected_critical"] else 1
