"""Rows of either SQL driver (dicts of Decimal/datetime or float/text) → the store's pydantic models."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import tzinfo
from typing import Any

from tools_server.metrics.models import EnvironmentReading, HostSample, ServiceStatusRow
from tools_server.metrics.sql_common import ENVIRONMENT_COLUMNS, as_float, as_int, as_str
from tools_server.metrics.times import from_db

Row = dict[str, Any]
_STATUS = ("cpu_status", "memory_status", "disk_status", "network_status", "packet_loss_status", "user_load_status")
_ENV_NUMBERS = {
    "battery_capacity", "ups_supply_time", "avg_input_voltage", "avg_output_voltage", "avg_input_current",
    "avg_output_current", "avg_temperature", "avg_humidity",
}  # fmt: skip


def row_id(prefix: str, *parts: object) -> str:
    """A deterministic 20-character primary key (fits the reference's VARCHAR(20)), so re-inserts are skipped."""
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode(), usedforsecurity=False).hexdigest()
    return prefix + digest[: 20 - len(prefix)]


def ip_key(ip: str) -> tuple[int, str]:
    """Sort key putting IPs in numeric order (10.0.0.9 before 10.0.0.10), other names after them."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (1, ip)
    return (0, f"{addr.version}{int(addr):039d}")


def sample(row: Row, tz: tzinfo) -> HostSample:
    """A howso_server_performance_metrics row → HostSample."""
    return HostSample(
        ip=str(row["ip"]),
        collect_time=from_db(row["collect_time"], tz),
        cpu_usage=as_float(row.get("cpu_usage")),
        memory_usage=as_float(row.get("memory_usage")),
        disk_usage=as_float(row.get("disk_usage")),
        bk_cloud_id=as_int(row.get("bk_cloud_id")),
        **{name: as_str(row.get(name)) for name in _STATUS},
    )


def reading(row: Row, tz: tzinfo) -> EnvironmentReading:
    """A power_monitoring_avg_data row → EnvironmentReading (anomalies not yet evaluated)."""
    values: dict[str, Any] = {}
    for name in ENVIRONMENT_COLUMNS:
        if name in ("id", "inspection_time"):
            continue
        raw = row.get(name)
        values[name] = as_float(raw) if name in _ENV_NUMBERS else as_str(raw)
    return EnvironmentReading(inspection_time=from_db(row["inspection_time"], tz), **values)


def service(row: Row, tz: tzinfo) -> ServiceStatusRow:
    """A plat_service_monitoring row → ServiceStatusRow."""
    return ServiceStatusRow(
        server_ip=str(row["server_ip"]),
        service_name=str(row["service_name"]),
        status=as_str(row.get("status")) or "",
        process_status=as_str(row.get("process_status")),
        insert_time=from_db(row["insert_time"], tz),
        platform=as_str(row.get("platform")),
        server_name=as_str(row.get("server_name")),
        service_id=as_str(row.get("service_id")),
        port=as_int(row.get("port")),
        response_time=as_str(row.get("response_time")),
        batch_id=as_str(row.get("batch_id")),
    )
