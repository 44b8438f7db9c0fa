"""The MetricsStore protocol every backend implements, with the thresholds and limits its queries take.

Contract for backends (MySQL, SQLite, Prometheus):
- Window bounds are aware datetimes, both inclusive; a naive datetime is read in the store's timezone.
- Results are the pydantic models of `models.py`: plain floats, ISO 8601 strings carrying the offset.
- Blocking I/O never runs on the event loop.
- A read-only backend (Prometheus) raises ReadOnlyStoreError from the write methods.
- `factory.open_store` builds backends; the Prometheus one is `prometheus.PrometheusStore(base_url, *, tz)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools_server.metrics.models import (
    AbnormalHost,
    EnvironmentReading,
    HostSample,
    ReportAggregates,
    ServiceStatusRow,
)


class MetricsStoreError(RuntimeError):
    """The store could not answer (database down, table missing); the message says what to do."""


class ReadOnlyStoreError(MetricsStoreError):
    """A write was asked of a backend that only reads (Prometheus)."""


class MetricThresholds(BaseModel):
    """Usage percentages at or above which a host's latest sample is reported (all three honoured).

    90 % for each, the same level as the SSH inspection's critical thresholds (settings.Thresholds), so a
    host the metrics store flags is one the inspection will also call critical.
    """

    model_config = ConfigDict(frozen=True)

    cpu_pct: float = Field(90.0, gt=0, le=100, description="CPU usage percent at or above which a host is reported")
    memory_pct: float = Field(90.0, gt=0, le=100, description="Memory usage percent at or above which it is reported")
    disk_pct: float = Field(90.0, gt=0, le=100, description="Disk usage percent at or above which it is reported")


class EnvironmentLimits(BaseModel):
    """Machine-room limits; a reading outside any of them (or with an 异常 status) is an anomaly.

    Temperature: 27 °C, the recommended upper inlet bound (ASHRAE TC 9.9, GB 50174-2017) — heat is the
    failure that grows fastest. Humidity: 20–80 %, the ASHRAE A1 allowable range (static below,
    condensation above); the tighter recommended band would alert all summer. UPS battery below 80 %
    means it is discharging or worn; under 15 min of UPS supply cannot bridge a generator start.
    """

    model_config = ConfigDict(frozen=True)

    temperature_max_c: float = Field(27.0, description="Room temperature above this (°C) is an anomaly")
    humidity_min_pct: float = Field(20.0, ge=0, le=100, description="Relative humidity below this (%) is an anomaly")
    humidity_max_pct: float = Field(80.0, ge=0, le=100, description="Relative humidity above this (%) is an anomaly")
    ups_battery_min_pct: float = Field(80.0, ge=0, le=100, description="UPS battery capacity below this (%)")
    ups_supply_min_minutes: float = Field(15.0, ge=0, description="UPS supply time below this (minutes)")

    @model_validator(mode="after")
    def _ordered(self) -> EnvironmentLimits:
        if self.humidity_min_pct > self.humidity_max_pct:
            low, high = self.humidity_min_pct, self.humidity_max_pct
            msg = f"humidity_min_pct ({low}) must not exceed humidity_max_pct ({high})"
            raise ValueError(msg)
        return self


@runtime_checkable
class MetricsStore(Protocol):
    """Where fleet metrics live: the reference MySQL schema, its SQLite twin, or Prometheus."""

    async def ensure_schema(self) -> None:
        """Create the reference tables if missing (CREATE TABLE IF NOT EXISTS); never alters existing ones."""
        ...

    async def abnormal_hosts(self, start: datetime, end: datetime, thresholds: MetricThresholds) -> list[AbnormalHost]:
        """Hosts whose latest sample in [start, end] breaches a threshold or has an 异常/丢失 status."""
        ...

    async def host_history(self, ip: str, start: datetime, end: datetime) -> list[HostSample]:
        """Every sample of one host in [start, end], oldest first."""
        ...

    async def environment_anomalies(
        self, start: datetime, end: datetime, limits: EnvironmentLimits
    ) -> list[EnvironmentReading]:
        """Room readings in [start, end] outside the limits or with an abnormal status, oldest first."""
        ...

    async def service_status(
        self, start: datetime, end: datetime, ip: str | None = None, service: str | None = None
    ) -> list[ServiceStatusRow]:
        """Service checks in [start, end], oldest first, optionally of one server IP and/or one service."""
        ...

    async def report_aggregates(
        self,
        start: datetime,
        end: datetime,
        thresholds: MetricThresholds,
        limits: EnvironmentLimits | None = None,
    ) -> ReportAggregates:
        """Counts, worst hosts, services down, environment anomalies and per-day series for a report window."""
        ...

    async def write_samples(self, samples: Sequence[HostSample]) -> int:
        """Insert host samples (a sample already stored for the same ip and time is skipped); returns rows sent."""
        ...

    async def write_environment(self, readings: Sequence[EnvironmentReading]) -> int:
        """Insert room readings (duplicates of room and time skipped); returns rows sent."""
        ...

    async def write_service_checks(self, rows: Sequence[ServiceStatusRow], batch_id: str) -> int:
        """Insert one batch of service checks; returns rows sent."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
