"""The SQL both SQL backends run — one definition of each query — and the row conversions at the boundary.

Queries are written with `?` placeholders; a Dialect says how its driver spells them and a few other bits.
Datetimes are bound as naive local text ("YYYY-MM-DD HH:MM:SS"), which MySQL compares as DATETIME and
SQLite stores as is. Rows select `t.*`, so optional columns (room, battery_capacity) may be absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tools_server.metrics.models import PROCESS_STOPPED, STATUS_ABNORMAL, STATUS_LOST

METRICS = "howso_server_performance_metrics"
SERVICES = "plat_service_monitoring"
POWER = "power_monitoring_avg_data"
NAS = "nas_pools_detail"
SUMMARY = "operation_analysis_summary"
TABLES = (METRICS, SERVICES, POWER, NAS, SUMMARY)


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL backends: placeholder, insert-ignore spelling."""

    name: str
    placeholder: str
    insert_ignore: str

    def sql(self, text: str) -> str:
        """Spell a `?`-placeholder statement for this driver."""
        return text.replace("?", self.placeholder) if self.placeholder != "?" else text


MYSQL = Dialect("mysql", "%s", "INSERT IGNORE INTO")
SQLITE = Dialect("sqlite", "?", "INSERT OR IGNORE INTO")

WINDOW = "collect_time >= ? AND collect_time <= ?"

LATEST_PER_HOST = f"""
SELECT * FROM (
    SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.ip ORDER BY t.collect_time DESC, t.insert_time DESC) AS rn_
    FROM {METRICS} t
    WHERE t.{WINDOW}
) latest WHERE latest.rn_ = 1
"""

HOST_HISTORY = f"SELECT t.* FROM {METRICS} t WHERE t.ip = ? AND t.{WINDOW} ORDER BY t.collect_time, t.insert_time"

ENVIRONMENT = (
    f"SELECT t.* FROM {POWER} t WHERE t.inspection_time >= ? AND t.inspection_time <= ? ORDER BY t.inspection_time"
)

SERVICE_WINDOW = f"SELECT t.* FROM {SERVICES} t WHERE t.insert_time >= ? AND t.insert_time <= ?"
SERVICE_BY_IP = " AND t.server_ip = ?"
SERVICE_BY_NAME = " AND (t.service_name = ? OR t.service_id = ?)"
SERVICE_ORDER = " ORDER BY t.insert_time, t.server_ip, t.service_name"

_BAD_USAGE = {
    "cpu": f"(cpu_usage >= ? OR cpu_status = '{STATUS_ABNORMAL}')",
    "memory": f"(memory_usage >= ? OR memory_status = '{STATUS_ABNORMAL}')",
    "disk": f"(disk_usage >= ? OR disk_status = '{STATUS_ABNORMAL}')",
}
_BAD_STATUS = {name: f"({name}_status = '{STATUS_ABNORMAL}')" for name in ("network", "packet_loss", "user_load")}
_STATUS_COLUMNS = ("cpu", "memory", "disk", "network", "packet_loss", "user_load")
_LOST = "(" + " OR ".join(f"{c}_status = '{STATUS_LOST}'" for c in _STATUS_COLUMNS) + ")"
_ANY_BAD = "(" + " OR ".join([*_BAD_USAGE.values(), *_BAD_STATUS.values(), _LOST]) + ")"


