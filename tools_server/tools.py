"""The ops tools as plain async functions: the one definition the MCP server registers and tests call.

Each takes the shared ToolContext and a pydantic input model, and returns a pydantic result. Expected
failures (unknown host, refused path, bad kind) raise ToolInputError with a message for the caller;
host-side failures (unreachable, no root, garbage output) are data inside the result, never raised.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools_server.context import ToolContext, ToolInputError
from tools_server.inspection import HostReport, Section, inspect_host
from tools_server.parsers import PARSERS, ParseError, parse

SectionName = Literal["memory", "disk", "system"]
ParseKind = Literal[
    "free",
    "meminfo",
    "dmidecode",
    "ps",
    "df",
    "df_inodes",
    "lsblk",
    "smartctl",
    "uptime",
    "loadavg",
    "nproc",
    "proc_stat",
]
MAX_PARSE_INPUT = 4 * 1024 * 1024


class HostsListInput(BaseModel):
    """Filters for hosts_list."""

    group: str | None = Field(None, description="Only hosts in this inventory group")
    tag: str | None = Field(None, description="Only hosts carrying this tag")


class HostSummary(BaseModel):
    """An inventory host as tools show it (no credentials)."""

    name: str
    address: str
    metrics_ip: str | None = Field(
        description="IP the metrics store and alert labels know the host by (None when only a host name is known)"
    )
    port: int
    user: str
    groups: list[str]
    tags: list[str]
    rack: str | None
    switch: str | None
    services: list[str]


class HostsListResult(BaseModel):
    """The selected inventory hosts."""

    count: int
    hosts: list[HostSummary]


class HostInput(BaseModel):
    """One inventory host by name."""

    host: str = Field(description="Host name as listed by hosts_list")


class InspectHostInput(HostInput):
    """One host and what to inspect on it."""

    sections: list[SectionName] = Field(
        default=["memory", "disk", "system"],
        min_length=1,
        description="Which checks to run in one connection",
    )


class ParseOutputInput(BaseModel):
    """Command output to parse."""

    kind: ParseKind = Field(description="Which command produced the text")
    text: str = Field(max_length=MAX_PARSE_INPUT, description="The command's output, verbatim")


class ParseOutputResult(BaseModel):
    """A parsed model, or the reason the text could not be parsed."""

    kind: str
    ok: bool
    data: dict[str, object] | None = None
    error: str | None = None


async def hosts_list(ctx: ToolContext, args: HostsListInput) -> HostsListResult:
    """List inventory hosts, optionally by group or tag."""
    hosts = ctx.inventory.select(group=args.group, tag=args.tag)
    summaries = [
        HostSummary(
            name=h.name,
            address=h.address,
            metrics_ip=h.metrics_ip,
            port=h.port,
            user=h.user,
            groups=h.groups,
            tags=h.tags,
            rack=h.rack,
            switch=h.switch,
            services=[s.name for s in h.services],
        )
        for h in hosts
    ]
    return HostsListResult(count=len(summaries), hosts=summaries)


async def ssh_inspect_host(ctx: ToolContext, args: InspectHostInput) -> HostReport:
    """Inspect memory, disk and/or system of one host over a single SSH connection."""
    host = ctx.host(args.host)
    return await inspect_host(ctx.ssh, host, {Section(s) for s in args.sections}, ctx.settings.thresholds)


async def ssh_inspect_memory(ctx: ToolContext, args: HostInput) -> HostReport:
    """Inspect memory of one host: usage, swap, DIMM layout, board, top processes."""
    return await ssh_inspect_host(ctx, InspectHostInput(host=args.host, sections=["memory"]))


async def ssh_inspect_disk(ctx: ToolContext, args: HostInput) -> HostReport:
    """Inspect disks of one host: filesystem space and inodes, block devices, SMART."""
    return await ssh_inspect_host(ctx, InspectHostInput(host=args.host, sections=["disk"]))


async def ssh_inspect_system(ctx: ToolContext, args: HostInput) -> HostReport:
    """Inspect the system of one host: uptime, load, CPU count."""
    return await ssh_inspect_host(ctx, InspectHostInput(host=args.host, sections=["system"]))


async def parse_output(ctx: ToolContext, args: ParseOutputInput) -> ParseOutputResult:
    """Parse pasted command output into the same model an inspection would build."""
    if args.kind not in PARSERS:
        raise ToolInputError(f"unknown kind {args.kind!r}")
    try:
        model = parse(args.kind, args.text)
    except ParseError as exc:
        return ParseOutputResult(kind=args.kind, ok=False, error=str(exc))
    return ParseOutputResult(kind=args.kind, ok=True, data=model.model_dump(mode="json"))
