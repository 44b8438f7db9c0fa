"""The incident graph's shape: a Mermaid snapshot and the node list, so a wiring change is a reviewed diff.

After an intended change, rewrite the snapshot with `OPSWD_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_graph_shape.py`
and commit tests/unit/snapshots/incident_graph.mmd with it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from graph.graph import graph

SNAPSHOT = Path(__file__).parent / "snapshots" / "incident_graph.mmd"
NODES = [
    "triage",
    "query_metrics",
    "inspect_host",
    "aggregate",
    "lookup_runbooks",
    "plan_upgrades",
    "write_report",
    "request_approval",
    "notify",
]


def test_mermaid_matches_the_snapshot() -> None:
    drawn = graph.get_graph().draw_mermaid()
    if os.environ.get("OPSWD_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn)
    expected = SNAPSHOT.read_text() if SNAPSHOT.is_file() else ""
    if drawn != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), drawn.splitlines(keepends=True), str(SNAPSHOT), "draw_mermaid()"
            )
        )
        msg = (
            f"the incident graph's shape changed:\n{diff}\nif intended, update the snapshot with "
            "OPSWD_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_graph_shape.py"
        )
        raise AssertionError(msg)


def test_node_names() -> None:
    assert [n for n in graph.get_graph().nodes if not n.startswith("__")] == NODES
    assert list(graph.nodes) == ["__start__", *NODES]


def test_edges() -> None:
    edges = {(e.source, e.target, e.conditional) for e in graph.get_graph().edges}
    assert ("query_metrics", "inspect_host", True) in edges, "the per-host fan-out (Send) is gone"
    assert ("write_report", "request_approval", True) in edges and ("write_report", "notify", True) in edges
    assert ("request_approval", "notify", False) in edges and ("notify", "__end__", False) in edges
