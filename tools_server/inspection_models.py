"""Parsed facts of one inspection, per section (what a tool returns besides its findings)."""

from __future__ import annotations

from pydantic import BaseModel

from tools_server.parsers.df import DiskUsage, InodeUsage
from tools_server.parsers.dmidecode import DmiInfo
from tools_server.parsers.lsblk import BlockDevices
from tools_server.parsers.meminfo import MemoryInfo
from tools_server.parsers.procs import Process
from tools_server.parsers.smartctl import SmartReport
from tools_server.parsers.system import CpuCount, LoadAvg, UptimeInfo


class MemorySection(BaseModel):
    """Memory facts: usage, the DIMM layout and board, and the biggest processes."""

    meminfo: MemoryInfo | None = None
    dmi: DmiInfo | None = None
    top_processes: list[Process] = []


class SmartDisk(BaseModel):
    """SMART data of one device (report None when it could not be read)."""

    device: str
    report: SmartReport | None = None


class DiskSection(BaseModel):
    """Disk facts: filesystem space and inodes, block devices and their SMART data."""

    filesystems: DiskUsage | None = None
    inodes: InodeUsage | None = None
    block_devices: BlockDevices | None = None
    smart: list[SmartDisk] = []


class SystemSection(BaseModel):
    """System facts: uptime, load and CPU count."""

    uptime: UptimeInfo | None = None
    loadavg: LoadAvg | None = None
    cpus: CpuCount | None = None
