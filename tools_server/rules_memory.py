"""Deterministic memory findings: used memory (MemTotal - MemAvailable), swap in use, guilty processes."""

from __future__ import annotations

from tools_server.findings import Finding, make_finding
from tools_server.parsers.meminfo import MemoryInfo
from tools_server.parsers.procs import ProcessTable
from tools_server.settings import Thresholds

GIB = 1024**3


def used_percent(mem: MemoryInfo) -> float | None:
    """Percent of MemTotal not available (None when the total is unknown or zero)."""
    if not mem.total_bytes or mem.available_bytes is None:
        return None
    return round(100.0 * (mem.total_bytes - mem.available_bytes) / mem.total_bytes, 1)


def top_processes_text(procs: ProcessTable | None, n: int) -> str:
    """Name the top `n` processes by RSS, e.g. 'java (pid 812, user app) 41.2 GiB RSS'."""
    if procs is None:
        return ""
    parts = [
        f"{p.comm} (pid {p.pid}, user {p.user}) {p.rss_bytes / GIB:.1f} GiB RSS, {p.cpu_percent:.0f}% CPU"
        for p in procs.top_by_rss(n)
    ]
    return "top processes by RSS: " + "; ".join(parts) if parts else ""


def memory_findings(
    host: str, mem: MemoryInfo, procs: ProcessTable | None, th: Thresholds, source: str
) -> list[Finding]:
    """Findings for memory pressure and swap use, with the top processes as evidence."""
    out: list[Finding] = []
    pct = used_percent(mem)
    top = top_processes_text(procs, th.top_processes)
    avail = mem.available_bytes or 0
    numbers = (
        f"MemTotal {mem.total_bytes / GIB:.1f} GiB, MemAvailable {avail / GIB:.1f} GiB"
        + (" (estimated: kernel has no MemAvailable)" if mem.available_estimated else "")
        + f", swap used {mem.swap_used_bytes / GIB:.1f} of {mem.swap_total_bytes / GIB:.1f} GiB"
    )
    if pct is not None and pct >= th.memory_warning_pct:
        critical = pct >= th.memory_critical_pct
        out.append(
            make_finding(
                host,
                "memory",
                "critical" if critical else "warning",
                "memory.used_percent",
                f"memory {pct:.1f}% used (MemTotal - MemAvailable)",
                source,
                value=pct,
                threshold=th.memory_critical_pct if critical else th.memory_warning_pct,
                evidence="; ".join(x for x in (numbers, top) if x),
            )
        )
    if mem.swap_total_bytes and mem.swap_used_bytes:
        swap_pct = round(100.0 * mem.swap_used_bytes / mem.swap_total_bytes, 1)
        low_memory = pct is not None and pct >= th.memory_warning_pct
        if swap_pct >= th.swap_used_pct and low_memory:
            out.append(
                make_finding(
                    host,
                    "memory",
                    "warning",
                    "memory.swap_used_percent",
                    f"swap {swap_pct:.1f}% in use while memory is {pct:.1f}% used: the host is swapping",
                    source,
                    value=swap_pct,
                    threshold=th.swap_used_pct,
                    evidence="; ".join(x for x in (numbers, top) if x),
                )
            )
    return out
