"""The MetricsStore over SQL (MySQL or SQLite): blocking driver calls run in worker threads via asyncio.to_thread."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from importlib import resources
from typing import Any, TypeVar

from tools_server.metrics import rows
from tools_server.metrics import sql_common as q
from tools_server.metrics.aggregates import RawAggregates, build_aggregates
from tools_server.metrics.evaluate import reading_anomalies, sample_breaches
from tools_server.metrics.models import (
    AbnormalHost,
    EnvironmentReading,
    HostSample,
    ReportAggregates,
    ServiceStatusRow,
)
from tools_server.metrics.pool import ConnectionPool
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStoreError, MetricThresholds
from tools_server.metrics.times import aware, to_db

log = logging.getLogger(__name__)
T = TypeVar("T")
_CHUNK = 1000
_MISSING_TABLE = re.compile(r"no such table|doesn't exist|1146", re.IGNORECASE)


def load_schema(dialect: str) -> list[str]:
    """The DDL statements shipped in schema/<dialect>.sql, comments dropped."""
    text = resources.files("tools_server.metrics").joinpath("schema", f"{dialect}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class SqlMetricsStore:
    """The reference schema over a pool of blocking connections; one class, two dialects."""

    def __init__(
        self,
        *,
        dialect: q.Dialect,
        pool: ConnectionPool,
        tz: tzinfo,
        errors: tuple[type[Exception], ...],
        label: str,
        auto_schema: bool,
    ) -> None:
        self._d = dialect
        self._pool = pool
        self.tz = tz
        self._errors = errors
        self._label = label
        self._schema_ready = not auto_schema

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._label}>"

    async def _call(self, fn: Callable[[Any], T]) -> T:
        if not self._schema_ready:
            await self.ensure_schema()
        return await self._run(fn)

    async def _run(self, fn: Callable[[Any], T]) -> T:
        try:
            return await asyncio.to_thread(self._pool.run, fn)
        except self._errors as exc:
            hint = ""
            if _MISSING_TABLE.search(str(exc)):
                hint = " — the metrics tables are missing: run `opswatchdog metrics seed` or ensure_schema() first"
            msg = f"metrics store {self._label}: {exc}{hint}"
            raise MetricsStoreError(msg) from exc

    def _select(self, sql: str, params: Sequence[object]) -> Callable[[Any], list[rows.Row]]:
        def fn(conn: Any) -> list[rows.Row]:
            return _fetch(conn, self._d.sql(sql), params)

        return fn

    def _window(self, start: datetime, end: datetime) -> tuple[str, str]:
        if aware(start, self.tz) > aware(end, self.tz):
            msg = f"window start {start.isoformat()} is after its end {end.isoformat()}"
            raise ValueError(msg)
        return to_db(start, self.tz), to_db(end, self.tz)

    async def ensure_schema(self) -> None:
        """Create the reference tables if missing; existing tables are left exactly as they are."""
        statements = load_schema(self._d.name)

        def fn(conn: Any) -> None:
            cur = conn.cursor()
            try:
                for stmt in statements:
                    cur.execute(stmt)
            finally:
                cur.close()

        await self._run(fn)
        self._schema_ready = True

    async def abnormal_hosts(self, start: datetime, end: datetime, thresholds: MetricThresholds) -> list[AbnormalHost]:
        """Latest sample per host in the window, kept when it breaches a threshold or has a bad status."""
        found = await self._call(self._select(q.LATEST_PER_HOST, self._window(start, end)))
        hosts = [h for r in found if (h := sample_breaches(rows.sample(r, self.tz), thresholds)) is not None]
        return sorted(hosts, key=lambda h: (-len(h.breaches), rows.ip_key(h.ip)))

    async def host_history(self, ip: str, start: datetime, end: datetime) -> list[HostSample]:
        """Every sample of `ip` in the window, oldest first."""
        found = await self._call(self._select(q.HOST_HISTORY, (ip, *self._window(start, end))))
        return [rows.sample(r, self.tz) for r in found]

    async def environment_anomalies(
        self, start: datetime, end: datetime, limits: EnvironmentLimits
    ) -> list[EnvironmentReading]:
        """Room readings in the window outside the limits or with a bad status, oldest first."""
        found = await self._call(self._select(q.ENVIRONMENT, self._window(start, end)))
        readings = [reading_anomalies(rows.reading(r, self.tz), limits) for r in found]
        return [r for r in readings if r.anomalies]

    async def service_status(
        self, start: datetime, end: datetime, ip: str | None = None, service: str | None = None
    ) -> list[ServiceStatusRow]:
        """Service checks in the window, oldest first, optionally of one server IP and/or service."""
        sql, params = q.SERVICE_WINDOW, list(self._window(start, end))
        if ip is not None:
            sql, params = sql + q.SERVICE_BY_IP, [*params, ip]
        if service is not None:
            sql, params = sql + q.SERVICE_BY_NAME, [*params, service, service]
        found = await self._call(self._select(sql + q.SERVICE_ORDER, params))
        return [rows.service(r, self.tz) for r in found]

    async def report_aggregates(
        self,
        start: datetime,
        end: datetime,
        thresholds: MetricThresholds,
        limits: EnvironmentLimits | None = None,
    ) -> ReportAggregates:
        """Aggregates of a report window, computed in the database (one connection, one thread hop)."""
        lo, hi = self._window(start, end)
        t = thresholds
        day_lo, day_hi = lo[:10], hi[:10]

        def fn(conn: Any) -> RawAggregates:
            sql = self._d.sql
            limits_ = (t.cpu_pct, t.memory_pct, t.disk_pct)
            return RawAggregates(
                hosts=_fetch(conn, sql(q.AGG_HOSTS), q.agg_params(*limits_, lo, hi, days=False)),
                days=_fetch(conn, sql(q.AGG_DAYS), q.agg_params(*limits_, lo, hi, days=True)),
                services_down=_fetch(conn, sql(q.SERVICES_DOWN), (lo, hi)),
                service_days=_fetch(conn, sql(q.SERVICE_DAYS), (lo, hi)),
                environment=_fetch(conn, sql(q.ENVIRONMENT), (lo, hi)),
                nas=_fetch(conn, sql(q.NAS_POOLS), (day_lo, day_hi)),
            )

        raw = await self._call(fn)
        return build_aggregates(raw, aware(start, self.tz), aware(end, self.tz), limits or EnvironmentLimits(), self.tz)

    async def write_samples(self, samples: Sequence[HostSample]) -> int:
        """Insert samples; one already stored for the same ip and collect_time is skipped."""
        now = to_db(datetime.now(self.tz), self.tz)
        values: list[tuple[object, ...]] = []
        for s in samples:
            at = to_db(datetime.fromisoformat(s.collect_time), self.tz)
            values.append((
                rows.row_id("s", s.ip, at), s.ip, at, _pct(s.cpu_usage), s.cpu_status, _pct(s.memory_usage),
                s.memory_status, _pct(s.disk_usage), s.disk_status, s.network_status, s.packet_loss_status,
                s.user_load_status, s.bk_cloud_id, now,
            ))  # fmt: skip
        return await self._insert(q.insert_sql(self._d, q.METRICS, q.SAMPLE_COLUMNS), values)

    async def write_environment(self, readings: Sequence[EnvironmentReading]) -> int:
        """Insert room readings; one already stored for the same room and time is skipped."""
        values: list[tuple[object, ...]] = []
        for r in readings:
            at = to_db(datetime.fromisoformat(r.inspection_time), self.tz)
            data = r.model_dump()
            row: list[object] = [rows.row_id("e", r.room or "", at)]
            row += [_round(data[c]) if isinstance(data[c], float) else data[c] for c in q.ENVIRONMENT_COLUMNS[1:-1]]
            values.append((*row, at))
        return await self._insert(q.insert_sql(self._d, q.POWER, q.ENVIRONMENT_COLUMNS), values)

    async def write_service_checks(self, rows_: Sequence[ServiceStatusRow], batch_id: str) -> int:
        """Insert one batch of service checks under `batch_id`."""
        values: list[tuple[object, ...]] = []
        for r in rows_:
            at = to_db(datetime.fromisoformat(r.insert_time), self.tz)
            key = rows.row_id("v", batch_id, r.server_ip, r.service_name, r.port, at)
            values.append((
                key, batch_id, r.platform, r.server_name, r.server_ip, r.service_name, r.service_id, r.port, r.status,
                r.process_status, r.response_time, at,
            ))  # fmt: skip
        return await self._insert(q.insert_sql(self._d, q.SERVICES, q.SERVICE_COLUMNS), values)

    async def _insert(self, sql: str, values: Sequence[tuple[object, ...]]) -> int:
        if not values:
            return 0

        def fn(conn: Any) -> int:
            cur = conn.cursor()
            try:
                cur.execute("BEGIN")
                for i in range(0, len(values), _CHUNK):
                    cur.executemany(sql, list(values[i : i + _CHUNK]))
                cur.execute("COMMIT")
            except BaseException:
                _rollback(cur)
                raise
            finally:
                cur.close()
            return len(values)

        return await self._call(fn)

    async def close(self) -> None:
        """Close the pooled connections."""
        await asyncio.to_thread(self._pool.close)


def _fetch(conn: Any, sql: str, params: Sequence[object]) -> list[rows.Row]:
    cur = conn.cursor()
    try:
        cur.execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        cur.close()


def _rollback(cur: Any) -> None:
    # The original error matters more than a failed rollback (the connection may already be gone).
    try:
        cur.execute("ROLLBACK")
    except Exception as exc:
        log.debug("rollback failed: %s", exc)


def _round(value: float) -> float:
    return round(value, 2)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
