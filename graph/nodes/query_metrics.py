"""query_metrics: hosts over threshold in the window and environment anomalies, through the MCP metrics tools.

A scheduled inspection narrows its hosts to the ones the store reports abnormal; an alert keeps its hosts and
adds what the store says about them. Store rows carry an IP: each gets the name of the inventory host whose
metrics IP, address or name it is (`host`, None when none matches). A store that cannot be read is an error in
the report, not a failed run.
"""

from __future__ import annotations

from typing import Any

from graph.host_match import host_index
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
    store_read = False
    try:
        result = await tools.call("metrics_abnormal_hosts", {"since": scope["window"], "limit": 500})
        abnormal, store_read = result["hosts"], True
    except ToolCallFailed as exc:
        errors.append(f"metrics store: {exc}")
    if "environment" in scope["checks"]:
        try:
            environment = (await tools.call("metrics_environment", {"since": scope["window"]}))["readings"]
        except ToolCallFailed as exc:
            errors.append(f"environment readings: {exc}")
    if abnormal:
        # The store keys hosts by IP (the metrics IP, which may differ from the SSH address): name them.
        index = host_index((await tools.call("hosts_list", {}))["hosts"])
        for entry in abnormal:
            entry["host"] = index.get(entry["ip"])
    update: dict[str, Any] = {"abnormal_hosts": abnormal, "environment": environment[-20:], "errors": errors}
    # A store that could not be read narrows nothing: the schedule then inspects every host it selected.
    if state["request"].get("kind") == "schedule" and store_read:
        flagged = {a["host"] for a in abnormal if a["host"]}
        hosts = [h for h in scope["hosts"] if h in flagged]
        update["scope"] = {
            **scope,
            "hosts": hosts,
            "reason": scope["reason"] + f"; {len(hosts)} over threshold in the metrics store",
        }
    return update
