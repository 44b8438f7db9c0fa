"""query_metrics: hosts over threshold in the window and environment anomalies, through the MCP metrics tools.

A scheduled inspection narrows its hosts to the ones the store reports abnormal; an alert keeps its hosts and
adds what the store says about them. A store that cannot be read is an error in the report, not a failed run.
"""

from __future__ import annotations

from typing import Any

from graph.mcp_client import ToolCallFailed
from graph.state import IncidentState
from graph.tools_access import get_tools


async def query_metrics(state: IncidentState) -> dict[str, Any]:
    """Read the metrics store for the scope's window."""
    scope = state["scope"]
    tools = await get_tools()
    errors: list[str] = []
    abnormal: list[dict[str, Any]] = []
    environment: list[dict[str, Any]] = []
    try:
        result = await tools.call("metrics_abnormal_hosts", {"since": scope["window"], "limit": 500})
        abnormal = result["hosts"]
    except ToolCallFailed as exc:
        errors.append(f"metrics store: {exc}")
    if "environment" in scope["checks"]:
        try:
            environment = (await tools.call("metrics_environment", {"since": scope["window"]}))["readings"]
        except ToolCallFailed as exc:
            errors.append(f"environment readings: {exc}")
    update: dict[str, Any] = {"abnormal_hosts": abnormal, "environment": environment[-20:], "errors": errors}
    if state["request"].get("kind") == "schedule" and not errors:
        listed = await tools.call("hosts_list", {})
        by_ip = {h["address"]: h["name"] for h in listed["hosts"]}
        flagged = {by_ip[a["ip"]] for a in abnormal if a["ip"] in by_ip}
        hosts = [h for h in scope["hosts"] if h in flagged]
        update["scope"] = {
            **scope,
            "hosts": hosts,
            "reason": scope["reason"] + f"; {len(hosts)} over threshold in the metrics store",
        }
    return update
