"""Tools that sample the fleet into the metrics store and plan memory upgrades from a live inspection.

`metrics_collect` and `services_check` write rows (readOnlyHint false) but change nothing on the hosts;
`hardware_plan_upgrade` only reads, and re-validates a human-edited plan when one is given.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from tools_server.collector import collect
from tools_server.context import ToolContext, ToolInputError
from tools_server.hardware import UpgradePlan, plan_upgrade, validate_plan
from tools_server.inspection import HostReport, Section, inspect_host
from tools_server.inventory import Host
from tools_server.metrics.models import PROCESS_RUNNING, PROCESS_STOPPED, STATUS_LOST, HostSample, ServiceStatusRow
from tools_server.metrics.times import resolve_zone
from tools_server.rules_memory import used_percent
from tools_server.services import STATUS_UP, ServiceCheck, check_host_services


class FleetSelection(BaseModel):
    """Which inventory hosts: by name, group or tag (all when nothing is given)."""

    hosts: list[str] | None = Field(None, description="Host names as listed by hosts_list")
    group: str | None = Field(None, description="Only hosts in this inventory group")
    tag: str | None = Field(None, description="Only hosts carrying this tag")


class CollectResult(BaseModel):
    """Rows written by one collection pass."""

    collect_time: str | None
    written: int
    samples: list[HostSample]
    lost: list[str] = Field(description="IPs written with status 丢失 (no SSH answer)")
    skipped: list[str] = Field(description="Hosts without an IP to key the row by")


class ServicesCheckResult(BaseModel):
    """Service checks of one batch, as written to plat_service_monitoring."""

    batch_id: str
    written: int
    down: int
    rows: list[ServiceStatusRow]
    checks: list[ServiceCheck]


class PlanUpgradeInput(BaseModel):
    """A host to plan a memory upgrade for, or an edited plan to re-check."""

    host: str = Field(description="Host name as listed by hosts_list")
    target_used_percent: float = Field(70.0, gt=10, lt=100, description="Memory use the upgrade should bring about")
    edited_plan: dict[str, Any] | None = Field(None, description="A human-edited plan to validate instead of planning")


class PlanUpgradeResult(BaseModel):
    """The plan (or the validated edit) with the inspection facts it rests on."""

    host: str
    status: str = Field(description="ok, or the inspection failure that prevented planning")
    reason: str | None = None
    memory_used_percent: float | None = None
    plan: UpgradePlan | None = None
    problems: list[str] = Field(default_factory=list, description="Why an edited plan is invalid (empty: valid)")


def _select(ctx: ToolContext, sel: FleetSelection) -> list[Host]:
    try:
        hosts = ctx.inventory.select(names=sel.hosts, group=sel.group, tag=sel.tag)
    except KeyError as exc:
        raise ToolInputError(str(exc.args[0])) from exc
    if not hosts:
        raise ToolInputError("no inventory host matches that selection")
    return hosts


async def metrics_collect(ctx: ToolContext, sel: FleetSelection) -> CollectResult:
    """Sample CPU, memory and disk of the selected hosts over SSH and write one metrics row per host."""
    cfg = ctx.settings.metrics
    samples, skipped = await collect(
        ctx.ssh,
        _select(ctx, sel),
        resolve_zone(cfg.timezone),
        cfg.thresholds,
        ctx.settings.thresholds.load_per_cpu_warning,
    )
    written = await (await ctx.writable_store()).write_samples(samples)
    lost = [s.ip for s in samples if s.network_status == STATUS_LOST]
    return CollectResult(
        collect_time=samples[0].collect_time if samples else None,
        written=written,
        samples=samples,
        lost=lost,
        skipped=skipped,
    )


def _service_rows(host: Host, checks: list[ServiceCheck], batch_id: str, now: str) -> list[ServiceStatusRow]:
    """One plat_service_monitoring row per service: port status, process status, response time."""
    rows = []
    for spec in host.services:
        mine = {c.check: c for c in checks if c.service == spec.name}
        tcp, proc, http = mine.get("tcp"), mine.get("process"), mine.get("http")
        primary = tcp or http or proc
        status = primary.status if primary else STATUS_LOST
        process_status = (
            None
            if proc is None or proc.status == STATUS_LOST
            else (PROCESS_RUNNING if proc.status == STATUS_UP else PROCESS_STOPPED)
        )
        latency = primary.latency_ms if primary else None
        rows.append(
            ServiceStatusRow(
                server_ip=host.metrics_ip or host.address,
                server_name=host.name,
                service_name=spec.name,
                status=status,
                process_status=process_status,
                service_id=spec.process,
                port=spec.port,
                batch_id=batch_id,
                response_time=f"{latency:.2f}ms" if latency is not None else ("超时" if status != STATUS_UP else None),
                insert_time=now,
            )
        )
    return rows


async def services_check(ctx: ToolContext, sel: FleetSelection) -> ServicesCheckResult:
    """Check every platform service of the selected hosts and record the batch in the store."""
    hosts = [h for h in _select(ctx, sel) if h.services]
    batch_id = datetime.now().strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
    per_host = await asyncio.gather(*(check_host_services(ctx.ssh, h) for h in hosts))
    now = datetime.now(resolve_zone(ctx.settings.metrics.timezone)).replace(microsecond=0).isoformat()
    rows = [row for h, checks in zip(hosts, per_host, strict=True) for row in _service_rows(h, checks, batch_id, now)]
    written = await (await ctx.writable_store()).write_service_checks(rows, batch_id)
    checks = [c for group in per_host for c in group]
    return ServicesCheckResult(
        batch_id=batch_id, written=written, down=sum(r.status != STATUS_UP for r in rows), rows=rows, checks=checks
    )


async def hardware_plan_upgrade(ctx: ToolContext, args: PlanUpgradeInput) -> PlanUpgradeResult:
    """Inspect the host's memory over SSH and plan an upgrade, or re-validate an edited plan for it."""
    host = ctx.host(args.host)
    report: HostReport = await inspect_host(ctx.ssh, host, {Section.MEMORY}, ctx.settings.thresholds)
    memory = report.memory
    if report.status not in ("ok", "partial") or memory is None or memory.dmi is None or memory.meminfo is None:
        why = report.reason or "; ".join(f.summary for f in report.findings if f.metric.endswith("inspectable"))
        return PlanUpgradeResult(host=host.name, status=report.status, reason=why or "no dmidecode data")
    used = used_percent(memory.meminfo)
    if used is None:
        return PlanUpgradeResult(host=host.name, status="partial", reason="memory use unknown (no MemTotal)")
    if args.edited_plan is None:
        plan = plan_upgrade(memory.dmi, used, target_used_percent=args.target_used_percent)
        return PlanUpgradeResult(host=host.name, status="ok", memory_used_percent=used, plan=plan)
    try:
        edited = UpgradePlan.model_validate(args.edited_plan)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return PlanUpgradeResult(host=host.name, status="ok", memory_used_percent=used, problems=problems)
    return PlanUpgradeResult(
        host=host.name, status="ok", memory_used_percent=used, plan=edited, problems=validate_plan(memory.dmi, edited)
    )
