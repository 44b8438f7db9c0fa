"""Deterministic system findings: load relative to the CPU count."""

from __future__ import annotations

from tools_server.findings import Finding, make_finding
from tools_server.parsers.system import CpuCount, LoadAvg
from tools_server.settings import Thresholds


def load_findings(host: str, load: LoadAvg, cpus: CpuCount, th: Thresholds, source: str) -> list[Finding]:
    """A warning when the 1-minute load per CPU exceeds the threshold."""
    if cpus.cpus <= 0:
        return []
    per_cpu = round(load.load1 / cpus.cpus, 2)
    if per_cpu < th.load_per_cpu_warning:
        return []
    return [
        make_finding(
            host,
            "cpu",
            "warning",
            "cpu.load_per_cpu",
            f"load {load.load1:.2f} on {cpus.cpus} CPUs ({per_cpu:.2f} per CPU)",
            source,
            value=per_cpu,
            threshold=th.load_per_cpu_warning,
            evidence=f"loadavg {load.load1:.2f} {load.load5:.2f} {load.load15:.2f}, {cpus.cpus} CPUs",
        )
    ]
