"""The MySQL/MariaDB backend through pymysql: the reference schema as is, no migration."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import pymysql

from tools_server.metrics.pool import ConnectionPool
from tools_server.metrics.sql_common import MYSQL
from tools_server.metrics.sql_store import SqlMetricsStore

# Server gone away, lost connection, commands out of sync after a drop, disconnected for inactivity.
_DROPPED = {2006, 2013, 2014, 2055, 4031}


def is_disconnect(exc: BaseException) -> bool:
    """True when pymysql says the connection itself is gone (worth one reconnect), not the statement."""
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in _DROPPED


def open_mysql(
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    database: str,
    tz: tzinfo,
    pool_size: int = 4,
    connect_timeout_s: float = 10.0,
) -> SqlMetricsStore:
    """A store over MySQL/MariaDB; the tables must exist or be created with ensure_schema()."""

    def connect() -> Any:
        return pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",
            # Autocommit: a pooled connection must not read from an old REPEATABLE READ snapshot.
            autocommit=True,
            connect_timeout=connect_timeout_s,
        )

    return SqlMetricsStore(
        dialect=MYSQL,
        pool=ConnectionPool(connect, pool_size, is_disconnect),
        tz=tz,
        errors=(pymysql.err.MySQLError,),
        label=f"mysql://{user}@{host}:{port}/{database}",
        auto_schema=False,
    )
