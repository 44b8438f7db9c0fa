"""local_server_status: this machine's CPU, memory, swap and disks through psutil, judged by the same rules."""

from __future__ import annotations

import socket
import time

import psutil
from pydantic import BaseModel

from tools_server.findings import Finding, rank
from tools_server.parsers.df import DiskUsage, FilesystemUsage
from tools_server.parsers.meminfo import MemoryInfo
from tools_server.rules_disk import space_findings
from tools_server.rules_memory import memory_findings
from tools_server.settings import Thresholds


class LocalStatus(BaseModel):
    """A snapshot of the machine the tools server runs on."""

    hostname: str
    cpu_count: int
    cpu_percent: float
    load1: float
    load5: float
    load15: float
    uptime_seconds: int
    memory: MemoryInfo
    disks: DiskUsage
    findings: list[Finding]


def local_server_status(th: Thresholds) -> LocalStatus:
    """Measure this machine now (CPU over 0.2 s) and apply the memory and disk rules."""
    name = socket.gethostname()
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    memory = MemoryInfo(
        total_bytes=vm.total,
        available_bytes=vm.available,
        available_estimated=False,
        free_bytes=vm.free,
        buffers_bytes=getattr(vm, "buffers", None),
        cached_bytes=getattr(vm, "cached", None),
        swap_total_bytes=sw.total,
        swap_used_bytes=sw.used,
        swap_free_bytes=sw.free,
        hugepages_total=None,
        source="meminfo",
    )
    filesystems = []
    for part in psutil.disk_partitions(all=False):
        try:
            use = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue  # a mount that vanished or denies stat: nothing to report about its space
        filesystems.append(
            FilesystemUsage(
                filesystem=part.device,
                mount=part.mountpoint,
                size_bytes=use.total,
                used_bytes=use.used,
                avail_bytes=use.free,
                used_percent=use.percent,
            )
        )
    disks = DiskUsage(filesystems=filesystems)
    findings = memory_findings(name, memory, None, th, "psutil") + space_findings(name, disks, th, "psutil")
    load1, load5, load15 = psutil.getloadavg()
    return LocalStatus(
        hostname=name,
        cpu_count=psutil.cpu_count() or 1,
        cpu_percent=psutil.cpu_percent(interval=0.2),
        load1=load1,
        load5=load5,
        load15=load15,
        uptime_seconds=int(time.time() - psutil.boot_time()),
        memory=memory,
        disks=disks,
        findings=rank(findings),
    )