def _count(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


AGG_HOSTS = f"""
SELECT ip, COUNT(*) AS samples, {_count(_ANY_BAD)} AS anomalous,
    {", ".join(f"{_count(cond)} AS {name}" for name, cond in {**_BAD_USAGE, **_BAD_STATUS}.items())},
    {_count(_LOST)} AS lost,
    AVG(cpu_usage) AS avg_cpu, MAX(cpu_usage) AS max_cpu, AVG(memory_usage) AS avg_memory,
    MAX(memory_usage) AS max_memory, AVG(disk_usage) AS avg_disk, MAX(disk_usage) AS max_disk,
    MAX(collect_time) AS last_collect_time
FROM {METRICS} WHERE {WINDOW} GROUP BY ip
"""

AGG_DAYS = f"""
SELECT DATE(collect_time) AS d, COUNT(DISTINCT ip) AS hosts, COUNT(*) AS samples, {_count(_ANY_BAD)} AS anomalous,
    AVG(cpu_usage) AS avg_cpu, AVG(memory_usage) AS avg_memory, AVG(disk_usage) AS avg_disk
FROM {METRICS} WHERE {WINDOW} GROUP BY DATE(collect_time) ORDER BY d
"""


def agg_params(cpu: float, memory: float, disk: float, start: str, end: str, *, days: bool) -> tuple[object, ...]:
    """Parameters of AGG_HOSTS (days=False) or AGG_DAYS (days=True), in placeholder order."""
    any_bad = (cpu, memory, disk)
    return (*any_bad, start, end) if days else (*any_bad, cpu, memory, disk, start, end)


_FAILING = f"(status = '{STATUS_ABNORMAL}' OR process_status = '{PROCESS_STOPPED}')"
_SVC_KEY = "PARTITION BY server_ip, service_name"

SERVICES_DOWN = f"""
SELECT * FROM (
    SELECT server_ip, service_name, platform, status, insert_time,
        COUNT(*) OVER ({_SVC_KEY}) AS checks,
        {_count(_FAILING)} OVER ({_SVC_KEY}) AS failures,
        MAX(CASE WHEN {_FAILING} THEN insert_time END) OVER ({_SVC_KEY}) AS last_failure,
        ROW_NUMBER() OVER ({_SVC_KEY} ORDER BY insert_time DESC) AS rn_
    FROM {SERVICES} WHERE insert_time >= ? AND insert_time <= ?
) s WHERE s.rn_ = 1 AND s.failures > 0 ORDER BY s.failures DESC, s.server_ip, s.service_name
"""

SERVICE_DAYS = f"""
SELECT DATE(insert_time) AS d, COUNT(*) AS checks, {_count(_FAILING)} AS failures
FROM {SERVICES} WHERE insert_time >= ? AND insert_time <= ? GROUP BY DATE(insert_time) ORDER BY d
"""

_USAGE = "CAST(usage_percentage AS DECIMAL(10, 2))"
NAS_POOLS = f"""
SELECT server_name, pool_name, COUNT(*) AS checks, {_count("status <> '正常'")} AS anomalies,
    AVG({_USAGE}) AS avg_usage, MAX({_USAGE}) AS max_usage
FROM {NAS} WHERE inspection_date >= ? AND inspection_date <= ?
GROUP BY server_name, pool_name ORDER BY anomalies DESC, max_usage DESC
"""

SAMPLE_COLUMNS = (
    "id", "ip", "collect_time", "cpu_usage", "cpu_status", "memory_usage", "memory_status", "disk_usage",
    "disk_status", "network_status", "packet_loss_status", "user_load_status", "bk_cloud_id", "insert_time",
)  # fmt: skip
ENVIRONMENT_COLUMNS = (
    "id", "room", "battery_capacity", "battery_status", "ups_supply_time", "avg_input_voltage",
    "avg_input_voltage_status", "avg_output_voltage", "avg_output_voltage_status", "avg_input_current",
    "avg_input_current_status", "avg_output_current", "avg_output_current_status", "avg_temperature",
    "avg_temperature_status", "avg_humidity", "avg_humidity_status", "inspection_time",
)  # fmt: skip
SERVICE_COLUMNS = (
    "id", "batch_id", "platform", "server_name", "server_ip", "service_name", "service_id", "port", "status",
    "process_status", "response_time", "insert_time",
)  # fmt: skip


def insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...]) -> str:
    """An insert that skips rows whose primary key is already stored (re-seeding is idempotent)."""
    marks = ", ".join("?" * len(columns))
    return dialect.sql(f"{dialect.insert_ignore} {table} ({', '.join(columns)}) VALUES ({marks})")


def as_float(value: object) -> float | None:
    """Decimal, int, float or numeric text from either driver → float (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal | int | str):
        return float(value)
    msg = f"not a number from the database: {value!r}"
    raise TypeError(msg)


def as_int(value: object) -> int | None:
    """Integer columns and SUM() results (Decimal under MySQL) → int."""
    number = as_float(value)
    return None if number is None else int(number)


def as_str(value: object) -> str | None:
    """Text columns → str (None stays None)."""
    return None if value is None else str(value)
