"""lookup_runbooks: the team's runbooks for the top finding groups, through the MCP `knowledge_search` tool."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.mcp_client import ToolCallFailed
from graph.state import IncidentState
from graph.tools_access import get_tools


async def lookup_runbooks(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """One search per top group (its worst finding's summary), best runbook per group, no repeats."""
    ctx = runtime.context or IncidentContext()
    digest = state.get("digest") or {"groups": []}
    tools = await get_tools()
    if "knowledge_search" not in tools.names():
        return {"runbooks": [], "errors": ["knowledge_search is not offered by the tools server: no runbooks"]}
    lang = state["request"].get("lang") or ctx.lang
    found: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for group in digest["groups"][: ctx.runbooks_per_incident]:
        query = group["findings"][0]["summary"] if group["findings"] else group["metric"]
        try:
            hits = (await tools.call("knowledge_search", {"query": query, "k": 3, "lang": lang}))["hits"]
        except ToolCallFailed as exc:
            errors.append(f"runbook search for {group['metric']}: {exc}")
            continue
        for hit in hits[:1]:
            entry = found.setdefault(hit["id"], {**hit, "for_metrics": []})
            entry["for_metrics"].append(group["metric"])
    return {"runbooks": list(found.values()), "errors": errors}
