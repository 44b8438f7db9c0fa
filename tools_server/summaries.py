"""One-line text summaries of tool results (the MCP text content next to the structured JSON)."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from tools_server.inspection import HostReport
from tools_server.local_status import LocalStatus
from tools_server.logs import LogsTailResult
from tools_server.tools import HostsListResult, ParseOutputResult


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
    return type(result).__name__
