"""The incident graph: wiring only. Compiled without a checkpointer; the server or the CLI supplies one."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graph.context import IncidentContext
from graph.nodes.aggregate import aggregate
from graph.nodes.inspect_host import inspect_host
from graph.nodes.lookup_runbooks import lookup_runbooks
from graph.nodes.notify import notify
from graph.nodes.plan_upgrades import plan_upgrades
from graph.nodes.query_metrics import query_metrics
from graph.nodes.request_approval import request_approval
from graph.nodes.triage import triage
from graph.nodes.write_report import write_report
from graph.routing import route_after_query_metrics, route_after_write_report
from graph.state import IncidentState


def build_graph() -> StateGraph[IncidentState, IncidentContext]:
    """The uncompiled incident graph."""
    g: StateGraph[IncidentState, IncidentContext] = StateGraph(IncidentState, context_schema=IncidentContext)
    g.add_node("triage", triage)
    g.add_node("query_metrics", query_metrics)
    g.add_node("inspect_host", inspect_host)  # type: ignore[arg-type]  # receives its Send payload
    g.add_node("aggregate", aggregate)
    g.add_node("lookup_runbooks", lookup_runbooks)
    g.add_node("plan_upgrades", plan_upgrades)
    g.add_node("write_report", write_report)
    g.add_node("request_approval", request_approval)
    g.add_node("notify", notify)
    g.add_edge(START, "triage")
    g.add_edge("triage", "query_metrics")
    g.add_conditional_edges("query_metrics", route_after_query_metrics, ["inspect_host", "aggregate"])
    g.add_edge("inspect_host", "aggregate")
    g.add_edge("aggregate", "lookup_runbooks")
    g.add_edge("lookup_runbooks", "plan_upgrades")
    g.add_edge("plan_upgrades", "write_report")
    g.add_conditional_edges("write_report", route_after_write_report, ["request_approval", "notify"])
    g.add_edge("request_approval", "notify")
    g.add_edge("notify", END)
    return g


graph = build_graph().compile(name="incident")
