"""Plausible metric history for a simulated fleet: daily cycles, a climbing leak, a filling disk, lost hosts,
a slow host, a machine room overheating in the last day, and hourly service checks. Pure and deterministic.

Fault kinds follow simfleet's names; kinds with no trace in these tables (SMART, NVMe, dmidecode, SSH
credentials) leave a normal series.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tools_server.metrics.models import (
    PROCESS_RUNNING,
    PROCESS_STOPPED,
    STATUS_ABNORMAL,
    STATUS_LOST,
    STATUS_NORMAL,
    EnvironmentReading,
    HostSample,
    ServiceStatusRow,
)
from tools_server.metrics.protocol import EnvironmentLimits, MetricThresholds

ROOMS = ("机房A", "机房B")
PLATFORM = "OpsWatchdog演示平台"
SERVICES = (("Web前端", "nginx", 80), ("应用服务", "app-server.jar", 8080))
LEAK_KINDS = ("memory_pressure", "swap_use")


@dataclass(frozen=True)
class SeedHost:
    """A host to generate history for: its IP, name and fault kinds with their scenario parameters."""

    ip: str
    name: str
    faults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedPlan:
    """The window and shape of generated history (end is aware; the last sample lands on it)."""

    end: datetime
    days: float = 7.0
    interval_minutes: int = 5
    seed: int = 0
    lost_hours: float = 3.0
    service_interval_minutes: int = 60
    hot_room: str = ROOMS[-1]
    thresholds: MetricThresholds = field(default_factory=MetricThresholds)
    limits: EnvironmentLimits = field(default_factory=EnvironmentLimits)

    def times(self, interval_minutes: int | None = None) -> list[datetime]:
        """Sample times, oldest first, every interval up to `end` (aligned down to the interval)."""
        step = timedelta(minutes=interval_minutes or self.interval_minutes)
        if step <= timedelta(0) or self.days <= 0:
            msg = "days and interval_minutes must be positive"
            raise ValueError(msg)
        day_start = self.end.replace(hour=0, minute=0, second=0, microsecond=0)
        last = day_start + ((self.end - day_start) // step) * step
        count = int(timedelta(days=self.days) / step)
        return [last - (count - 1 - i) * step for i in range(count)]


def daily_cycle(at: datetime, peak_hour: float = 14.0) -> float:
    """0 at night, 1 at the afternoon peak: the shape of office-hours load."""
    hour = at.hour + at.minute / 60
    return 0.5 - 0.5 * math.cos(2 * math.pi * (hour - peak_hour + 12) / 24)


def _ramp(at: datetime, end: datetime, duration: timedelta) -> float:
    """0 before the ramp starts, rising linearly to 1 at `end`."""
    left = (end - at) / duration
    return min(1.0, max(0.0, 1.0 - left))


def _status(value: float, limit: float) -> str:
    return STATUS_ABNORMAL if value >= limit else STATUS_NORMAL


def _clamp(value: float) -> float:
    return round(min(99.9, max(0.1, value)), 2)


def generate_samples(hosts: Sequence[SeedHost], plan: SeedPlan) -> list[HostSample]:
    """One sample per host per interval with each host's faults shaping its series."""
    times, out = plan.times(), []
    span = times[-1] - times[0] + timedelta(minutes=plan.interval_minutes)
    t = plan.thresholds
    for host in hosts:
        rng = random.Random(f"{plan.seed}:samples:{host.ip}")
        cpu_base, cpu_amp = rng.uniform(8, 28), rng.uniform(10, 30)
        mem_base, disk_base = rng.uniform(35, 60), rng.uniform(30, 65)
        disk_growth, peak = rng.uniform(0.05, 0.3), rng.uniform(12, 16)
        leak = next((host.faults[k] for k in LEAK_KINDS if k in host.faults), None)
        leak_target = 100.0 - float((leak or {}).get("available_percent", 5.0))
        leak_span = span if "swap_use" in host.faults else min(span, timedelta(days=3))
        disk_target = float(host.faults.get("disk_full", {}).get("used_percent", 97.0))
        for at in times:
            cycle, elapsed_days = daily_cycle(at, peak), (at - times[0]) / timedelta(days=1)
            cpu = cpu_base + cpu_amp * cycle + rng.gauss(0, 2)
            mem = mem_base + 6 * cycle + rng.gauss(0, 1)
            disk = disk_base + disk_growth * elapsed_days + rng.gauss(0, 0.1)
            user_load = STATUS_NORMAL
            if leak is not None:
                frac = _ramp(at, times[-1], leak_span)
                mem = mem_base + (leak_target - mem_base) * frac + (1 - frac) * 6 * cycle + rng.gauss(0, 0.3)
            if "disk_full" in host.faults:
                frac = _ramp(at, times[-1], min(span, timedelta(days=2)))
                disk = disk + (disk_target - disk) * frac
            if "slow" in host.faults and _ramp(at, times[-1], timedelta(hours=2)) > 0:
                cpu, user_load = cpu + 35, STATUS_ABNORMAL
            if "unreachable" in host.faults and times[-1] - at < timedelta(hours=plan.lost_hours):
                out.append(_lost_sample(host.ip, at))
                continue
            cpu, mem, disk = _clamp(cpu), _clamp(mem), _clamp(disk)
            out.append(
                HostSample(
                    ip=host.ip,
                    collect_time=at.isoformat(),
                    cpu_usage=cpu,
                    cpu_status=_status(cpu, t.cpu_pct),
                    memory_usage=mem,
                    memory_status=_status(mem, t.memory_pct),
                    disk_usage=disk,
                    disk_status=_status(disk, t.disk_pct),
                    network_status=STATUS_NORMAL,
                    packet_loss_status=STATUS_NORMAL,
                    user_load_status=user_load,
                    bk_cloud_id=0,
                )
            )
    return out


