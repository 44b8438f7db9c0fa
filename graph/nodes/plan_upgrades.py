"""plan_upgrades: a memory-upgrade plan for each memory-pressured host, each a purchase request draft.

Purchase request ids are derived from the incident and the host, so a replayed node drafts the same ids. A
follow-up run of the incident (late alerts) keeps a human's final answer (approved or rejected) to the same id
from an earlier run instead of asking again; a draft or a "needs changes" answer is planned and asked anew.
"""

from __future__ import annotations

import hashlib
from typing import Any

from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.mcp_client import ToolCallFailed
from graph.state import IncidentState
from graph.tools_access import get_tools

_FINAL = ("approved", "rejected")


def purchase_request_id(incident_id: str, host: str) -> str:
    """Deterministic id of the purchase request for `host` in this incident."""
    return "PR-" + hashlib.sha1(f"{incident_id}|{host}".encode(), usedforsecurity=False).hexdigest()[:10]


async def plan_upgrades(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """Ask the planner for every host with a memory.used_percent finding; keep add/replace plans as drafts."""
    ctx = runtime.context or IncidentContext()
    outcomes = state.get("host_results") or {}
    in_scope = set(state["scope"]["hosts"])  # not the hosts of an earlier run on this thread
    pressured = sorted(
        h
        for h, o in outcomes.items()
        if h in in_scope and any(f["metric"] == "memory.used_percent" for f in o["findings"])
    )
    tools = await get_tools()
    incident_id = state["scope"]["incident_id"]
    decided = {p["id"]: p for p in state.get("purchase_requests") or [] if p["status"] in _FINAL}
    drafts: list[dict[str, Any]] = []
    errors: list[str] = []
    for host in pressured:
        earlier = decided.get(purchase_request_id(incident_id, host))
        if earlier is not None:
            drafts.append(earlier)
            continue
        try:
            result = await tools.call(
                "hardware_plan_upgrade", {"host": host, "target_used_percent": ctx.target_used_percent}
            )
        except ToolCallFailed as exc:
            errors.append(f"upgrade plan for {host}: {exc}")
            continue
        plan = result.get("plan")
        if plan is None or plan["action"] not in ("add", "replace"):
            continue
        drafts.append(
            {
                "id": purchase_request_id(incident_id, host),
                "host": host,
                "memory_used_percent": result.get("memory_used_percent"),
                "plan": plan,
                "status": "draft",
            }
        )
    return {"purchase_requests": drafts, "errors": errors}
