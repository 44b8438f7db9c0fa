"""Pure rules every backend shares: why a host sample or a room reading is abnormal, when a service is down."""

from __future__ import annotations

from tools_server.metrics.models import (
    PROCESS_STOPPED,
    STATUS_ABNORMAL,
    STATUS_LOST,
    AbnormalHost,
    EnvironmentKind,
    EnvironmentReading,
    HostSample,
    MetricComponent,
    ServiceStatusRow,
)
from tools_server.metrics.protocol import EnvironmentLimits, MetricThresholds

BAD_STATUSES = (STATUS_ABNORMAL, STATUS_LOST)
_STATUS_ONLY: tuple[MetricComponent, ...] = ("network", "packet_loss", "user_load")
_ELECTRICAL: tuple[tuple[EnvironmentKind, str], ...] = (
    ("voltage", "avg_input_voltage"),
    ("voltage", "avg_output_voltage"),
    ("current", "avg_input_current"),
    ("current", "avg_output_current"),
)


def num(value: float) -> str:
    """Format a number for a breach line: 93.1, 90 (no trailing zeros)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def sample_breaches(sample: HostSample, thresholds: MetricThresholds) -> AbnormalHost | None:
    """Return the sample as an AbnormalHost when a usage is at/over its threshold or a status is 异常/丢失."""
    breaches: list[str] = []
    components: list[MetricComponent] = []
    lost = False
    usage: tuple[tuple[MetricComponent, float | None, str | None, float], ...] = (
        ("cpu", sample.cpu_usage, sample.cpu_status, thresholds.cpu_pct),
        ("memory", sample.memory_usage, sample.memory_status, thresholds.memory_pct),
        ("disk", sample.disk_usage, sample.disk_status, thresholds.disk_pct),
    )
    for name, value, status, limit in usage:
        if value is not None and value >= limit:
            breaches.append(f"{name} {num(value)}% ≥ {num(limit)}%")
        elif status in BAD_STATUSES:
            breaches.append(f"{name} {status}" + (f" ({num(value)}%)" if value is not None else ""))
        else:
            continue
        components.append(name)
        lost = lost or status == STATUS_LOST
    for name in _STATUS_ONLY:
        status = getattr(sample, f"{name}_status")
        if status in BAD_STATUSES:
            breaches.append(f"{name} {status}")
            components.append(name)
            lost = lost or status == STATUS_LOST
    if not breaches:
        return None
    return AbnormalHost(**sample.model_dump(), breaches=breaches, components=components, lost=lost)


def _status_bad(reading: EnvironmentReading, column: str) -> str | None:
    status = getattr(reading, column)
    return status if status in BAD_STATUSES else None


def reading_anomalies(reading: EnvironmentReading, limits: EnvironmentLimits) -> EnvironmentReading:
    """Return the reading with `anomalies` and `kinds` filled from the limits and its status columns."""
    found: list[tuple[EnvironmentKind, str]] = []
    t, h = reading.avg_temperature, reading.avg_humidity
    if t is not None and t > limits.temperature_max_c:
        found.append(("temperature", f"temperature {num(t)}°C > {num(limits.temperature_max_c)}°C"))
    elif status := _status_bad(reading, "avg_temperature_status"):
        found.append(("temperature", f"temperature {status}"))
    if h is not None and h < limits.humidity_min_pct:
        found.append(("humidity", f"humidity {num(h)}% < {num(limits.humidity_min_pct)}%"))
    elif h is not None and h > limits.humidity_max_pct:
        found.append(("humidity", f"humidity {num(h)}% > {num(limits.humidity_max_pct)}%"))
    elif status := _status_bad(reading, "avg_humidity_status"):
        found.append(("humidity", f"humidity {status}"))
    b = reading.battery_capacity
    if b is not None and b < limits.ups_battery_min_pct:
        found.append(("battery", f"UPS battery {num(b)}% < {num(limits.ups_battery_min_pct)}%"))
    elif status := _status_bad(reading, "battery_status"):
        found.append(("battery", f"UPS battery {status}"))
    s = reading.ups_supply_time
    if s is not None and s < limits.ups_supply_min_minutes:
        found.append(("ups_supply", f"UPS supply time {num(s)} min < {num(limits.ups_supply_min_minutes)} min"))
    for kind, column in _ELECTRICAL:
        if status := _status_bad(reading, f"{column}_status"):
            value = getattr(reading, column)
            unit = "V" if kind == "voltage" else "A"
            label = column.removeprefix("avg_").replace("_", " ")
            found.append((kind, f"{label} {status}" + (f" ({num(value)}{unit})" if value is not None else "")))
    kinds: list[EnvironmentKind] = list(dict.fromkeys(k for k, _ in found))
    return reading.model_copy(update={"anomalies": [text for _, text in found], "kinds": kinds})


def service_failing(row: ServiceStatusRow) -> bool:
    """A check failed when the port did not answer (异常) or the process was not running (未运行)."""
    return row.status == STATUS_ABNORMAL or row.process_status == PROCESS_STOPPED
