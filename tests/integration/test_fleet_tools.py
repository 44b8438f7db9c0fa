"""metrics_collect, services_check and hardware_plan_upgrade against the simulated fleet, on SQLite and MariaDB."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tools_server.context import ToolContext
from tools_server.inventory import load_inventory
from tools_server.metrics.models import STATUS_ABNORMAL, STATUS_LOST, STATUS_NORMAL
from tools_server.metrics.settings import MetricsSettings
from tools_server.metrics.tools import AbnormalHostsInput, ServiceStatusInput, metrics_abnormal_hosts
from tools_server.metrics.tools import metrics_service_status as service_history
from tools_server.tools_fleet import (
    FleetSelection,
    PlanUpgradeInput,
    hardware_plan_upgrade,
    metrics_collect,
    services_check,
)

from .conftest import FleetInfo
from .metrics_db import Backend, fresh_backend

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with fresh_backend(request.param, tmp_path) as b:
        yield b


def _ctx(fleet: FleetInfo, url: str, inventory: Path | None = None) -> ToolContext:
    settings = fleet.settings().model_copy(update={"metrics": MetricsSettings(url=url)})
    if inventory is not None:
        settings = settings.model_copy(update={"inventory": inventory})
    return ToolContext.from_settings(settings)


def _ip(fleet: FleetInfo, name: str) -> str:
    ip = load_inventory(fleet.inventory).get(name).metrics_ip
    assert ip is not None
    return ip


async def test_collect_writes_a_row_per_host_with_statuses(demo_fleet: FleetInfo, backend: Backend) -> None:
    ctx = _ctx(demo_fleet, backend.url)
    try:
        result = await metrics_collect(ctx, FleetSelection())
        by_ip = {s.ip: s for s in result.samples}
        assert result.written == len(demo_fleet.faults) == len(by_ip)
        for fault in ("unreachable", "wrong_credentials", "host_key_changed"):
            lost = by_ip[_ip(demo_fleet, demo_fleet.host_with(fault))]
            assert (
                lost.memory_usage is None and lost.memory_status == STATUS_LOST and lost.network_status == STATUS_LOST
            )
        pressured = by_ip[_ip(demo_fleet, demo_fleet.host_with("memory_pressure"))]
        assert type(pressured.memory_usage) is float and pressured.memory_status == STATUS_ABNORMAL
        full = by_ip[_ip(demo_fleet, demo_fleet.host_with("disk_full"))]
        assert full.disk_usage is not None and full.disk_usage >= 95 and full.disk_status == STATUS_ABNORMAL
        healthy = by_ip[_ip(demo_fleet, demo_fleet.healthy_host())]
        assert healthy.cpu_usage is not None and 0 <= healthy.cpu_usage <= 100
        assert {healthy.cpu_status, healthy.memory_status, healthy.disk_status} == {STATUS_NORMAL}

        abnormal = await metrics_abnormal_hosts(ctx.store, AbnormalHostsInput(since="10m"), ctx.settings.metrics)
        reported = {h.ip for h in abnormal.hosts}
        assert pressured.ip in reported and full.ip in reported and healthy.ip not in reported
    finally:
        await ctx.aclose()


def _reserved_closed_port(address: str) -> socket.socket:
    """A port bound on `address` but not listening: connecting is refused, and nobody else can take it meanwhile."""
    s = socket.socket()
    s.bind((address, 0))
    return s


async def test_services_check_up_down_and_lost(demo_fleet: FleetInfo, backend: Backend, tmp_path: Path) -> None:
    healthy, unreachable = demo_fleet.healthy_host(), demo_fleet.host_with("unreachable")
    data = yaml.safe_load(demo_fleet.inventory.read_text())
    reserved = None
    for host in data["hosts"]:
        if host["name"] == healthy:
            reserved = _reserved_closed_port(host["address"])
            port = reserved.getsockname()[1]
            host["services"].append({"name": "billing", "port": port, "process": "billing-daemon"})
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(data))
    ctx = _ctx(demo_fleet, backend.url, inventory)
    try:
        result = await services_check(ctx, FleetSelection(hosts=[healthy, unreachable]))
        rows = {(r.server_name, r.service_name): r for r in result.rows}
        sshd = rows[(healthy, "sshd")]
        assert sshd.status == STATUS_NORMAL and sshd.process_status == "运行中" and sshd.response_time
        billing = rows[(healthy, "billing")]
        assert billing.status == STATUS_ABNORMAL and billing.process_status == "未运行"
        dead = rows[(unreachable, "sshd")]
        # The port accepts TCP but SSH never answers: the port check passes, the process is unknown (丢失 -> None).
        assert dead.status == STATUS_NORMAL and dead.process_status is None
        assert any(c.service == "sshd" and c.check == "process" and c.status == STATUS_LOST for c in result.checks)
        assert result.written == len(result.rows) and result.down >= 1
        history = await service_history(
            ctx.store, ServiceStatusInput(since="10m", only_failures=True), ctx.settings.metrics
        )
        assert any(r.service_name == "billing" and r.batch_id == result.batch_id for r in history.rows)
    finally:
        await ctx.aclose()
        if reserved is not None:
            reserved.close()


async def test_plan_upgrade_for_a_pressured_host_and_edit_validation(demo_fleet: FleetInfo, tmp_path: Path) -> None:
    ctx = _ctx(demo_fleet, f"sqlite:///{tmp_path / 'm.db'}")
    host = demo_fleet.host_with("memory_pressure")
    result = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=host))
    assert result.status == "ok" and result.plan is not None and result.memory_used_percent is not None
    plan = result.plan
    assert plan.action in ("add", "replace", "keep", "unknown_board")
    if plan.action in ("add", "replace"):
        assert all(c.passed for c in plan.checks), plan.checks
        same = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=host, edited_plan=plan.model_dump()))
        assert same.problems == []
        bigger = plan.model_dump()
        bigger["modules_to_add"][0]["count"] += 64  # more DIMMs than the board has slots
        edited = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=host, edited_plan=bigger))
        assert edited.problems
    garbage = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=host, edited_plan={"action": "buy everything"}))
    assert garbage.plan is None and garbage.problems
    denied = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=demo_fleet.host_with("dmidecode_denied")))
    assert denied.plan is None and "root" in (denied.reason or "")
    down = await hardware_plan_upgrade(ctx, PlanUpgradeInput(host=demo_fleet.host_with("unreachable")))
    assert down.plan is None and down.status == "unreachable"


async def test_collect_keeps_serving_while_hosts_hang(demo_fleet: FleetInfo, tmp_path: Path) -> None:
    """The event loop stays responsive during a collection (blocking drivers run off the loop)."""
    ctx = _ctx(demo_fleet, f"sqlite:///{tmp_path / 'm.db'}")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await metrics_collect(ctx, FleetSelection())
    finally:
        task.cancel()
        await ctx.aclose()
    assert ticks >= 20  # at least one second of collection (the /proc/stat interval) with the loop ticking
