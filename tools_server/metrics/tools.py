"""The metrics tools as plain async functions over a MetricsStore: the one definition the MCP server registers.

Each takes a pydantic input (window as `since`/`until`: an ISO timestamp or a duration back from now) and
returns a pydantic result, bounded for an LLM's context. Bad input raises ToolInputError with the fix.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, tzinfo

from pydantic import BaseModel, Field

from tools_server.context import ToolInputError
from tools_server.metrics.evaluate import service_failing
from tools_server.metrics.models import AbnormalHost, EnvironmentReading, HostSample, ServiceStatusRow
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStore, MetricThresholds
from tools_server.metrics.settings import MetricsSettings
from tools_server.metrics.times import parse_point, resolve_zone

_WHEN = "an ISO 8601 timestamp (2024-05-01T08:00:00+08:00; without an offset it is the store's timezone)"


class WindowInput(BaseModel):
    """A time window."""

    since: str = Field("24h", description=f"Start: a duration back from now (30m, 6h, 7d, 2w) or {_WHEN}")
    until: str | None = Field(None, description=f"End (default now): a duration back from now or {_WHEN}")


class AbnormalHostsInput(WindowInput):
    """Which window and thresholds to find abnormal hosts with."""

    cpu_pct: float | None = Field(None, gt=0, le=100, description="CPU usage threshold %, default from settings")
    memory_pct: float | None = Field(None, gt=0, le=100, description="Memory usage threshold %, default from settings")
    disk_pct: float | None = Field(None, gt=0, le=100, description="Disk usage threshold %, default from settings")
    limit: int = Field(50, ge=1, le=1000, description="Most hosts to return (most breaches first)")


class HostHistoryInput(WindowInput):
    """One host's samples over a window."""

    ip: str = Field(description="The host's IP address (the metrics store identifies hosts by IP)")
    max_points: int = Field(200, ge=2, le=5000, description="Thin the series evenly to at most this many samples")


class EnvironmentInput(WindowInput):
    """Machine-room anomalies over a window, with limits overridable."""

    temperature_max_c: float | None = Field(None, description="Temperature limit °C, default from settings")
    humidity_min_pct: float | None = Field(None, ge=0, le=100, description="Lowest humidity %, default from settings")
    humidity_max_pct: float | None = Field(None, ge=0, le=100, description="Highest humidity %, default from settings")
    ups_battery_min_pct: float | None = Field(None, ge=0, le=100, description="Lowest UPS battery %, default settings")
    limit: int = Field(100, ge=1, le=2000, description="Most readings to return (the latest ones)")


class ServiceStatusInput(WindowInput):
    """Service check history over a window."""

    ip: str | None = Field(None, description="Only checks of this server IP")
    service: str | None = Field(None, description="Only this service (its name or its process/jar name)")
    only_failures: bool = Field(False, description="Only failed checks (port 异常 or process 未运行)")
    limit: int = Field(200, ge=1, le=5000, description="Most checks to return (the latest ones)")


class AbnormalHostsResult(BaseModel):
    """Hosts whose latest sample in the window is abnormal."""

    start: str
    end: str
    thresholds: MetricThresholds
    count: int = Field(description="Abnormal hosts found (before the limit)")
    hosts: list[AbnormalHost]


class HostHistoryResult(BaseModel):
    """One host's series, thinned, with its peaks over the whole window."""

    ip: str
    start: str
    end: str
    count: int = Field(description="Samples in the window (before thinning)")
    peak_cpu: float | None
    peak_memory: float | None
    peak_disk: float | None
    latest: HostSample | None
    samples: list[HostSample]


class EnvironmentResult(BaseModel):
    """Machine-room readings outside the limits."""

    start: str
    end: str
    limits: EnvironmentLimits
    count: int = Field(description="Anomalous readings found (before the limit)")
    readings: list[EnvironmentReading]


class ServiceStatusResult(BaseModel):
    """Service checks in the window, oldest first."""

    start: str
    end: str
    count: int = Field(description="Checks matching the filters (before the limit)")
    failures: int = Field(description="Of those, failed checks")
    rows: list[ServiceStatusRow]


