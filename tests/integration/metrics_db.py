"""Fixtures of the metrics-store tests: each test runs against SQLite (a temp file) and the MariaDB on 127.0.0.1."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pymysql
import pytest
import pytest_asyncio

from tools_server.metrics.factory import open_store
from tools_server.metrics.models import EnvironmentReading, HostSample, ServiceStatusRow
from tools_server.metrics.protocol import MetricsStore
from tools_server.metrics.sql_common import TABLES
from tools_server.metrics.times import DB_FORMAT

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
T0 = datetime(2024, 5, 10, 12, 0, tzinfo=TZ)
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
OK, BAD, LOST = "正常", "异常", "丢失"


@dataclass
class Backend:
    """A database of one kind, reachable raw (DB-API) and by store URL."""

    kind: str
    url: str
    target: str

    def connect(self) -> Any:
        if self.kind == "sqlite":
            return sqlite3.connect(self.target, isolation_level=None)
        return pymysql.connect(**MARIADB, database=self.target, autocommit=True, charset="utf8mb4")

    def execute(self, sql: str, *rows: tuple[Any, ...]) -> None:
        """Run raw SQL (`?` placeholders) once, or once per row; SQLite gets the text a SQLite DB would hold."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            if self.kind == "mysql":
                sql = sql.replace("?", "%s")
            for row in rows or [()]:
                cur.execute(sql, tuple(_sqlite_value(v) for v in row) if self.kind == "sqlite" else row)
        finally:
            conn.close()

    def tables(self) -> set[str]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'" if self.kind == "sqlite" else "SHOW TABLES"
            )
            return {r[0] for r in cur.fetchall()}
        finally:
            conn.close()

    def reset(self) -> None:
        """Empty the metrics tables that exist."""
        for table in set(TABLES) & self.tables():
            self.execute(f"DELETE FROM {table}")

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the metrics table against writers until the block ends (another connection, another thread)."""
        conn = self.connect()
        cur = conn.cursor()
        cur.execute(
            "BEGIN IMMEDIATE" if self.kind == "sqlite" else "LOCK TABLES howso_server_performance_metrics WRITE"
        )
        try:
            yield
        finally:
            cur.execute("COMMIT" if self.kind == "sqlite" else "UNLOCK TABLES")
            conn.close()

    def kill_other_connections(self) -> int:
        """Make the server drop every other connection to this database (MariaDB); SQLite has none to drop."""
        if self.kind == "sqlite":
            return 0
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()", (self.target,)
            )
            ids = [r[0] for r in cur.fetchall()]
            for pid in ids:
                cur.execute(f"KILL {int(pid)}")
            return len(ids)
        finally:
            conn.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime(DB_FORMAT)
    return value


def _mariadb_or_skip() -> None:
    try:
        pymysql.connect(**MARIADB, connect_timeout=3).close()
    except pymysql.err.OperationalError as exc:
        msg = f"MariaDB not reachable on 127.0.0.1:3306 ({exc}); start it with mysqld_safe --bind-address=127.0.0.1"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@contextmanager
def fresh_backend(kind: str, tmp: Path) -> Iterator[Backend]:
    """An empty database: a new SQLite file, or a new MariaDB database dropped afterwards."""
    if kind == "sqlite":
        path = tmp / f"metrics-{uuid.uuid4().hex[:8]}.db"
        yield Backend("sqlite", f"sqlite:///{path}", str(path))
        return
    _mariadb_or_skip()
    name = f"opswd_test_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(**MARIADB, autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield Backend("mysql", f"mysql://root@127.0.0.1:3306/{name}", name)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def metrics_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with fresh_backend(request.param, tmp_path_factory.mktemp("metrics")) as b:
        yield b


@pytest.fixture
def empty_metrics_backend(metrics_backend: Backend, tmp_path: Path) -> Iterator[Backend]:
    with fresh_backend("sqlite" if metrics_backend.kind == "sqlite" else "mariadb", tmp_path) as b:
        yield b


@pytest_asyncio.fixture
async def metrics_store(metrics_backend: Backend) -> AsyncIterator[MetricsStore]:
    s = open_store(metrics_backend.url, timezone=TZ_NAME)
    await s.ensure_schema()
    metrics_backend.reset()
    yield s
    await s.close()


def sample(
    ip: str, at: datetime, cpu: float = 20.0, mem: float = 40.0, disk: float = 50.0, **status: str
) -> HostSample:
    columns = ("cpu", "memory", "disk", "network", "packet_loss", "user_load")
    values = {f"{c}_status": status.get(f"{c}_status", OK) for c in columns}
    return HostSample(ip=ip, collect_time=at, cpu_usage=cpu, memory_usage=mem, disk_usage=disk, bk_cloud_id=0, **values)


def reading(minutes: int, room: str = "机房A", **values: Any) -> EnvironmentReading:
    base: dict[str, Any] = {
        "avg_temperature": 23.0, "avg_humidity": 45.0, "battery_capacity": 100.0, "ups_supply_time": 40.0,
        "avg_input_voltage": 220.0, "avg_input_voltage_status": OK, "avg_temperature_status": OK,
    }  # fmt: skip
    return EnvironmentReading(inspection_time=T0 - timedelta(minutes=minutes), room=room, **(base | values))


def check(ip: str, name: str, minutes: int, ok: bool = True, service_id: str = "app.jar") -> ServiceStatusRow:
    return ServiceStatusRow(
        server_ip=ip, service_name=name, service_id=service_id, port=8080, insert_time=T0 - timedelta(minutes=minutes),
        status=OK if ok else BAD, process_status="运行中" if ok else "未运行", response_time="3.20ms" if ok else "超时",
    )  # fmt: skip