def _lost_sample(ip: str, at: datetime) -> HostSample:
    return HostSample(
        ip=ip,
        collect_time=at.isoformat(),
        cpu_status=STATUS_LOST,
        memory_status=STATUS_LOST,
        disk_status=STATUS_LOST,
        network_status=STATUS_ABNORMAL,
        packet_loss_status=STATUS_LOST,
        user_load_status=STATUS_LOST,
        bk_cloud_id=0,
    )


def generate_environment(plan: SeedPlan, rooms: Sequence[str] = ROOMS) -> list[EnvironmentReading]:
    """Room averages per interval; `plan.hot_room` heats from 23 °C to about 33 °C over the last day."""
    out, lim = [], plan.limits
    times = plan.times()
    for room in rooms:
        rng = random.Random(f"{plan.seed}:environment:{room}")
        for at in times:
            cycle = daily_cycle(at)
            temp = 22.5 + cycle + rng.gauss(0, 0.2)
            if room == plan.hot_room:
                temp += 10.5 * _ramp(at, times[-1], timedelta(days=1))
            humidity = 45 - 5 * cycle + rng.gauss(0, 1)
            load = 40 + 10 * cycle
            temp, humidity = round(temp, 2), round(humidity, 2)
            out.append(
                EnvironmentReading(
                    inspection_time=at.isoformat(),
                    room=room,
                    avg_temperature=temp,
                    avg_temperature_status=STATUS_ABNORMAL if temp > lim.temperature_max_c else STATUS_NORMAL,
                    avg_humidity=humidity,
                    avg_humidity_status=STATUS_NORMAL
                    if lim.humidity_min_pct <= humidity <= lim.humidity_max_pct
                    else STATUS_ABNORMAL,
                    battery_capacity=100.0,
                    battery_status=STATUS_NORMAL,
                    ups_supply_time=round(45 + rng.gauss(0, 0.5), 2),
                    avg_input_voltage=round(220 + rng.gauss(0, 1.5), 2),
                    avg_input_voltage_status=STATUS_NORMAL,
                    avg_output_voltage=round(220 + rng.gauss(0, 0.5), 2),
                    avg_output_voltage_status=STATUS_NORMAL,
                    avg_input_current=round(load + rng.gauss(0, 0.5), 2),
                    avg_input_current_status=STATUS_NORMAL,
                    avg_output_current=round(load - 2 + rng.gauss(0, 0.5), 2),
                    avg_output_current_status=STATUS_NORMAL,
                )
            )
    return out


def generate_service_checks(hosts: Sequence[SeedHost], plan: SeedPlan) -> list[tuple[str, list[ServiceStatusRow]]]:
    """Hourly check batches (batch_id, rows): unreachable hosts fail lately, a leaking host's app is OOM-killed."""
    batches = []
    for at in plan.times(plan.service_interval_minutes):
        batch_id = "svc" + at.strftime("%Y%m%d%H%M")
        rows = []
        for host in hosts:
            rng = random.Random(f"{plan.seed}:services:{host.ip}:{at.isoformat()}")
            for name, process, port in SERVICES:
                age = plan.end - at
                down = ("unreachable" in host.faults and age < timedelta(hours=plan.lost_hours)) or (
                    process.endswith(".jar") and any(k in host.faults for k in LEAK_KINDS) and age < timedelta(hours=2)
                )
                rows.append(
                    ServiceStatusRow(
                        server_ip=host.ip,
                        service_name=name,
                        status=STATUS_ABNORMAL if down else STATUS_NORMAL,
                        process_status=PROCESS_STOPPED if down else PROCESS_RUNNING,
                        insert_time=at.isoformat(),
                        platform=PLATFORM,
                        server_name=host.name,
                        service_id=process,
                        port=port,
                        response_time="超时" if down else f"{max(0.3, rng.gauss(3, 1)):.2f}ms",
                        batch_id=batch_id,
                    )
                )
        batches.append((batch_id, rows))
    return batches
