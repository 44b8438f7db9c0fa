"""The SQL metrics store's queries, the same tests against SQLite and MariaDB (see metrics_db.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.integration import metrics_db
from tests.integration.metrics_db import BAD, LOST, OK, T0, TZ_NAME, Backend, check, reading, sample
from tools_server.metrics.factory import open_store
from tools_server.metrics.models import HostSample
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStore, MetricsStoreError, MetricThresholds
from tools_server.metrics.sql_common import TABLES

# The shared fixtures, bound here so pytest finds them in this module.
metrics_backend = metrics_db.metrics_backend
empty_metrics_backend = metrics_db.empty_metrics_backend
metrics_store = metrics_db.metrics_store


# --- schema -------------------------------------------------------------------------------------------------


async def test_schema_created_on_demand_and_idempotent(empty_metrics_backend: Backend) -> None:
    s = open_store(empty_metrics_backend.url, timezone=TZ_NAME)
    try:
        if empty_metrics_backend.kind == "sqlite":  # the embedded default creates its tables on first use
            assert await s.abnormal_hosts(T0 - timedelta(days=1), T0, MetricThresholds()) == []
        else:  # an existing server database is only read until ensure_schema() is asked for
            with pytest.raises(MetricsStoreError, match="ensure_schema"):
                await s.abnormal_hosts(T0 - timedelta(days=1), T0, MetricThresholds())
        await s.ensure_schema()
        await s.write_samples([sample("10.0.0.1", T0)])
        await s.ensure_schema()
        assert set(TABLES) <= empty_metrics_backend.tables()
        assert len(await s.host_history("10.0.0.1", T0, T0)) == 1
    finally:
        await s.close()


REFERENCE_DDL = [
    """CREATE TABLE howso_server_performance_metrics (
        id varchar(20) NOT NULL, ip varchar(50) NOT NULL, collect_time datetime NOT NULL,
        cpu_usage decimal(5,2) DEFAULT NULL, cpu_status varchar(20) DEFAULT NULL,
        memory_usage decimal(5,2) DEFAULT NULL, memory_status varchar(20) DEFAULT NULL,
        disk_usage decimal(5,2) DEFAULT NULL, disk_status varchar(20) DEFAULT NULL,
        network_status varchar(20) DEFAULT NULL, packet_loss_status varchar(20) DEFAULT NULL,
        user_load_status varchar(20) DEFAULT NULL, bk_cloud_id int DEFAULT NULL, insert_time datetime NOT NULL,
        PRIMARY KEY (id))""",
    """CREATE TABLE plat_service_monitoring (
        id varchar(40) NOT NULL, batch_id varchar(40), platform varchar(100), server_name varchar(100),
        server_ip varchar(50), service_name varchar(100), service_id varchar(200), port int, status varchar(20),
        process_status varchar(20), response_time varchar(20), start_cmd varchar(500), stop_cmd varchar(500),
        insert_time datetime, local_ip varchar(200), hostname varchar(100), os_type varchar(20), PRIMARY KEY (id))""",
    """CREATE TABLE power_monitoring_avg_data (
        id varchar(40) NOT NULL, battery_status varchar(20), ups_supply_time decimal(8,2),
        avg_input_voltage decimal(8,2), avg_input_voltage_status varchar(20),
        avg_output_voltage decimal(8,2), avg_output_voltage_status varchar(20),
        avg_input_current decimal(8,2), avg_input_current_status varchar(20),
        avg_output_current decimal(8,2), avg_output_current_status varchar(20),
        avg_temperature decimal(5,2), avg_temperature_status varchar(20),
        avg_humidity decimal(5,2), avg_humidity_status varchar(20), inspection_time datetime, PRIMARY KEY (id))""",
    """CREATE TABLE nas_pools_detail (
        id varchar(40) NOT NULL, server_name varchar(100), pool_name varchar(100), used_space varchar(20),
        used_space_unit varchar(10), available_space varchar(20), available_space_unit varchar(10),
        usage_percentage varchar(20), status varchar(20), inspection_date date, inspection_time time,
        PRIMARY KEY (id))""",
    """CREATE TABLE operation_analysis_summary (
        id varchar(40) NOT NULL, report_date date, report_type varchar(20), operation_daily text,
        exception_analysis text, exception_data text, risk_prediction text, operation_suggestion text,
        key_focus text, moderate_focus text, created_at datetime, PRIMARY KEY (id))""",
]


async def test_existing_reference_database_is_read_without_migration(empty_metrics_backend: Backend) -> None:
    b = empty_metrics_backend
    for ddl in REFERENCE_DDL:
        b.execute(ddl)
    naive = T0.replace(tzinfo=None)
    b.execute(
        "INSERT INTO howso_server_performance_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("res20240510110000000", "192.168.1.10", naive - timedelta(hours=1), Decimal("12.50"), OK,
         Decimal("93.10"), BAD, Decimal("41.00"), OK, OK, OK, OK, 0, naive - timedelta(hours=1)),
        ("res20240510120000000", "192.168.1.10", naive, Decimal("15.25"), OK, Decimal("94.00"), BAD,
         Decimal("41.00"), OK, OK, OK, OK, 0, naive),
        ("res20240510120000001", "192.168.1.11", naive, None, LOST, None, LOST, None, LOST, LOST, LOST, LOST, 0, naive),
        ("res20240510120000002", "192.168.1.12", naive, Decimal("5.00"), OK, Decimal("30.00"), OK, Decimal("60.00"),
         OK, OK, OK, OK, 0, naive),
    )  # fmt: skip
    b.execute(
        "INSERT INTO plat_service_monitoring (id, batch_id, platform, server_name, server_ip, service_name, service_id,"
        " port, status, process_status, response_time, insert_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("svc1", "bat1", "道路病害平台", "文件服务器", "192.168.1.10", "文件服务器后端", "fileserver", 8080, BAD,
         "未运行", "超时", naive),
    )  # fmt: skip
    b.execute(
        "INSERT INTO power_monitoring_avg_data VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("pw1", BAD, Decimal("12.00"), Decimal("221.30"), OK, Decimal("220.10"), OK, Decimal("40.20"), OK,
         Decimal("38.70"), OK, Decimal("29.40"), BAD, Decimal("48.00"), OK, naive),
    )  # fmt: skip
    b.execute(
        "INSERT INTO nas_pools_detail VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("nas1", "NAS-01", "pool1", "8.5", "TB", "1.5", "TB", "85.00", BAD, naive.date(), "12:00:00"),
    )

    s = open_store(b.url, timezone=TZ_NAME)
    try:
        hosts = {h.ip: h for h in await s.abnormal_hosts(T0 - timedelta(hours=6), T0, MetricThresholds())}
        assert set(hosts) == {"192.168.1.10", "192.168.1.11"}
        assert hosts["192.168.1.10"].breaches == ["memory 94% ≥ 90%"]
        assert hosts["192.168.1.11"].lost and hosts["192.168.1.11"].memory_usage is None
        history = await s.host_history("192.168.1.10", T0 - timedelta(hours=6), T0)
        assert [h.memory_usage for h in history] == [93.1, 94.0]
        assert type(history[0].cpu_usage) is float and history[0].collect_time == "2024-05-10T11:00:00+08:00"
        env = await s.environment_anomalies(T0 - timedelta(hours=1), T0, EnvironmentLimits())
        assert env[0].kinds == ["temperature", "battery", "ups_supply"] and env[0].room is None
        assert type(env[0].avg_temperature) is float
        services = await s.service_status(T0 - timedelta(hours=1), T0, service="fileserver")
        assert services[0].process_status == "未运行" and services[0].port == 8080
        report = await s.report_aggregates(T0 - timedelta(days=1), T0, MetricThresholds())
        assert report.hosts == 3 and report.counts.memory == 2 and report.counts.lost == 1
        assert report.storage_pools[0].avg_usage == 85.0 and report.storage_pools[0].anomalies == 1
        assert report.services_down[0].service_name == "文件服务器后端"
    finally:
        await s.close()
    assert b.tables() == set(TABLES)


# --- abnormal hosts -----------------------------------------------------------------------------------------


async def test_abnormal_hosts_honours_the_window(metrics_store: MetricsStore) -> None:
    await metrics_store.write_samples([sample("10.0.0.1", T0 - timedelta(days=2), mem=97.0)])
    assert await metrics_store.abnormal_hosts(T0 - timedelta(hours=24), T0, MetricThresholds()) == []
    found = await metrics_store.abnormal_hosts(T0 - timedelta(days=3), T0, MetricThresholds())
    assert [h.ip for h in found] == ["10.0.0.1"]


async def test_abnormal_hosts_uses_the_latest_sample_per_host(metrics_store: MetricsStore) -> None:
    await metrics_store.write_samples([
        sample("10.0.0.1", T0 - timedelta(hours=2), mem=96.0),  # recovered since
        sample("10.0.0.1", T0 - timedelta(hours=1), mem=60.0),
        sample("10.0.0.2", T0 - timedelta(hours=2), mem=60.0),  # got worse
        sample("10.0.0.2", T0 - timedelta(hours=1), mem=92.5),
    ])  # fmt: skip
    found = await metrics_store.abnormal_hosts(T0 - timedelta(hours=6), T0, MetricThresholds())
    assert [(h.ip, h.memory_usage, h.collect_time) for h in found] == [
        ("10.0.0.2", 92.5, (T0 - timedelta(hours=1)).isoformat())
    ]


@pytest.mark.parametrize("component", ["cpu", "memory", "disk"])
async def test_each_threshold_is_honoured(metrics_store: MetricsStore, component: str) -> None:
    usage = {"cpu": 10.0, "mem": 10.0, "disk": 10.0} | {("mem" if component == "memory" else component): 95.0}
    await metrics_store.write_samples([sample("10.0.0.7", T0, **usage), sample("10.0.0.8", T0)])
    found = await metrics_store.abnormal_hosts(T0 - timedelta(hours=1), T0, MetricThresholds())
    assert [(h.ip, h.components, h.breaches) for h in found] == [("10.0.0.7", [component], [f"{component} 95% ≥ 90%"])]
    at_value = MetricThresholds(**{f"{component}_pct": 95.0})
    assert len(await metrics_store.abnormal_hosts(T0 - timedelta(hours=1), T0, at_value)) == 1
    above = MetricThresholds(**{f"{component}_pct": 95.5})
    assert await metrics_store.abnormal_hosts(T0 - timedelta(hours=1), T0, above) == []


async def test_abnormal_and_lost_statuses_are_reported(metrics_store: MetricsStore) -> None:
    lost = HostSample(ip="10.0.0.3", collect_time=T0, cpu_status=LOST, memory_status=LOST, disk_status=LOST)
    await metrics_store.write_samples([
        sample("10.0.0.1", T0, mem=50.0, memory_status=BAD),
        sample("10.0.0.2", T0, network_status=BAD, packet_loss_status=LOST),
        lost,
        sample("10.0.0.4", T0),
    ])  # fmt: skip
    found = {h.ip: h for h in await metrics_store.abnormal_hosts(T0 - timedelta(hours=1), T0, MetricThresholds())}
    assert set(found) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert found["10.0.0.1"].breaches == ["memory 异常 (50%)"] and not found["10.0.0.1"].lost
    assert found["10.0.0.2"].components == ["network", "packet_loss"] and found["10.0.0.2"].lost
    assert found["10.0.0.3"].breaches == ["cpu 丢失", "memory 丢失", "disk 丢失"] and found["10.0.0.3"].lost
    assert next(iter(found)) == "10.0.0.3"  # most breaches first


# --- history, environment, services ---------------------------------------------------------------------------


async def test_host_history_is_ordered_and_typed(metrics_store: MetricsStore) -> None:
    times = [T0 - timedelta(minutes=m) for m in (10, 30, 20, 0, 90)]
    await metrics_store.write_samples([sample("10.0.0.1", t, cpu=float(i)) for i, t in enumerate(times)])
    await metrics_store.write_samples([sample("10.0.0.2", T0)])
    history = await metrics_store.host_history("10.0.0.1", T0 - timedelta(minutes=30), T0)
    assert [h.collect_time for h in history] == [(T0 - timedelta(minutes=m)).isoformat() for m in (30, 20, 10, 0)]
    for h in history:
        assert type(h.cpu_usage) is float and type(h.memory_usage) is float and type(h.disk_usage) is float
        assert type(h.collect_time) is str and h.collect_time.endswith("+08:00")
        assert h.bk_cloud_id == 0 and h.memory_status == OK


async def test_window_bounds_in_another_zone_are_converted(metrics_store: MetricsStore) -> None:
    await metrics_store.write_samples([sample("10.0.0.1", T0)])
    utc = T0.astimezone(ZoneInfo("UTC"))
    assert len(await metrics_store.host_history("10.0.0.1", utc, utc)) == 1
    with pytest.raises(ValueError, match="after its end"):
        await metrics_store.host_history("10.0.0.1", T0, T0 - timedelta(hours=1))


async def test_environment_anomalies_per_limit(metrics_store: MetricsStore) -> None:
    await metrics_store.write_environment([
        reading(0),
        reading(5, avg_temperature=29.5),
        reading(10, avg_humidity=12.0),
        reading(15, avg_humidity=88.0),
        reading(20, battery_capacity=60.0),
        reading(25, ups_supply_time=8.0),
        reading(30, avg_input_voltage_status=BAD),
        reading(35, avg_temperature_status=BAD),
        reading(600, avg_temperature=35.0),  # outside the window
    ])  # fmt: skip
    found = await metrics_store.environment_anomalies(T0 - timedelta(hours=1), T0, EnvironmentLimits())
    assert [r.kinds for r in found] == [
        ["temperature"],
        ["voltage"],
        ["ups_supply"],
        ["battery"],
        ["humidity"],
        ["humidity"],
        ["temperature"],
    ]
    assert found[-1].anomalies == ["temperature 29.5°C > 27°C"]
    assert found[0].anomalies == ["temperature 异常"]
    relaxed = EnvironmentLimits(temperature_max_c=30, humidity_min_pct=10, humidity_max_pct=90, ups_battery_min_pct=50,
                                ups_supply_min_minutes=5)  # fmt: skip
    assert [r.kinds for r in await metrics_store.environment_anomalies(T0 - timedelta(hours=1), T0, relaxed)] == [
        ["temperature"],
        ["voltage"],
    ]


async def test_service_status_filters(metrics_store: MetricsStore) -> None:
    await metrics_store.write_service_checks([check("10.0.0.1", "应用服务", m) for m in (120, 60)], "b1")
    await metrics_store.write_service_checks([check("10.0.0.1", "Web前端", 60, service_id="nginx")], "b1")
    await metrics_store.write_service_checks([check("10.0.0.2", "应用服务", 30, ok=False)], "b2")
    await metrics_store.write_service_checks([check("10.0.0.2", "应用服务", 600)], "b0")
    window = (T0 - timedelta(hours=3), T0)
    every = await metrics_store.service_status(*window)
    assert [(r.server_ip, r.service_name, r.insert_time[11:16]) for r in every] == [
        ("10.0.0.1", "应用服务", "10:00"), ("10.0.0.1", "Web前端", "11:00"), ("10.0.0.1", "应用服务", "11:00"),
        ("10.0.0.2", "应用服务", "11:30"),
    ]  # fmt: skip
    assert len(await metrics_store.service_status(*window, ip="10.0.0.1")) == 3
    assert len(await metrics_store.service_status(*window, service="应用服务")) == 3
    assert [r.service_name for r in await metrics_store.service_status(*window, service="nginx")] == ["Web前端"]
    only = await metrics_store.service_status(*window, ip="10.0.0.2", service="应用服务")
    assert [(r.status, r.process_status, r.batch_id, r.port) for r in only] == [(BAD, "未运行", "b2", 8080)]


# --- report aggregates ----------------------------------------------------------------------------------------


async def test_report_aggregates(metrics_store: MetricsStore) -> None:
    day1, day2 = T0 - timedelta(days=1), T0
    await metrics_store.write_samples([
        sample("10.0.0.1", day1, mem=50.0),
        sample("10.0.0.1", day2, mem=95.0),
        sample("10.0.0.1", day2 - timedelta(hours=1), mem=91.0),
        sample("10.0.0.2", day1, cpu=92.0), sample("10.0.0.2", day2, disk=99.0),
        HostSample(ip="10.0.0.3", collect_time=day2, cpu_status=LOST, memory_status=LOST, disk_status=LOST),
        sample("10.0.0.4", day2),
    ])  # fmt: skip
    await metrics_store.write_service_checks(
        [check("10.0.0.1", "应用服务", 60, ok=False), check("10.0.0.1", "应用服务", 0)], "b"
    )
    await metrics_store.write_environment(
        [reading(0, room="机房B", avg_temperature=31.0), reading(30), reading(60, room="机房B")]
    )
    report = await metrics_store.report_aggregates(T0 - timedelta(days=2), T0, MetricThresholds())
    assert (report.hosts, report.samples, report.anomalous_samples, report.hosts_with_anomalies) == (4, 7, 5, 3)
    assert report.counts.model_dump() == {
        "cpu": 1, "memory": 2, "disk": 1, "network": 0, "packet_loss": 0, "user_load": 0, "lost": 1,
    }  # fmt: skip
    worst = report.worst_hosts[0]
    assert (worst.ip, worst.anomalous_samples, worst.max_memory, worst.counts.memory) == ("10.0.0.1", 2, 95.0, 2)
    assert type(worst.avg_memory) is float and worst.avg_memory == pytest.approx((50 + 95 + 91) / 3)
    down = report.services_down
    assert [(d.server_ip, d.checks, d.failures, d.last_status) for d in down] == [("10.0.0.1", 2, 1, OK)]
    assert (report.service_checks, report.service_failures) == (2, 1)
    assert report.environment.readings == 3 and report.environment.by_kind == {"temperature": 1}
    assert report.environment.worst[0].room == "机房B"
    assert [(d.day, d.samples, d.anomalous_samples) for d in report.days] == [
        ("2024-05-09", 2, 1),
        ("2024-05-10", 5, 4),
    ]
    assert report.days[-1].service_failures == 1 and report.days[-1].environment_anomalies == 1
    assert report.start == (T0 - timedelta(days=2)).isoformat()
