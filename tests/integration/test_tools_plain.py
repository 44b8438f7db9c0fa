"""The ops tools as plain functions against the simulated fleet with every fault kind."""

from __future__ import annotations

import pytest

from app.fault_expectations import EXPECTED, attribution
from tools_server.context import ToolContext, ToolInputError
from tools_server.logs import LogsTailInput, logs_tail
from tools_server.tools import (
    HostInput,
    HostsListInput,
    InspectHostInput,
    ParseOutputInput,
    hosts_list,
    parse_output,
    ssh_inspect_disk,
    ssh_inspect_host,
    ssh_inspect_memory,
    ssh_inspect_system,
)

from .conftest import FleetInfo

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def _ctx(fleet: FleetInfo) -> ToolContext:
    return ToolContext.from_settings(fleet.settings())


async def test_every_fault_kind_is_present_in_the_demo_fleet(demo_fleet: FleetInfo) -> None:
    kinds = {k for ks in demo_fleet.faults.values() for k in ks}
    assert kinds == set(EXPECTED), f"missing fault kinds: {set(EXPECTED) - kinds}"


async def test_inspect_every_host_attributes_every_fault(demo_fleet: FleetInfo) -> None:
    import asyncio

    ctx = _ctx(demo_fleet)
    listed = await hosts_list(ctx, HostsListInput())
    assert listed.count == len(demo_fleet.faults)
    reports = await asyncio.gather(*(ssh_inspect_host(ctx, InspectHostInput(host=h.name)) for h in listed.hosts))
    by_host = {r.host: [f.model_dump() for f in r.findings] for r in reports}
    result = attribution(demo_fleet.faults, by_host)
    assert result["missed"] == []
    assert result["unexpected_critical"] == []
    statuses = {r.host: r.status for r in reports}
    assert statuses[demo_fleet.host_with("unreachable")] == "unreachable"
    assert statuses[demo_fleet.host_with("wrong_credentials")] == "auth_failed"
    assert statuses[demo_fleet.host_with("host_key_changed")] == "host_key_rejected"
    assert statuses[demo_fleet.host_with("dmidecode_denied")] == "partial"
    assert statuses[demo_fleet.healthy_host()] == "ok"


async def test_healthy_host_report_carries_parsed_facts(demo_fleet: FleetInfo) -> None:
    report = await ssh_inspect_host(_ctx(demo_fleet), InspectHostInput(host=demo_fleet.healthy_host()))
    assert report.status == "ok", report.findings
    assert report.memory is not None and report.memory.meminfo is not None and report.memory.dmi is not None
    assert report.memory.dmi.slots_total >= report.memory.dmi.slots_populated >= 1
    assert report.memory.dmi.board_product
    assert report.memory.top_processes
    assert report.disk is not None and report.disk.smart and all(d.report for d in report.disk.smart)
    assert report.system is not None and report.system.cpus is not None and report.system.cpus.cpus >= 1
    assert [f for f in report.findings if f.severity != "info"] == []


async def test_memory_pressure_names_guilty_process(demo_fleet: FleetInfo) -> None:
    host = demo_fleet.host_with("memory_pressure")
    report = await ssh_inspect_memory(_ctx(demo_fleet), HostInput(host=host))
    (finding,) = [f for f in report.findings if f.metric == "memory.used_percent"]
    assert finding.severity == "critical"
    assert report.memory is not None and report.memory.top_processes
    assert report.memory.top_processes[0].comm in finding.evidence
    assert report.sections == ["memory"] and report.disk is None


async def test_single_section_tools(demo_fleet: FleetInfo) -> None:
    ctx = _ctx(demo_fleet)
    disk = await ssh_inspect_disk(ctx, HostInput(host=demo_fleet.host_with("disk_full")))
    assert disk.sections == ["disk"] and any(f.metric == "disk.used_percent" for f in disk.findings)
    system = await ssh_inspect_system(ctx, HostInput(host=demo_fleet.healthy_host()))
    assert system.sections == ["system"] and system.system is not None and system.memory is None


async def test_unknown_host_is_a_clear_input_error(demo_fleet: FleetInfo) -> None:
    with pytest.raises(ToolInputError, match="unknown host 'nope'"):
        await ssh_inspect_host(_ctx(demo_fleet), InspectHostInput(host="nope"))


async def test_logs_tail_filters_on_the_client(demo_fleet: FleetInfo) -> None:
    ctx = _ctx(demo_fleet)
    host = demo_fleet.healthy_host()
    everything = await logs_tail(ctx, LogsTailInput(host=host, path="/var/log/syslog", lines=50))
    assert everything.status == "ok" and 0 < len(everything.lines) <= 50
    word = everything.lines[-1].split()[-1]
    filtered = await logs_tail(ctx, LogsTailInput(host=host, path="/var/log/syslog", lines=50, keyword=word))
    assert filtered.lines and all(word.lower() in line.lower() for line in filtered.lines)
    missing = await logs_tail(ctx, LogsTailInput(host=host, path="/var/log/nope.log"))
    assert missing.status == "error" and "No such file" in (missing.reason or "")
    with pytest.raises(ToolInputError, match="refused path"):
        await logs_tail(ctx, LogsTailInput(host=host, path="/etc/shadow"))


async def test_parse_output_tool(demo_fleet: FleetInfo) -> None:
    ctx = _ctx(demo_fleet)
    ok = await parse_output(ctx, ParseOutputInput(kind="nproc", text="8\n"))
    assert ok.ok and ok.data == {"cpus": 8}
    bad = await parse_output(ctx, ParseOutputInput(kind="dmidecode", text="/dev/mem: Permission denied\n"))
    assert not bad.ok and bad.error


async def test_host_key_checking_can_be_turned_off_explicitly(demo_fleet: FleetInfo) -> None:
    ctx = ToolContext.from_settings(demo_fleet.settings(verify_host_keys=False))
    report = await ssh_inspect_system(ctx, HostInput(host=demo_fleet.host_with("host_key_changed")))
    assert report.status == "ok"
