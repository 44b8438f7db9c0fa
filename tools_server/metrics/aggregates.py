"""Report aggregates from the SQL backends' raw grouped rows: totals, worst hosts, services down, per-day series."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, tzinfo

from tools_server.metrics import rows
from tools_server.metrics.evaluate import reading_anomalies
from tools_server.metrics.models import (
    CategoryCounts,
    DayPoint,
    EnvironmentReading,
    EnvironmentSummary,
    HostAggregate,
    ReportAggregates,
    ServiceDown,
    StoragePoolSummary,
)
from tools_server.metrics.protocol import EnvironmentLimits
from tools_server.metrics.sql_common import as_float, as_int, as_str
from tools_server.metrics.times import day_text, from_db

WORST_HOSTS = 10
_CATEGORIES = ("cpu", "memory", "disk", "network", "packet_loss", "user_load", "lost")


@dataclass
class RawAggregates:
    """The grouped rows one report window needs, as the driver returned them."""

    hosts: list[rows.Row]
    days: list[rows.Row]
    services_down: list[rows.Row]
    service_days: list[rows.Row]
    environment: list[rows.Row]
    nas: list[rows.Row]


def _int(value: object) -> int:
    return as_int(value) or 0


def _host(row: rows.Row, tz: tzinfo) -> HostAggregate:
    return HostAggregate(
        ip=str(row["ip"]),
        samples=_int(row["samples"]),
        anomalous_samples=_int(row["anomalous"]),
        counts=CategoryCounts(**{c: _int(row[c]) for c in _CATEGORIES}),
        last_collect_time=from_db(row["last_collect_time"], tz),
        **{k: as_float(row[k]) for k in ("avg_cpu", "max_cpu", "avg_memory", "max_memory", "avg_disk", "max_disk")},
    )


def _environment(readings: list[EnvironmentReading]) -> EnvironmentSummary:
    bad = [r for r in readings if r.anomalies]
    hottest: dict[str | None, EnvironmentReading] = {}
    for r in bad:
        best = hottest.get(r.room)
        if best is None or (r.avg_temperature or float("-inf")) > (best.avg_temperature or float("-inf")):
            hottest[r.room] = r
    worst = sorted(hottest.values(), key=lambda r: -(r.avg_temperature or float("-inf")))
    return EnvironmentSummary(
        readings=len(readings),
        anomalous_readings=len(bad),
        by_kind=dict(Counter(kind for r in bad for kind in r.kinds)),
        worst=worst,
    )


def build_aggregates(
    raw: RawAggregates, start: datetime, end: datetime, limits: EnvironmentLimits, tz: tzinfo
) -> ReportAggregates:
    """Assemble ReportAggregates from the raw rows of one window."""
    hosts = [_host(r, tz) for r in raw.hosts]
    counts = CategoryCounts(**{c: sum(getattr(h.counts, c) for h in hosts) for c in _CATEGORIES})
    worst = sorted(
        (h for h in hosts if h.anomalous_samples),
        key=lambda h: (-h.anomalous_samples, -(h.max_memory or 0.0), rows.ip_key(h.ip)),
    )[:WORST_HOSTS]
    down = [
        ServiceDown(
            server_ip=str(r["server_ip"]),
            service_name=str(r["service_name"]),
            platform=as_str(r["platform"]),
            checks=_int(r["checks"]),
            failures=_int(r["failures"]),
            last_failure=from_db(r["last_failure"], tz),
            last_status=as_str(r["status"]) or "",
        )
        for r in raw.services_down
    ]
    readings = [reading_anomalies(rows.reading(r, tz), limits) for r in raw.environment]
    env_days = Counter(r.inspection_time[:10] for r in readings if r.anomalies)
    svc_days = {day_text(r["d"]): r for r in raw.service_days}
    metric_days = {day_text(r["d"]): r for r in raw.days}
    days = []
    for day in sorted(set(metric_days) | set(svc_days) | set(env_days)):
        m, s = metric_days.get(day, {}), svc_days.get(day, {})
        days.append(
            DayPoint(
                day=day,
                hosts=_int(m.get("hosts")),
                samples=_int(m.get("samples")),
                anomalous_samples=_int(m.get("anomalous")),
                avg_cpu=as_float(m.get("avg_cpu")),
                avg_memory=as_float(m.get("avg_memory")),
                avg_disk=as_float(m.get("avg_disk")),
                service_failures=_int(s.get("failures")),
                environment_anomalies=env_days.get(day, 0),
            )
        )
    pools = [
        StoragePoolSummary(
            server_name=as_str(r["server_name"]),
            pool_name=str(r["pool_name"]),
            checks=_int(r["checks"]),
            anomalies=_int(r["anomalies"]),
            avg_usage=as_float(r["avg_usage"]),
            max_usage=as_float(r["max_usage"]),
        )
        for r in raw.nas
    ]
    return ReportAggregates(
        start=start.isoformat(),
        end=end.isoformat(),
        hosts=len(hosts),
        samples=sum(h.samples for h in hosts),
        anomalous_samples=sum(h.anomalous_samples for h in hosts),
        counts=counts,
        hosts_with_anomalies=sum(1 for h in hosts if h.anomalous_samples),
        worst_hosts=worst,
        service_checks=sum(_int(r["checks"]) for r in raw.service_days),
        service_failures=sum(_int(r["failures"]) for r in raw.service_days),
        services_down=down,
        environment=_environment(readings),
        storage_pools=pools,
        days=days,
    )
