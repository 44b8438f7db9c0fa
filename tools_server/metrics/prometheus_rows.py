"""Prometheus answers → the store's rows: host samples, service checks, and the grouped rows of a report.

Statuses use the reference vocabulary: 正常; 异常 (at or over the threshold, or a failed blackbox probe);
丢失 (the scrape failed, `up == 0`, or no value at that time).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, tzinfo
from typing import Any

from tools_server.metrics import prometheus_queries as pq
from tools_server.metrics.evaluate import BAD_STATUSES
from tools_server.metrics.models import STATUS_ABNORMAL, STATUS_LOST, STATUS_NORMAL, HostSample, ServiceStatusRow
from tools_server.metrics.protocol import MetricThresholds
from tools_server.metrics.rows import ip_key


def iso(ms: int, tz: tzinfo) -> str:
    """Unix ms → ISO 8601 in the store's zone."""
    return datetime.fromtimestamp(ms / 1000, tz).isoformat()


def _usage(value: float | None, limit: float, lost: bool) -> tuple[float | None, str]:
    if lost or value is None:
        return None, STATUS_LOST
    value = round(value, 2)  # the reference stores DECIMAL(5,2); compare what would be stored
    return value, STATUS_ABNORMAL if value >= limit else STATUS_NORMAL


def host_sample(
    ip: str,
    at_ms: int,
    cpu: float | None,
    memory: float | None,
    disk: float | None,
    up: float | None,
    t: MetricThresholds,
    tz: tzinfo,
) -> HostSample:
    """One host's values at one time as a HostSample; a failed scrape (up == 0) or a missing value is 丢失."""
    lost = up == 0
    cpu_usage, cpu_status = _usage(cpu, t.cpu_pct, lost)
    memory_usage, memory_status = _usage(memory, t.memory_pct, lost)
    disk_usage, disk_status = _usage(disk, t.disk_pct, lost)
    return HostSample(
        ip=ip,
        collect_time=iso(at_ms, tz),
        cpu_usage=cpu_usage,
        cpu_status=cpu_status,
        memory_usage=memory_usage,
        memory_status=memory_status,
        disk_usage=disk_usage,
        disk_status=disk_status,
    )


def _service_status(up: float | None, probe: float | None) -> str:
    if up == 0 or (up is None and probe is None):
        return STATUS_LOST
    if probe is not None:
        return STATUS_NORMAL if probe >= 1 else STATUS_ABNORMAL
    return STATUS_NORMAL


def service_rows(
    up: list[pq.Series], probe: list[pq.Series], start_ms: int, step_ms: int, tz: tzinfo
) -> list[ServiceStatusRow]:
    """One check per target (instance, job) and step, oldest first; a probe decides 正常/异常 when there is one."""
    targets: dict[tuple[str, str], tuple[dict[int, float | None], dict[int, float | None]]] = {}
    for i, answer in enumerate((up, probe)):
        for s in answer:
            key = (s.labels.get("instance", ""), s.labels.get("job", ""))
            targets.setdefault(key, ({}, {}))[i].update((pq.millis(ts), v) for ts, v in s.points)
    found: list[tuple[int, tuple[int, str], str, int, ServiceStatusRow]] = []
    for (instance, job), (ups, probes) in targets.items():
        host, port = pq.split_instance(instance)
        for t in pq.grid(set(ups) | set(probes), start_ms, step_ms):
            status = _service_status(ups.get(t), probes.get(t))
            row = ServiceStatusRow(
                server_ip=host, service_name=job, status=status, insert_time=iso(t, tz), port=port, service_id=instance
            )
            found.append((t, ip_key(host), job, port or 0, row))
    found.sort(key=lambda f: f[:4])
    return [f[4] for f in found]


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _max(values: list[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


def _bad(s: HostSample) -> bool:
    return any(status in BAD_STATUSES for status in (s.cpu_status, s.memory_status, s.disk_status))


def _lost(s: HostSample) -> bool:
    return STATUS_LOST in (s.cpu_status, s.memory_status, s.disk_status)


def host_row(ip: str, samples: list[HostSample]) -> dict[str, Any]:
    """One host's samples as the grouped row aggregates.build_aggregates reads (same columns as the SQL)."""
    row: dict[str, Any] = {"ip": ip, "samples": len(samples), "anomalous": sum(map(_bad, samples))}
    for name in ("cpu", "memory", "disk"):
        values = [getattr(s, f"{name}_usage") for s in samples]
        row[name] = sum(getattr(s, f"{name}_status") == STATUS_ABNORMAL for s in samples)
        row[f"avg_{name}"], row[f"max_{name}"] = _mean(values), _max(values)
    row.update(network=0, packet_loss=0, user_load=0, lost=sum(map(_lost, samples)))
    row["last_collect_time"] = samples[-1].collect_time  # samples are oldest first
    return row


def day_rows(samples: list[HostSample]) -> list[dict[str, Any]]:
    """Per calendar day (store zone) rows: hosts, samples, anomalous samples and mean usages."""
    days: defaultdict[str, list[HostSample]] = defaultdict(list)
    for s in samples:
        days[s.collect_time[:10]].append(s)
    return [
        {
            "d": day,
            "hosts": len({s.ip for s in group}),
            "samples": len(group),
            "anomalous": sum(map(_bad, group)),
            **{f"avg_{n}": _mean([getattr(s, f"{n}_usage") for s in group]) for n in ("cpu", "memory", "disk")},
        }
        for day, group in sorted(days.items())
    ]


def services_down_rows(rows: list[ServiceStatusRow]) -> list[dict[str, Any]]:
    """Services with at least one check that was not 正常 (异常 or 丢失), most failures first."""
    groups: defaultdict[tuple[str, str], list[ServiceStatusRow]] = defaultdict(list)
    for r in rows:  # rows are oldest first, so the last of a group is its latest check
        groups[(r.server_ip, r.service_name)].append(r)
    down = []
    for (ip, name), group in groups.items():
        failed = [r for r in group if r.status != STATUS_NORMAL]
        if failed:
            down.append({
                "server_ip": ip, "service_name": name, "platform": None, "status": group[-1].status,
                "checks": len(group), "failures": len(failed), "last_failure": failed[-1].insert_time,
            })  # fmt: skip
    return sorted(down, key=lambda r: (-r["failures"], r["server_ip"], r["service_name"]))


def service_day_rows(rows: list[ServiceStatusRow]) -> list[dict[str, Any]]:
    """Checks and failed checks (not 正常) per calendar day."""
    days: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        days[r.insert_time[:10]][0] += 1
        days[r.insert_time[:10]][1] += r.status != STATUS_NORMAL
    return [{"d": day, "checks": c, "failures": f} for day, (c, f) in sorted(days.items())]
