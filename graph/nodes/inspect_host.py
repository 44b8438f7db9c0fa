"""inspect_host: one Send per host — inspection through the MCP `ssh_inspect_host` tool, reduced to findings.

The whole per-host chain (inspect -> findings) is this one node, so a dead host's timeout never holds back
the analysis of the others at a superstep barrier. Nothing here raises for a host problem: an unreachable or
uninspectable host is an outcome with findings.
"""

from __future__ import annotations

from typing import Any

from graph.mcp_client import ToolCallFailed
from graph.state import HostOutcome, InspectTask
from graph.tools_access import get_tools

_SECTIONS = {"memory": "memory", "disk": "disk", "system": "system"}


def _used_percent(report: dict[str, Any]) -> float | None:
    meminfo = (report.get("memory") or {}).get("meminfo") or {}
    total, available = meminfo.get("total_bytes"), meminfo.get("available_bytes")
    if not total or available is None:
        return None
    return round(100.0 * (float(total) - float(available)) / float(total), 1)


async def inspect_host(task: InspectTask) -> dict[str, Any]:  # the Send payload, not the graph state
    """Inspect one host and return its outcome keyed by host name."""
    host = task["host"]
    sections = sorted({_SECTIONS[c] for c in task["checks"] if c in _SECTIONS}) or ["system"]
    tools = await get_tools()
    try:
        report = await tools.call("ssh_inspect_host", {"host": host, "sections": sections})
    except ToolCallFailed as exc:
        outcome: HostOutcome = {
            "host": host,
            "status": "error",
            "reason": str(exc),
            "findings": [],
            "memory_used_percent": None,
            "duration_ms": 0,
        }
        # Not a host problem but a failed call (unknown host, invalid output): the run's errors say so too.
        return {"host_results": {host: outcome}, "errors": [f"inspect_host {host}: {exc}"[:500]]}
    outcome = {
        "host": host,
        "status": report["status"],
        "reason": report.get("reason"),
        "findings": report["findings"],
        "memory_used_percent": _used_percent(report),
        "duration_ms": report.get("duration_ms", 0),
    }
    return {"host_results": {host: outcome}}
