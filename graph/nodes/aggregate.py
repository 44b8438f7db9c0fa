"""aggregate: deduplicate and rank all hosts' findings into a bounded digest for the report."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.digest import build_digest
from graph.state import IncidentState


async def aggregate(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """Build the digest from the per-host outcomes."""
    ctx = runtime.context or IncidentContext()
    # Triage clears host_results at the start of each run; the scope filter still keeps a thread checkpointed
    # before that (when results merged across runs) from reporting an earlier run's hosts.
    in_scope = set(state["scope"]["hosts"])
    outcomes: dict[str, Any] = {h: o for h, o in (state.get("host_results") or {}).items() if h in in_scope}
    digest = build_digest(outcomes, max_groups=ctx.digest_groups, hosts_per_group=ctx.digest_hosts_per_group)
    return {"digest": digest}
