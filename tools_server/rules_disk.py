"""Deterministic disk findings: filesystem space and inodes, SMART health, sectors and NVMe wear."""

from __future__ import annotations

from tools_server.findings import Finding, Severity, make_finding
from tools_server.parsers.df import DiskUsage, InodeUsage
from tools_server.parsers.smartctl import SmartReport
from tools_server.settings import Thresholds

GIB = 1024**3
# Pseudo and read-only image filesystems are always "full" or irrelevant to capacity planning.
_PSEUDO_FS = ("tmpfs", "devtmpfs", "udev", "overlay", "shm", "none", "squashfs", "cgroup", "proc", "sysfs")
_PSEUDO_MOUNT_PREFIXES = ("/dev", "/proc", "/sys", "/run", "/snap/")


def is_pseudo_filesystem(filesystem: str, mount: str) -> bool:
    """True for tmpfs, overlay, snap loops and mounts under /dev, /proc, /sys, /run: not capacity to plan."""
    if filesystem in _PSEUDO_FS or filesystem.startswith("/dev/loop"):
        return True
    return any(
        mount == p or mount.startswith(p + "/") or (mount.startswith(p) and p.endswith("/"))
        for p in _PSEUDO_MOUNT_PREFIXES
    )


def _level(value: float, warn: float, crit: float) -> tuple[Severity, float] | None:
    if value >= crit:
        return "critical", crit
    if value >= warn:
        return "warning", warn
    return None


def space_findings(host: str, usage: DiskUsage, th: Thresholds, source: str) -> list[Finding]:
    """A finding per real filesystem whose used space crosses the warning or critical threshold."""
    out: list[Finding] = []
    for fs in usage.filesystems:
        if fs.size_bytes <= 0 or is_pseudo_filesystem(fs.filesystem, fs.mount):
            continue
        level = _level(fs.used_percent, th.disk_warning_pct, th.disk_critical_pct)
        if level is None:
            continue
        severity, threshold = level
        out.append(
            make_finding(
                host,
                "disk",
                severity,
                "disk.used_percent",
                f"filesystem {fs.mount} {fs.used_percent:.0f}% full",
                source,
                value=fs.used_percent,
                threshold=threshold,
                subject=fs.mount,
                evidence=f"{fs.filesystem} on {fs.mount}: {fs.used_bytes / GIB:.1f} GiB used, "
                f"{fs.avail_bytes / GIB:.1f} GiB free of {fs.size_bytes / GIB:.1f} GiB",
            )
        )
    return out


def inode_findings(host: str, usage: InodeUsage, th: Thresholds, source: str) -> list[Finding]:
    """A finding per filesystem whose inode use crosses the thresholds (a disk can be 'full' with free space)."""
    out: list[Finding] = []
    for fs in usage.filesystems:
        if fs.iused_percent is None or not fs.inodes or is_pseudo_filesystem(fs.filesystem, fs.mount):
            continue
        level = _level(fs.iused_percent, th.inode_warning_pct, th.inode_critical_pct)
        if level is None:
            continue
        severity, threshold = level
        out.append(
            make_finding(
                host,
                "disk",
                severity,
                "disk.inodes_used_percent",
                f"filesystem {fs.mount} has {fs.iused_percent:.0f}% of its inodes in use",
                source,
                value=fs.iused_percent,
                threshold=threshold,
                subject=fs.mount,
                evidence=f"{fs.filesystem} on {fs.mount}: {fs.iused} of {fs.inodes} inodes used, {fs.ifree} free",
            )
        )
    return out


def smart_findings(host: str, device: str, report: SmartReport, th: Thresholds, source: str) -> list[Finding]:
    """Findings from one disk's SMART data: overall health, sectors, NVMe warning bits and wear."""
    out: list[Finding] = []
    ident = f"{device} {report.model or 'unknown model'} ({report.protocol})"
    if report.health_passed is False:
        failing = ", ".join(report.failing_attributes) or "none named"
        out.append(
            make_finding(
                host,
                "smart",
                "critical",
                "smart.health",
                f"{device} SMART overall-health FAILED: replace the disk",
                source,
                value="FAILED",
                subject=device,
                evidence=f"{ident}: overall-health self-assessment FAILED; failing attributes: {failing}",
            )
        )
    for metric, count, label in (
        ("smart.reallocated_sectors", report.reallocated_sectors, "reallocated"),
        ("smart.pending_sectors", report.pending_sectors, "pending"),
    ):
        if count:
            out.append(
                make_finding(
                    host,
                    "smart",
                    "warning",
                    metric,
                    f"{device} has {count} {label} sectors",
                    source,
                    value=count,
                    threshold=0,
                    subject=device,
                    evidence=f"{ident}: {label} sector count {count} (health {_health_word(report)})",
                )
            )
    if report.nvme_critical_warning:
        bits = _critical_warning_bits(report.nvme_critical_warning)
        out.append(
            make_finding(
                host,
                "smart",
                "critical",
                "smart.nvme_critical_warning",
                f"{device} NVMe critical warning 0x{report.nvme_critical_warning:02x}: {bits}",
                source,
                value=report.nvme_critical_warning,
                threshold=0,
                subject=device,
                evidence=f"{ident}: critical_warning=0x{report.nvme_critical_warning:02x} ({bits})",
            )
        )
    if report.percentage_used is not None and report.percentage_used >= th.nvme_wear_warning_pct:
        out.append(
            make_finding(
                host,
                "smart",
                "warning",
                "smart.percentage_used",
                f"{device} NVMe wear {report.percentage_used}% of rated endurance used",
                source,
                value=report.percentage_used,
                threshold=th.nvme_wear_warning_pct,
                subject=device,
                evidence=f"{ident}: percentage_used={report.percentage_used}%"
                + (f", power-on hours {report.power_on_hours}" if report.power_on_hours is not None else ""),
            )
        )
    return out


def _health_word(report: SmartReport) -> str:
    if report.health_passed is None:
        return "unknown"
    return "PASSED" if report.health_passed else "FAILED"


_CW_BITS = {
    0x01: "available spare below threshold",
    0x02: "temperature out of range",
    0x04: "NVM subsystem reliability degraded",
    0x08: "media placed in read-only mode",
    0x10: "volatile memory backup failed",
    0x20: "persistent memory region read-only",
}


def _critical_warning_bits(value: int) -> str:
    names = [name for bit, name in _CW_BITS.items() if value & bit]
    return ", ".join(names) or "unknown bit"