def resolve_window(inp: WindowInput, tz: tzinfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Turn since/until into aware datetimes; a bad value or a reversed window is a ToolInputError."""
    now = now or datetime.now(tz)
    try:
        start = parse_point(inp.since, now, tz)
        end = parse_point(inp.until, now, tz) if inp.until else now.astimezone(tz)
    except ValueError as exc:
        raise ToolInputError(str(exc)) from exc
    if start > end:
        msg = f"since ({start.isoformat()}) is after until ({end.isoformat()}): swap them or widen the window"
        raise ToolInputError(msg)
    return start, end


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        msg = f"{value!r} is not an IP address: the metrics store names hosts by IP (hosts_list shows addresses)"
        raise ToolInputError(msg) from None


def _thin(samples: list[HostSample], most: int) -> list[HostSample]:
    if len(samples) <= most:
        return samples
    return [samples[round(i * (len(samples) - 1) / (most - 1))] for i in range(most)]


def _peak(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


async def metrics_abnormal_hosts(
    store: MetricsStore, inp: AbnormalHostsInput, settings: MetricsSettings | None = None, now: datetime | None = None
) -> AbnormalHostsResult:
    """Hosts over a CPU, memory or disk threshold, or with an 异常/丢失 status, in their latest sample."""
    cfg = settings or MetricsSettings()
    start, end = resolve_window(inp, resolve_zone(cfg.timezone), now)
    given = {n: v for n in ("cpu_pct", "memory_pct", "disk_pct") if (v := getattr(inp, n)) is not None}
    thresholds = cfg.thresholds.model_copy(update=given)
    hosts = await store.abnormal_hosts(start, end, thresholds)
    return AbnormalHostsResult(
        start=start.isoformat(), end=end.isoformat(), thresholds=thresholds, count=len(hosts), hosts=hosts[: inp.limit]
    )


async def metrics_host_history(
    store: MetricsStore, inp: HostHistoryInput, settings: MetricsSettings | None = None, now: datetime | None = None
) -> HostHistoryResult:
    """One host's CPU, memory and disk usage over the window, oldest first."""
    cfg = settings or MetricsSettings()
    ip = _ip(inp.ip)
    start, end = resolve_window(inp, resolve_zone(cfg.timezone), now)
    samples = await store.host_history(ip, start, end)
    return HostHistoryResult(
        ip=ip,
        start=start.isoformat(),
        end=end.isoformat(),
        count=len(samples),
        peak_cpu=_peak([s.cpu_usage for s in samples]),
        peak_memory=_peak([s.memory_usage for s in samples]),
        peak_disk=_peak([s.disk_usage for s in samples]),
        latest=samples[-1] if samples else None,
        samples=_thin(samples, inp.max_points),
    )


async def metrics_environment(
    store: MetricsStore, inp: EnvironmentInput, settings: MetricsSettings | None = None, now: datetime | None = None
) -> EnvironmentResult:
    """Machine-room temperature, humidity and UPS readings outside the limits in the window."""
    cfg = settings or MetricsSettings()
    start, end = resolve_window(inp, resolve_zone(cfg.timezone), now)
    names = ("temperature_max_c", "humidity_min_pct", "humidity_max_pct", "ups_battery_min_pct")
    given = {n: v for n in names if (v := getattr(inp, n)) is not None}
    try:
        limits = EnvironmentLimits.model_validate(cfg.limits.model_dump() | given)
    except ValueError as exc:
        raise ToolInputError(f"environment limits: {exc}") from exc
    readings = await store.environment_anomalies(start, end, limits)
    return EnvironmentResult(
        start=start.isoformat(),
        end=end.isoformat(),
        limits=limits,
        count=len(readings),
        readings=readings[-inp.limit :],
    )


async def metrics_service_status(
    store: MetricsStore, inp: ServiceStatusInput, settings: MetricsSettings | None = None, now: datetime | None = None
) -> ServiceStatusResult:
    """Service check history (port and process status) in the window, optionally of one server or service."""
    cfg = settings or MetricsSettings()
    ip = _ip(inp.ip) if inp.ip is not None else None
    service = inp.service.strip() if inp.service is not None else None
    if service == "":
        raise ToolInputError("service is empty: give a service name or leave it out")
    start, end = resolve_window(inp, resolve_zone(cfg.timezone), now)
    rows = await store.service_status(start, end, ip=ip, service=service)
    failures = [r for r in rows if service_failing(r)]
    chosen = failures if inp.only_failures else rows
    return ServiceStatusResult(
        start=start.isoformat(),
        end=end.isoformat(),
        count=len(chosen),
        failures=len(failures),
        rows=chosen[-inp.limit :],
    )
