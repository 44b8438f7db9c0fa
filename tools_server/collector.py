"""The collector: samples CPU, memory and disk of inventory hosts over SSH into the reference metrics table.

It replaces the reference's dependence on an external monitoring API. One batch per host (meminfo, df,
two /proc/stat readings one second apart, load and CPU count); statuses come from the store's thresholds.
An unreachable host still gets a row: values NULL and every status 丢失, so "no data" is itself data.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo

from pydantic import BaseModel

from tools_server.catalog import CommandName, SectionResult, command
from tools_server.inventory import Host
from tools_server.metrics.models import STATUS_ABNORMAL, STATUS_LOST, STATUS_NORMAL, HostSample
from tools_server.metrics.protocol import MetricThresholds
from tools_server.parsers.df import parse_df
from tools_server.parsers.errors import ParseError
from tools_server.parsers.meminfo import parse_meminfo
from tools_server.parsers.procstat import cpu_usage_percent, parse_proc_stat
from tools_server.parsers.system import parse_loadavg, parse_nproc
from tools_server.rules_disk import is_pseudo_filesystem
from tools_server.rules_memory import used_percent
from tools_server.ssh import SshClient, SshError

_BATCH = [
    command(CommandName.MEMINFO),
    command(CommandName.DF),
    command(CommandName.PROC_STAT, key="stat_before"),
    command(CommandName.SLEEP),
    command(CommandName.PROC_STAT, key="stat_after"),
    command(CommandName.LOADAVG),
    command(CommandName.NPROC),
]


class CollectOutcome(BaseModel):
    """What one collection pass did."""

    samples: list[HostSample]
    written: int
    lost: list[str]
    skipped: list[str]


def _status(value: float | None, limit: float) -> str:
    if value is None:
        return STATUS_LOST
    return STATUS_ABNORMAL if value >= limit else STATUS_NORMAL


def _parsed(results: dict[str, SectionResult], key: str) -> str | None:
    result = results.get(key)
    return result.output if result is not None and result.exit_status == 0 else None


def _values(results: dict[str, SectionResult]) -> tuple[float | None, float | None, float | None, float | None]:
    """CPU %, memory %, worst real filesystem %, and 1-minute load per CPU (None where unreadable)."""
    cpu = memory = disk = load = None
    try:
        before, after = _parsed(results, "stat_before"), _parsed(results, "stat_after")
        if before and after:
            cpu = cpu_usage_percent(parse_proc_stat(before), parse_proc_stat(after))
    except ParseError:
        cpu = None
    try:
        text = _parsed(results, "meminfo")
        memory = used_percent(parse_meminfo(text)) if text else None
    except ParseError:
        memory = None
    try:
        text = _parsed(results, "df")
        real = (
            [
                f.used_percent
                for f in parse_df(text).filesystems
                if f.size_bytes > 0 and not is_pseudo_filesystem(f.filesystem, f.mount)
            ]
            if text
            else []
        )
        disk = max(real) if real else None
    except ParseError:
        disk = None
    try:
        la, n = _parsed(results, "loadavg"), _parsed(results, "nproc")
        load = parse_loadavg(la).load1 / max(1, parse_nproc(n).cpus) if la and n else None
    except ParseError:
        load = None
    return cpu, memory, disk, load


async def sample_host(
    ssh: SshClient, host: Host, ip: str, now: datetime, th: MetricThresholds, load_per_cpu_limit: float
) -> HostSample:
    """One metrics row for `host`; unreachable or unreadable values become 丢失."""
    try:
        async with ssh.connection(host) as conn:
            results = await ssh.run_batch(conn, _BATCH)
    except SshError:
        lost = STATUS_LOST
        return HostSample(
            ip=ip,
            collect_time=now.isoformat(),
            cpu_status=lost,
            memory_status=lost,
            disk_status=lost,
            network_status=lost,
            packet_loss_status=lost,
            user_load_status=lost,
        )
    cpu, memory, disk, load = _values(results)
    return HostSample(
        ip=ip,
        collect_time=now.isoformat(),
        cpu_usage=cpu,
        cpu_status=_status(cpu, th.cpu_pct),
        memory_usage=memory,
        memory_status=_status(memory, th.memory_pct),
        disk_usage=disk,
        disk_status=_status(disk, th.disk_pct),
        network_status=STATUS_NORMAL,  # SSH answered: the host is reachable over the network
        packet_loss_status=None,  # not measured by SSH sampling
        user_load_status=_status(load, load_per_cpu_limit),
    )


async def collect(
    ssh: SshClient, hosts: list[Host], tz: tzinfo, th: MetricThresholds, load_per_cpu_limit: float
) -> tuple[list[HostSample], list[str]]:
    """Sample every host concurrently; hosts without an IP cannot be keyed in the store and are skipped."""
    now = datetime.now(tz).replace(microsecond=0)
    keyed = [(h, h.metrics_ip) for h in hosts]
    skipped = [h.name for h, ip in keyed if ip is None]
    samples = await asyncio.gather(
        *(sample_host(ssh, h, ip, now, th, load_per_cpu_limit) for h, ip in keyed if ip is not None)
    )
    return list(samples), skipped
