"""Seeding, the event loop, dropped connections and the tools, against SQLite and MariaDB (see metrics_db.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app.metrics_cmd import add_metrics_parser
from tests.integration import metrics_db
from tests.integration.metrics_db import BAD, T0, TZ_NAME, Backend, check, reading, sample
from tools_server.context import ToolInputError
from tools_server.metrics.factory import open_store
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStore, MetricThresholds
from tools_server.metrics.settings import MetricsSettings
from tools_server.metrics.tools import (
    AbnormalHostsInput,
    EnvironmentInput,
    HostHistoryInput,
    ServiceStatusInput,
    metrics_abnormal_hosts,
    metrics_environment,
    metrics_host_history,
    metrics_service_status,
)

# The shared fixtures, bound here so pytest finds them in this module.
metrics_backend = metrics_db.metrics_backend
metrics_store = metrics_db.metrics_store


# --- seeding --------------------------------------------------------------------------------------------------

SCENARIO = """\
seed: 7
hosts: 5
name_prefix: node
faults:
  node-2: [memory_pressure]
  node-3: [{kind: disk_full, used_percent: 98}]
  node-4: [unreachable]
"""


def test_seed_command_fills_the_store_with_the_scenario(metrics_backend: Backend, tmp_path: Path) -> None:
    metrics_backend.reset()
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    parser = argparse.ArgumentParser()
    add_metrics_parser(parser.add_subparsers(dest="command"))
    argv = ["metrics", "seed", "--days", "2", "--interval-minutes", "15", "--scenario", str(scenario),
            "--store", metrics_backend.url, "--end", T0.isoformat()]  # fmt: skip
    for _ in range(2):  # seeding twice changes nothing
        args = parser.parse_args(argv)
        assert args.func(args) == 0

    async def check_store() -> None:
        s = open_store(metrics_backend.url, timezone=TZ_NAME)
        try:
            found = {h.ip: h for h in await s.abnormal_hosts(T0 - timedelta(minutes=30), T0, MetricThresholds())}
            assert set(found) == {"127.0.1.2", "127.0.1.3", "127.0.1.4"}
            assert found["127.0.1.2"].components == ["memory"] and found["127.0.1.2"].memory_usage >= 90  # type: ignore[operator]
            assert found["127.0.1.3"].disk_usage == 98.0
            assert found["127.0.1.4"].lost
            leak = await s.host_history("127.0.1.2", T0 - timedelta(days=2), T0)
            assert len(leak) == 2 * 24 * 4 and leak[0].memory_usage < 80  # type: ignore[operator]
            hot = await s.environment_anomalies(T0 - timedelta(days=1), T0, EnvironmentLimits())
            assert {r.room for r in hot} == {"机房B"} and hot[-1].avg_temperature > 30  # type: ignore[operator]
            down = await s.service_status(T0 - timedelta(hours=1), T0, ip="127.0.1.2", service="app-server.jar")
            assert down[-1].status == BAD
        finally:
            await s.close()

    asyncio.run(check_store())


# --- the event loop and dropped connections -------------------------------------------------------------------


async def test_a_blocked_database_does_not_block_the_event_loop(
    metrics_backend: Backend, metrics_store: MetricsStore
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with metrics_backend.write_lock():
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(5)
    tick_task = asyncio.create_task(ticker())
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    await metrics_store.write_samples([sample("10.0.0.1", T0)])
    waited = time.monotonic() - started
    tick_task.cancel()
    holder.join()
    assert waited >= 0.4, "the write should have waited for the lock"
    assert ticks >= 20, f"the event loop ticked only {ticks} times while the write waited {waited:.2f}s"


async def test_a_dropped_connection_is_replaced(
    metrics_backend: Backend, metrics_store: MetricsStore, caplog: pytest.LogCaptureFixture
) -> None:
    await metrics_store.write_samples([sample("10.0.0.1", T0)])
    assert len(await metrics_store.host_history("10.0.0.1", T0, T0)) == 1
    killed = metrics_backend.kill_other_connections()
    assert killed >= (1 if metrics_backend.kind == "mysql" else 0)
    with caplog.at_level(logging.WARNING, logger="tools_server.metrics.pool"):
        assert len(await metrics_store.host_history("10.0.0.1", T0, T0)) == 1
    assert ("connection dropped" in caplog.text) == (metrics_backend.kind == "mysql")


async def test_tools_over_the_store(metrics_store: MetricsStore) -> None:
    store = metrics_store
    await store.write_samples(
        [sample("10.0.0.1", T0 - timedelta(minutes=m), mem=80.0 + m / 10) for m in range(0, 120, 5)]
    )
    await store.write_samples([sample("10.0.0.2", T0, cpu=91.0)])
    await store.write_service_checks(
        [check("10.0.0.2", "应用服务", 10, ok=False), check("10.0.0.2", "应用服务", 5)], "b"
    )
    await store.write_environment([reading(5, avg_temperature=28.0)])
    cfg = MetricsSettings(timezone=TZ_NAME)

    found = await metrics_abnormal_hosts(store, AbnormalHostsInput(since="30m"), cfg, now=T0)
    assert [h.ip for h in found.hosts] == ["10.0.0.2"] and found.start == (T0 - timedelta(minutes=30)).isoformat()
    stricter = await metrics_abnormal_hosts(store, AbnormalHostsInput(since="30m", memory_pct=80), cfg, now=T0)
    assert stricter.count == 2 and stricter.thresholds.cpu_pct == 90
    history = await metrics_host_history(store, HostHistoryInput(ip="10.0.0.1", since="2h", max_points=5), cfg, now=T0)
    assert history.count == 24 and len(history.samples) == 5 and history.peak_memory == 91.5
    assert history.samples[-1] == history.latest and history.latest.memory_usage == 80.0  # type: ignore[union-attr]
    env = await metrics_environment(store, EnvironmentInput(since="1h", temperature_max_c=28.5), cfg, now=T0)
    assert env.count == 0 and env.limits.temperature_max_c == 28.5
    failed = await metrics_service_status(store, ServiceStatusInput(since="1h", only_failures=True), cfg, now=T0)
    assert (failed.count, failed.failures, failed.rows[0].insert_time) == (
        1,
        1,
        (T0 - timedelta(minutes=10)).isoformat(),
    )
    with pytest.raises(ToolInputError, match="not an IP address"):
        await metrics_host_history(store, HostHistoryInput(ip="web-01"), cfg, now=T0)
    with pytest.raises(ToolInputError, match="neither a duration"):
        await metrics_abnormal_hosts(store, AbnormalHostsInput(since="yesterday"), cfg, now=T0)
    with pytest.raises(ToolInputError, match="is after until"):
        await metrics_service_status(store, ServiceStatusInput(since="1h", until="2h"), cfg, now=T0)
