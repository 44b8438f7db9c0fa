"""Which finding proves that a simulated fault was seen: the ground truth of the demo and the scenario tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Finding = Mapping[str, Any]


def _metric(*metrics: str, value: str | None = None) -> Callable[[Finding], bool]:
    def match(f: Finding) -> bool:
        return f["metric"] in metrics and (value is None or f.get("value") == value)

    return match


EXPECTED: dict[str, Callable[[Finding], bool]] = {
    "memory_pressure": _metric("memory.used_percent"),
    "swap_use": _metric("memory.swap_used_percent"),
    "disk_full": _metric("disk.used_percent"),
    "inodes_exhausted": _metric("disk.inodes_used_percent"),
    "smart_failed": _metric("smart.health"),
    "smart_sectors": _metric("smart.reallocated_sectors", "smart.pending_sectors"),
    "nvme_critical_warning": _metric("smart.nvme_critical_warning"),
    "nvme_wearout": _metric("smart.percentage_used"),
    "dmidecode_denied": _metric("memory.inspectable"),
    "smartctl_missing": _metric("smart.inspectable"),
    "unreachable": _metric("host.reachable", value="unreachable"),
    "wrong_credentials": _metric("host.reachable", value="auth_failed"),
    "host_key_changed": _metric("host.reachable", value="host_key_rejected"),
    "slow": _metric("host.slow_response"),
}


# Findings a fault legitimately causes besides its proof: a swapping host is also short of memory.
ALSO_EXPLAINS: dict[str, set[str]] = {
    "swap_use": {"memory.used_percent"},
    "memory_pressure": {"memory.swap_used_percent"},
    "smart_failed": {"smart.reallocated_sectors", "smart.pending_sectors"},
    # smartctl reports an NVMe's overall health FAILED whenever a critical-warning bit is set.
    "nvme_critical_warning": {"smart.health"},
}


def _explained(kinds: list[str], f: Finding) -> bool:
    return any(EXPECTED[k](f) or f["metric"] in ALSO_EXPLAINS.get(k, set()) for k in kinds)


def attribution(faults: Mapping[str, list[str]], findings_by_host: Mapping[str, list[Finding]]) -> dict[str, Any]:
    """Compare injected faults with findings: which were found on their host, missed, or reported elsewhere."""
    found: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for host, kinds in sorted(faults.items()):
        for kind in kinds:
            ok = any(EXPECTED[kind](f) for f in findings_by_host.get(host, []))
            (found if ok else missed).append((host, kind))
    unexpected: list[tuple[str, str]] = []
    for host, findings in sorted(findings_by_host.items()):
        kinds = faults.get(host, [])
        for f in findings:
            if f["severity"] == "critical" and not _explained(kinds, f):
                unexpected.append((host, f["metric"]))
    return {"found": found, "missed": missed, "unexpected_critical": unexpected}
