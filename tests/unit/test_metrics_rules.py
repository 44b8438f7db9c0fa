"""The metrics store's pure parts: breach and anomaly rules, time handling, store URLs, tool windows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tools_server.context import ToolInputError
from tools_server.metrics.evaluate import reading_anomalies, sample_breaches, service_failing
from tools_server.metrics.factory import StoreURLError, open_store, redact
from tools_server.metrics.models import EnvironmentReading, HostSample, ServiceStatusRow
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStore, MetricThresholds
from tools_server.metrics.settings import MetricsSettings
from tools_server.metrics.times import from_db, parse_duration, parse_point, to_db
from tools_server.metrics.tools import WindowInput, resolve_window

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=TZ)


def test_breaches_name_value_and_threshold() -> None:
    s = HostSample(ip="10.0.0.1", collect_time=NOW, cpu_usage=90.0, memory_usage=93.14, disk_usage=89.99)
    found = sample_breaches(s, MetricThresholds())
    assert found is not None
    assert found.breaches == ["cpu 90% ≥ 90%", "memory 93.14% ≥ 90%"] and found.components == ["cpu", "memory"]
    assert sample_breaches(s, MetricThresholds(cpu_pct=95, memory_pct=95)) is None


def test_status_breaches() -> None:
    s = HostSample(ip="h", collect_time=NOW, cpu_status="异常", disk_status="丢失", user_load_status="异常")
    found = sample_breaches(s, MetricThresholds())
    assert found is not None and found.lost
    assert found.breaches == ["cpu 异常", "disk 丢失", "user_load 异常"]
    assert sample_breaches(HostSample(ip="h", collect_time=NOW, cpu_status="正常"), MetricThresholds()) is None


def test_reading_anomalies_limits_and_statuses() -> None:
    r = EnvironmentReading(
        inspection_time=NOW, avg_temperature=27.0, avg_humidity=80.0, battery_capacity=80.0, ups_supply_time=15.0
    )
    assert reading_anomalies(r, EnvironmentLimits()).anomalies == []  # limits themselves are fine
    bad = r.model_copy(
        update={"avg_temperature": 27.5, "avg_output_current": 51.0, "avg_output_current_status": "异常"}
    )
    found = reading_anomalies(bad, EnvironmentLimits())
    assert found.anomalies == ["temperature 27.5°C > 27°C", "output current 异常 (51A)"]
    assert found.kinds == ["temperature", "current"]
    with pytest.raises(ValueError, match="must not exceed"):
        EnvironmentLimits(humidity_min_pct=70, humidity_max_pct=60)


def test_service_failing() -> None:
    row = ServiceStatusRow(server_ip="h", service_name="s", status="正常", process_status="运行中", insert_time=NOW)
    assert not service_failing(row)
    assert service_failing(row.model_copy(update={"process_status": "未运行"}))
    assert service_failing(row.model_copy(update={"status": "异常"}))


@pytest.mark.parametrize(
    ("text", "delta"),
    [("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)),
     ("90s", timedelta(seconds=90)), (" 1.5H ", timedelta(hours=1.5)), ("15min", timedelta(minutes=15))],
)  # fmt: skip
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta
    assert parse_point(text, NOW, TZ) == NOW - delta


def test_points_and_database_times() -> None:
    assert parse_point("2024-05-10T08:00:00", NOW, TZ) == datetime(2024, 5, 10, 8, tzinfo=TZ)
    assert parse_point("2024-05-10T00:00:00Z", NOW, TZ).isoformat() == "2024-05-10T08:00:00+08:00"
    with pytest.raises(ValueError, match="neither a duration"):
        parse_point("yesterday", NOW, TZ)
    assert to_db(datetime(2024, 5, 10, 0, 0, 30, 999, tzinfo=ZoneInfo("UTC")), TZ) == "2024-05-10 08:00:30"
    assert from_db(datetime(2024, 5, 10, 8), TZ) == "2024-05-10T08:00:00+08:00"
    assert from_db("2024-05-10 08:00:00", TZ) == "2024-05-10T08:00:00+08:00"
    assert from_db(date(2024, 5, 10), TZ) == "2024-05-10T00:00:00+08:00"


def test_tool_windows() -> None:
    start, end = resolve_window(WindowInput(since="6h", until="1h"), TZ, NOW)
    assert (start, end) == (NOW - timedelta(hours=6), NOW - timedelta(hours=1))
    with pytest.raises(ToolInputError, match="is after until"):
        resolve_window(WindowInput(since="1h", until="6h"), TZ, NOW)
    with pytest.raises(ToolInputError, match="neither a duration"):
        resolve_window(WindowInput(since="-1h"), TZ, NOW)


@pytest.mark.parametrize(
    "url",
    ["sqlite:///", "sqlite://relative.db", "mysql://host/db", "mysql://u@host/", "mysql://u@host/a/b", "ftp://x",
     "nonsense", "prometheus://"],
)  # fmt: skip
def test_bad_store_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreURLError, match="accepted: sqlite"):
        open_store(url)


async def test_sqlite_urls_are_relative_with_three_slashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///var/opswatchdog/metrics.db")
    assert isinstance(store, MetricsStore)
    await store.ensure_schema()
    await store.close()
    assert (tmp_path / "var" / "opswatchdog" / "metrics.db").is_file()
    absolute = open_store(f"sqlite:///{tmp_path / 'abs.db'}")
    await absolute.ensure_schema()
    await absolute.close()
    assert (tmp_path / "abs.db").is_file()


async def test_mysql_and_prometheus_urls_open_lazily() -> None:
    store = open_store("mysql://ops:p%40ss@db.example:3307/metrics")
    assert "p@ss" not in repr(store) and "db.example:3307/metrics" in repr(store)
    await store.close()
    prom = open_store("prometheus://127.0.0.1:9090")
    assert isinstance(prom, MetricsStore) and "http://127.0.0.1:9090" in repr(prom)
    await prom.close()
    assert redact("mysql://ops:secret@h/db") == "mysql://ops:***@h/db"


def test_settings_defaults_and_timezone() -> None:
    cfg = MetricsSettings()
    assert cfg.url == "sqlite:///var/opswatchdog/metrics.db" and cfg.timezone == "Asia/Shanghai"
    assert (cfg.thresholds.cpu_pct, cfg.thresholds.memory_pct, cfg.thresholds.disk_pct) == (90, 90, 90)
    assert cfg.limits.temperature_max_c == 27
    with pytest.raises(ValueError, match="unknown timezone"):
        MetricsSettings(timezone="Mars/Olympus")
    assert MetricsSettings(timezone="local").timezone == "local"
