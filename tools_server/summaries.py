"""One-line text summaries of tool results (the MCP text content next to the structured JSON)."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from tools_server.inspection import HostReport
from tools_server.local_status import LocalStatus
from tools_server.logs import LogsTailResult
from tools_server.tools import HostsListResult, ParseOutputResult
from tools_server.tools_fleet import CollectResult, PlanUpgradeResult, ServicesCheckResult


def summarise(result: BaseModel) -> str:
    """A short human summary of any tool result."""
    if isinstance(result, HostReport):
        counts = Counter(f.severity for f in result.findings)
        head = f"{result.host}: {result.status}" + (f" ({result.reason})" if result.reason else "")
        head += f"; {len(result.findings)} findings ({counts['critical']} critical, {counts['warning']} warning)"
        worst = [f.summary for f in result.findings[:3]]
        return head + ("".join(f"\n- {s}" for s in worst) if worst else "")
    if isinstance(result, HostsListResult):
        return (
            f"{result.count} hosts: "
            + ", ".join(h.name for h in result.hosts[:20])
            + (" ..." if result.count > 20 else "")
        )
    if isinstance(result, ParseOutputResult):
        return f"parsed {result.kind}" if result.ok else f"could not parse {result.kind}: {result.error}"
    if isinstance(result, LogsTailResult):
        if result.status not in ("ok", "no_data"):
            return f"{result.host}:{result.path}: {result.status}: {result.reason}"
        return f"{result.host}:{result.path}: {len(result.lines)} of {result.lines_read} lines kept"
    if isinstance(result, LocalStatus):
        return (
            f"{result.hostname}: CPU {result.cpu_percent:.0f}%, load {result.load1:.2f}, "
            f"{len(result.findings)} findings"
        )
    if hasattr(result, "summary") and callable(result.summary):
        return str(result.summary())
    return _fleet_summary(result) or _metrics_summary(result) or type(result).__name__


def _fleet_summary(result: BaseModel) -> str | None:
    if isinstance(result, CollectResult):
        return f"wrote {result.written} metrics rows; {len(result.lost)} hosts lost, {len(result.skipped)} skipped"
    if isinstance(result, ServicesCheckResult):
        return f"batch {result.batch_id}: {len(result.rows)} services checked, {result.down} not up"
    if isinstance(result, PlanUpgradeResult):
        if result.plan is None:
            return f"{result.host}: no plan: {result.status}: {result.reason or '; '.join(result.problems)}"
        verdict = "edited plan valid" if result.problems == [] else f"{len(result.problems)} problems"
        return f"{result.host}: {result.plan.summary}" + ("" if result.problems == [] else f" ({verdict})")
    return None


def _metrics_summary(result: BaseModel) -> str | None:
    count = getattr(result, "count", None)
    if count is None or not hasattr(result, "start"):
        return None
    what = type(result).__name__.removesuffix("Result")
    return f"{what}: {count} between {getattr(result, 'start', '?')} and {getattr(result, 'end', '?')}"
