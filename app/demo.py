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

from app.fault_expectations import attribution
from app.findings_table import render_abnormal, render_findings, render_plans
from app.metrics_cmd import seed_store
from graph.mcp_client import McpTools, open_tools
from simfleet.server import start_fleet


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


async def plans_for_pressured_hosts(tools: McpTools, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """hardware_plan_upgrade for every host with a memory.used_percent finding."""
    pressured = [r["host"] for r in reports if any(f["metric"] == "memory.used_percent" for f in r["findings"])]
    return list(await asyncio.gather(*(tools.call("hardware_plan_upgrade", {"host": h}) for h in pressured)))


async def run_demo(hosts: int, scenario: str, out: Path | None) -> int:
    """Run the demo; exit status 0 when every injected fault was found on its host."""
    with tempfile.TemporaryDirectory(prefix="opswd-demo-") as tmp:
        out_dir = (out or Path(tmp)).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        store = f"sqlite:///{out_dir / 'metrics.db'}"
        async with start_fleet(scenario, out_dir, hosts=hosts) as fleet:
            first, last = fleet.hosts[0].address, fleet.hosts[-1].address
            print(f"simulated fleet: {len(fleet.hosts)} hosts on {first}..{last} (scenario {scenario})", flush=True)
            seeded = await seed_store(store=store, scenario=scenario, hosts=hosts, days=2, interval_minutes=10)
            print(f"metrics store: {seeded['samples']} samples of 2 days seeded into {store}", flush=True)
            conn = tools_server_connection(
                out_dir / "inventory.yaml", out_dir / "known_hosts", OPSWD_METRICS__URL=store
            )
            started = time.perf_counter()
            async with open_tools(conn) as tools:
                listed = await tools.call("hosts_list", {})
                names = {h["address"]: h["name"] for h in listed["hosts"]}
                abnormal = await tools.call("metrics_abnormal_hosts", {"since": "1h"})
                reports = await inspect_all(tools, [h["name"] for h in listed["hosts"]])
                plans = await plans_for_pressured_hosts(tools, reports)
            elapsed = time.perf_counter() - started
        faults: dict[str, list[str]] = json.loads((out_dir / "faults.json").read_text())
    print("\nhosts over threshold in the metrics store (latest sample of the last hour):")
    print(render_abnormal(abnormal["hosts"], names))
    print("\nfindings of the SSH inspection:")
    print(render_findings(reports))
    print("\nmemory upgrade plans for memory-pressured hosts:")
    print(render_plans(plans))
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
