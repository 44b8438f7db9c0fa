"""The SQLite backend (the embedded default): the reference schema in one WAL-mode file, created on first use."""

from __future__ import annotations

import sqlite3
from datetime import tzinfo
from pathlib import Path

from tools_server.metrics.pool import ConnectionPool
from tools_server.metrics.sql_common import SQLITE
from tools_server.metrics.sql_store import SqlMetricsStore

MEMORY = ":memory:"


def open_sqlite(path: Path | str, *, tz: tzinfo, pool_size: int = 4, busy_timeout_s: float = 10.0) -> SqlMetricsStore:
    """A store in the SQLite file `path` (parent folders created); ":memory:" keeps one private connection."""
    memory = str(path) == MEMORY
    if not memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    def connect() -> sqlite3.Connection:
        # isolation_level=None: statements autocommit; writes open their own BEGIN ... COMMIT.
        conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        if not memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return SqlMetricsStore(
        dialect=SQLITE,
        pool=ConnectionPool(connect, 1 if memory else pool_size, lambda exc: False),
        tz=tz,
        errors=(sqlite3.Error,),
        label=f"sqlite:///{path}",
        auto_schema=True,
    )
