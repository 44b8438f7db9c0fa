"""Inspect one host over SSH: one batch of catalog commands, parsed into models, judged into findings.

Every failure becomes data: an unreachable host, a missing tool, a permission problem or output that
does not parse yields a finding and a status, never an exception out of `inspect_host`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

from tools_server.catalog import CatalogCommand, CommandName, SectionResult, command, smartctl
from tools_server.findings import Component, Finding, make_finding, not_inspectable, rank
from tools_server.inspection_models import DiskSection, MemorySection, SmartDisk, SystemSection
from tools_server.inventory import Host
from tools_server.parsers.df import parse_df, parse_df_inodes
from tools_server.parsers.dmidecode import combine_dmi, parse_dmidecode
from tools_server.parsers.errors import ParseError
from tools_server.parsers.lsblk import parse_lsblk
from tools_server.parsers.meminfo import parse_free, parse_meminfo
from tools_server.parsers.procs import ProcessTable, parse_ps
from tools_server.parsers.smartctl import parse_smartctl
from tools_server.parsers.system import parse_loadavg, parse_nproc, parse_uptime
from tools_server.rules_disk import inode_findings, smart_findings, space_findings
from tools_server.rules_memory import memory_findings
from tools_server.rules_system import load_findings
from tools_server.settings import Thresholds
from tools_server.ssh import SshClient, SshError

Status = Literal[
    "ok", "partial", "unreachable", "auth_failed", "host_key_rejected", "timeout", "queued_too_long", "error"
]


class Section(StrEnum):
    """What an inspection looks at."""

    MEMORY = "memory"
    DISK = "disk"
    SYSTEM = "system"


SECTION_COMMANDS: dict[Section, tuple[CommandName, ...]] = {
    Section.MEMORY: (
        CommandName.FREE,
        CommandName.MEMINFO,
        CommandName.DMIDECODE_MEMORY,
        CommandName.DMIDECODE_BOARD,
        CommandName.PS,
    ),
    Section.DISK: (CommandName.DF, CommandName.DF_INODES, CommandName.LSBLK),
    Section.SYSTEM: (CommandName.UPTIME, CommandName.LOADAVG, CommandName.NPROC),
}


class HostReport(BaseModel):
    """The result of inspecting one host: status, parsed facts per section, and findings."""

    host: str
    status: Status
    reason: str | None = None
    sections: list[str]
    memory: MemorySection | None = None
    disk: DiskSection | None = None
    system: SystemSection | None = None
    findings: list[Finding] = []
    duration_ms: int = 0


def _problem(result: SectionResult | None) -> str | None:
    """Why a command gave no usable output, or None when it ran fine (exit status 0)."""
    if result is None:
        return "no output section (the batch was cut short)"
    if result.exit_status == 0:
        return None
    text = result.output.strip()
    first = text.splitlines()[0][:160] if text else ""
    tool = result.key.split("_")[0]
    if result.exit_status == 127:
        return f"{tool} is not installed (exit 127)"
    for line in text.splitlines():
        lowered = line.lower()
        if "permission denied" in lowered or "must be root" in lowered or "password is required" in lowered:
            return f"{tool} needs root: {line.strip()[:160]}"
    if result.exit_status is None:
        return "output cut short"
    return f"exited with status {result.exit_status}: {first}"


class _HostInspection:
    """Parsing and judging state for one host; keeps inspect_host readable."""

    def __init__(self, host: Host, th: Thresholds) -> None:
        self.host = host
        self.th = th
        self.findings: list[Finding] = []
        self.degraded = False

    def parse(
        self,
        results: dict[str, SectionResult],
        key: str,
        parser: Callable[[str], Any],
        component: Component,
        source: str,
    ) -> Any:
        """Parse one section's output; a failure becomes a not-inspectable or parse-error finding."""
        result = results.get(key)
        why = _problem(result)
        if why is not None:
            self.degraded = True
            self.findings.append(not_inspectable(self.host.name, component, f"{source}: {why}", source))
            return None
        assert result is not None
        try:
            return parser(result.output)
        except ParseError as exc:
            self.degraded = True
            self.findings.append(
                make_finding(
                    self.host.name,
                    component,
                    "warning",
                    f"{component}.parse_error",
                    f"output of {source} could not be parsed",
                    source,
                    subject=key,
                    evidence=str(exc)[:300],
                )
            )
            return None

    def check_latency(self, seconds: float) -> None:
        """An info finding when the host took long to answer read-only commands (overload, I/O stalls)."""
        if seconds >= self.th.slow_response_s:
            self.findings.append(
                make_finding(
                    self.host.name,
                    "host",
                    "info",
                    "host.slow_response",
                    f"host answered slowly: {seconds:.1f} s for read-only commands",
                    "ssh exec",
                    value=round(seconds, 2),
                    threshold=self.th.slow_response_s,
                    evidence=f"the inspection batch took {seconds:.2f} s (threshold {self.th.slow_response_s:g} s)",
                )
            )

    def _top_ps(self, text: str) -> ProcessTable:
        # ps sorts by RSS on the host: parsing only the top rows keeps client CPU per host low.
        return parse_ps(text, limit=max(self.th.top_processes, 20))

    def memory(self, results: dict[str, SectionResult]) -> MemorySection:
        meminfo = self.parse(results, "meminfo", parse_meminfo, "memory", "cat /proc/meminfo")
        free = self.parse(results, "free", parse_free, "memory", "free -b")
        procs = self.parse(results, "ps", self._top_ps, "memory", "ps -eo ... --sort=-rss")
        dmi_mem = self.parse(results, "dmidecode_memory", parse_dmidecode, "memory", "dmidecode -t memory")
        dmi_board = None
        if dmi_mem is not None:
            dmi_board = self.parse(
                results, "dmidecode_board", parse_dmidecode, "memory", "dmidecode -t baseboard -t system"
            )
        mem = meminfo or free
        if mem is not None:
            self.findings += memory_findings(
                self.host.name, mem, procs, self.th, "cat /proc/meminfo" if meminfo else "free -b"
            )
        top = procs.top_by_rss(self.th.top_processes) if procs is not None else []
        dmi = combine_dmi(dmi_mem, dmi_board) if dmi_mem is not None and dmi_board is not None else dmi_mem
        return MemorySection(meminfo=mem, dmi=dmi, top_processes=top)

    def disk(self, results: dict[str, SectionResult]) -> tuple[DiskSection, list[str]]:
        df = self.parse(results, "df", parse_df, "disk", "df -PB1")
        inodes = self.parse(results, "df_inodes", parse_df_inodes, "disk", "df -Pi")
        blocks = self.parse(results, "lsblk", parse_lsblk, "disk", "lsblk -J -b")
        if df is not None:
            self.findings += space_findings(self.host.name, df, self.th, "df -PB1")
        if inodes is not None:
            self.findings += inode_findings(self.host.name, inodes, self.th, "df -Pi")
        devices = blocks.smart_candidates() if blocks is not None else []
        return DiskSection(filesystems=df, inodes=inodes, block_devices=blocks), devices

    def smart(self, results: dict[str, SectionResult], commands: list[CatalogCommand]) -> list[SmartDisk]:
        disks: list[SmartDisk] = []
        missing = [results.get(c.key) for c in commands]
        if missing and all(r is not None and r.exit_status == 127 for r in missing):
            self.degraded = True
            self.findings.append(
                not_inspectable(self.host.name, "smart", "smartctl is not installed (exit 127)", "smartctl -j -a")
            )
            return disks
        for c in commands:
            device = c.argv[-1]
            source = f"smartctl -j -a {device}"
            result = results.get(c.key)
            # smartctl's exit status is a bitmask: non-zero often still comes with full JSON data.
            if result is not None and result.output.lstrip().startswith("{"):
                report = self.parse(
                    {c.key: SectionResult(c.key, 0, result.output)}, c.key, parse_smartctl, "smart", source
                )
            else:
                report = self.parse(results, c.key, parse_smartctl, "smart", source)
            if report is not None:
                self.findings += smart_findings(self.host.name, device, report, self.th, source)
            disks.append(SmartDisk(device=device, report=report))
        return disks

    def system(self, results: dict[str, SectionResult]) -> SystemSection:
        uptime = self.parse(results, "uptime", parse_uptime, "cpu", "uptime")
        load = self.parse(results, "loadavg", parse_loadavg, "cpu", "cat /proc/loadavg")
        cpus = self.parse(results, "nproc", parse_nproc, "cpu", "nproc")
        if load is not None and cpus is not None:
            self.findings += load_findings(self.host.name, load, cpus, self.th, "cat /proc/loadavg")
        return SystemSection(uptime=uptime, loadavg=load, cpus=cpus)


