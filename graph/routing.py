"""Pure routers of the incident graph."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Send

from graph.state import IncidentState, InspectTask


def route_after_query_metrics(state: IncidentState) -> list[Send] | Literal["aggregate"]:
    """One `inspect_host` task per host in scope, or straight to aggregate when there is none."""
    scope = state["scope"]
    if not scope["hosts"]:
        return "aggregate"
    return [Send("inspect_host", InspectTask(host=h, checks=scope["checks"])) for h in scope["hosts"]]


def route_after_write_report(state: IncidentState) -> Literal["request_approval", "notify"]:
    """Ask a human when a purchase request waits for approval."""
    drafts = [p for p in state.get("purchase_requests") or [] if p["status"] == "draft"]
    return "request_approval" if drafts else "notify"
