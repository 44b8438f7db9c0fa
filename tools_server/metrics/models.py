"""Results of the metrics store: plain floats (percent 0–100) and ISO 8601 timestamps carrying the offset.

Status columns keep the reference vocabulary: 正常 normal, 异常 abnormal, 丢失 lost (no data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

STATUS_NORMAL = "正常"
STATUS_ABNORMAL = "异常"
STATUS_LOST = "丢失"
PROCESS_RUNNING = "运行中"
PROCESS_STOPPED = "未运行"

MetricComponent = Literal["cpu", "memory", "disk", "network", "packet_loss", "user_load"]
EnvironmentKind = Literal["temperature", "humidity", "battery", "ups_supply", "voltage", "current"]


def _iso(value: object) -> object:
    """Accept a datetime or an ISO string; return the ISO string (offset kept when present)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError as exc:
            msg = f"not an ISO 8601 timestamp: {value!r}"
            raise ValueError(msg) from exc
    return value


IsoTime = Annotated[str, BeforeValidator(_iso)]


class HostSample(BaseModel):
    """One row of howso_server_performance_metrics: a host's usage and statuses at collect_time."""

    ip: str = Field(description="Host IP, the reference's host identity")
    collect_time: IsoTime = Field(description="When the sample was collected (ISO 8601 with offset)")
    cpu_usage: float | None = Field(None, description="CPU usage percent 0–100; None when lost")
    cpu_status: str | None = None
    memory_usage: float | None = Field(None, description="Memory usage percent 0–100; None when lost")
    memory_status: str | None = None
    disk_usage: float | None = Field(None, description="Disk usage percent 0–100; None when lost")
    disk_status: str | None = None
    network_status: str | None = None
    packet_loss_status: str | None = None
    user_load_status: str | None = None
    bk_cloud_id: int | None = Field(None, description="BlueKing cloud area id")


class AbnormalHost(HostSample):
    """A host's latest sample in the window, with why it is reported."""

    breaches: list[str] = Field(description='What is wrong, e.g. "memory 93.1% ≥ 90%" or "network 异常"')
    components: list[MetricComponent] = Field(description="The components concerned, without repeats")
    lost: bool = Field(False, description="Some status of the latest sample is 丢失 (no data)")


class EnvironmentReading(BaseModel):
    """One row of power_monitoring_avg_data (machine-room averages), with the anomalies found in it."""

    inspection_time: IsoTime
    room: str | None = Field(None, description="Room or site, when the table has a room column")
    avg_temperature: float | None = Field(None, description="°C")
    avg_temperature_status: str | None = None
    avg_humidity: float | None = Field(None, description="Relative humidity %")
    avg_humidity_status: str | None = None
    battery_capacity: float | None = Field(None, description="UPS battery %, when the table has the column")
    battery_status: str | None = None
    ups_supply_time: float | None = Field(None, description="Minutes the UPS can supply the load")
    avg_input_voltage: float | None = None
    avg_input_voltage_status: str | None = None
    avg_output_voltage: float | None = None
    avg_output_voltage_status: str | None = None
    avg_input_current: float | None = None
    avg_input_current_status: str | None = None
    avg_output_current: float | None = None
    avg_output_current_status: str | None = None
    anomalies: list[str] = Field(default_factory=list, description='e.g. "temperature 31.2°C > 27°C"')
    kinds: list[EnvironmentKind] = Field(default_factory=list, description="The kinds of anomaly, without repeats")


class ServiceStatusRow(BaseModel):
    """One service check of plat_service_monitoring."""

    server_ip: str
    service_name: str
    status: str = Field(description="正常 when the port answered, else 异常")
    process_status: str | None = Field(None, description="运行中 or 未运行")
    insert_time: IsoTime
    platform: str | None = None
    server_name: str | None = None
    service_id: str | None = Field(None, description="Process or jar the check looks for")
    port: int | None = None
    response_time: str | None = Field(None, description='As the checker wrote it, e.g. "12.40ms" or "超时"')
    batch_id: str | None = None


class CategoryCounts(BaseModel):
    """Anomalous samples per category (value over threshold or status 异常); `lost` counts 丢失 samples."""

    cpu: int = 0
    memory: int = 0
    disk: int = 0
    network: int = 0
    packet_loss: int = 0
    user_load: int = 0
    lost: int = 0


class HostAggregate(BaseModel):
    """One host over a report window."""

    ip: str
    samples: int
    anomalous_samples: int
    counts: CategoryCounts
    avg_cpu: float | None
    max_cpu: float | None
    avg_memory: float | None
    max_memory: float | None
    avg_disk: float | None
    max_disk: float | None
    last_collect_time: IsoTime


class ServiceDown(BaseModel):
    """A service that failed at least one check in the window (status 异常 or process 未运行)."""

    server_ip: str
    service_name: str
    platform: str | None
    checks: int
    failures: int
    last_failure: IsoTime
    last_status: str = Field(description="Status of the latest check in the window")


class EnvironmentSummary(BaseModel):
    """Machine-room readings over a report window."""

    readings: int
    anomalous_readings: int
    by_kind: dict[str, int] = Field(description="Anomalous readings per kind (temperature, humidity, battery, ...)")
    worst: list[EnvironmentReading] = Field(description="The hottest anomalous reading per room, hottest first")


class StoragePoolSummary(BaseModel):
    """One NAS pool over a report window (nas_pools_detail)."""

    server_name: str | None
    pool_name: str
    checks: int
    anomalies: int
    avg_usage: float | None
    max_usage: float | None


class DayPoint(BaseModel):
    """One calendar day (in the store's timezone) of a report window."""

    day: str = Field(description="YYYY-MM-DD")
    hosts: int
    samples: int
    anomalous_samples: int
    avg_cpu: float | None
    avg_memory: float | None
    avg_disk: float | None
    service_failures: int
    environment_anomalies: int


class ReportAggregates(BaseModel):
    """Everything a daily or weekly report needs from the metrics store, computed by the store."""

    start: IsoTime
    end: IsoTime
    hosts: int
    samples: int
    anomalous_samples: int
    counts: CategoryCounts = Field(description="Anomalous samples per category over all hosts")
    hosts_with_anomalies: int
    worst_hosts: list[HostAggregate] = Field(description="Most anomalous samples first, at most 10")
    service_checks: int
    service_failures: int
    services_down: list[ServiceDown]
    environment: EnvironmentSummary
    storage_pools: list[StoragePoolSummary]
    days: list[DayPoint]
