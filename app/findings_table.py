"""Plain-text tables of inspection results for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def render_findings(reports: Sequence[Mapping[str, Any]], width: int = 150) -> str:
    """One row per finding, worst first; healthy hosts are counted, not listed."""
    rows: list[tuple[str, str, str, str, str]] = []
    healthy = 0
    for r in reports:
        if not r["findings"]:
            healthy += 1
        for f in r["findings"]:
            rows.append((f["severity"], r["host"], r["status"], f["component"], f["summary"]))
    rows.sort(key=lambda row: (_SEVERITY_ORDER.get(row[0], 9), row[1], row[3]))
    head = ("SEVERITY", "HOST", "STATUS", "COMPONENT", "FINDING")
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) if rows else len(head[i]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    room = max(20, width - sum(widths) - 8)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths), "-" * 7)]
    lines += [fmt.format(*row[:4], row[4] if len(row[4]) <= room else row[4][: room - 1] + "…") for row in rows]
    lines.append(f"{len(rows)} findings on {len(reports) - healthy} hosts; {healthy} hosts without findings")
    return "\n".join(lines)


def render_abnormal(hosts: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    """One row per abnormal host from the metrics store: IP, host name, usages, what breached."""
    if not hosts:
        return "(none)"

    def pct(value: Any) -> str:
        return "-" if value is None else f"{value:.1f}%"

    lines = [f"{'IP':<13} {'HOST':<9} {'CPU':>6} {'MEM':>6} {'DISK':>6}  WHY"]
    for h in hosts:
        lines.append(
            f"{h['ip']:<13} {names.get(h['ip'], '?'):<9} {pct(h['cpu_usage']):>6} {pct(h['memory_usage']):>6} "
            f"{pct(h['disk_usage']):>6}  {'; '.join(h['breaches'])}"
        )
    return "\n".join(lines)


def render_plans(results: Sequence[Mapping[str, Any]]) -> str:
    """One line per memory upgrade plan (or why there is none)."""
    if not results:
        return "(no memory-pressured host)"
    lines = []
    for r in results:
        plan = r.get("plan")
        if plan is None:
            lines.append(f"{r['host']:<9} no plan: {r['status']}: {r.get('reason')}")
        else:
            lines.append(f"{r['host']:<9} {plan['action']:<13} {plan['summary']}")
    return "\n".join(lines)