async def inspect_host(client: SshClient, host: Host, sections: set[Section], th: Thresholds) -> HostReport:
    """Inspect `sections` of `host` over one SSH connection; never raises for host-side problems."""
    started = time.perf_counter()
    names = [s.value for s in Section if s in sections]
    state = _HostInspection(host, th)
    report = HostReport(host=host.name, status="ok", sections=names)
    commands = [command(n, become=host.become) for s in Section if s in sections for n in SECTION_COMMANDS[s]]
    try:
        async with client.connection(host) as conn:
            batch_started = time.perf_counter()
            results = await client.run_batch(conn, commands)
            state.check_latency(time.perf_counter() - batch_started)
            if Section.MEMORY in sections:
                report.memory = state.memory(results)
            if Section.SYSTEM in sections:
                report.system = state.system(results)
            if Section.DISK in sections:
                report.disk, devices = state.disk(results)
                if devices:
                    smart_cmds = [smartctl(d, become=host.become) for d in devices]
                    report.disk.smart = state.smart(await client.run_batch(conn, smart_cmds), smart_cmds)
    except SshError as exc:
        report.status = exc.status  # type: ignore[assignment]
        report.reason = str(exc)
        state.findings.append(
            make_finding(
                host.name,
                "host",
                "critical",
                "host.reachable",
                f"host not inspectable: {exc.status}: {exc}",
                f"ssh {host.user}@{host.address}:{host.port}",
                value=exc.status,
                evidence=str(exc),
            )
        )
    else:
        report.status = "partial" if state.degraded else "ok"
    report.findings = rank(state.findings)
    report.duration_ms = int((time.perf_counter() - started) * 1000)
    return report
