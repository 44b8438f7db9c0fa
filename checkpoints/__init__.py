"""The checkpoint saver factory: Postgres (pooled AsyncPostgresSaver) or SQLite (embedded default).

`async with open_checkpointer(settings) as saver:` yields a set-up saver and closes its pool or file on exit.
Postgres connections are autocommit, dict_row and prepare_threshold=0 (what AsyncPostgresSaver requires and
what keeps it working behind PgBouncer); the schema migration runs once per process per database, under a
Postgres advisory lock so replicas starting together do not race on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from checkpoints.settings import (
    CheckpointDatabaseUnavailable,
    CheckpointError,
    CheckpointSettings,
    CheckpointURLError,
    PostgresTarget,
    SqliteTarget,
    checkpoint_settings_from_env,
    parse_checkpoint_url,
)

__all__ = [
    "CheckpointDatabaseUnavailable",
    "CheckpointError",
    "CheckpointSettings",
    "CheckpointURLError",
    "checkpoint_settings_from_env",
    "open_checkpointer",
    "parse_checkpoint_url",
]

log = logging.getLogger(__name__)

# Databases (conninfo without password) whose schema this process has already migrated.
_migrated: set[str] = set()
# Any constant bigint works; it only has to be the same in every process that migrates this schema.
_SETUP_LOCK_KEY = 0x6F707377_64636B70  # "opswdckp"
_SETUP_LOCK_WAIT_S = 120.0


@asynccontextmanager
async def open_checkpointer(settings: CheckpointSettings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open the configured checkpoint store and yield a set-up saver (raises CheckpointError subclasses)."""
    target = settings.target()
    if isinstance(target, SqliteTarget):
        async with _open_sqlite(target) as sqlite_saver:
            yield sqlite_saver
    else:
        async with _open_postgres(target, settings) as pg_saver:
            yield pg_saver


@asynccontextmanager
async def _open_sqlite(target: SqliteTarget) -> AsyncIterator[AsyncSqliteSaver]:
    path = target.path
    try:
        if path != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path))
    except (OSError, aiosqlite.Error) as exc:
        msg = f"cannot open the SQLite checkpoint file {target.describe()}: {exc}"
        raise CheckpointDatabaseUnavailable(msg) from exc
    try:
        saver = AsyncSqliteSaver(conn)
        try:
            await saver.setup()
        except aiosqlite.Error as exc:
            msg = f"cannot set up the SQLite checkpoint file {target.describe()}: {exc}"
            raise CheckpointDatabaseUnavailable(msg) from exc
        log.info("checkpoints in %s", target.describe())
        yield saver
    finally:
        await conn.close()


@asynccontextmanager
async def _open_postgres(target: PostgresTarget, settings: CheckpointSettings) -> AsyncIterator[AsyncPostgresSaver]:
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        target.conninfo,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        kwargs={"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0},
        timeout=settings.connect_timeout_s,
        name="opswd-checkpoints",
        open=False,
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout_s)
    except PoolTimeout as exc:
        await pool.close()
        reason = await _connect_error(target, settings.connect_timeout_s)
        msg = (
            f"cannot reach the checkpoint database {target.describe()} within {settings.connect_timeout_s:g} s: "
            f"{reason}; check OPSWD_CHECKPOINTS__URL and that Postgres is running"
        )
        raise CheckpointDatabaseUnavailable(msg) from exc
    try:
        await _migrate_once(pool, target)
        log.info("checkpoints in %s (pool %d..%d)", target.describe(), settings.pool_min, settings.pool_max)
        yield AsyncPostgresSaver(pool)
    finally:
        await pool.close()


async def _migrate_once(pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]], target: PostgresTarget) -> None:
    if target.redacted in _migrated:
        return
    try:
        async with pool.connection() as conn:
            await _advisory_lock(conn, target)
            try:
                await AsyncPostgresSaver(conn).setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
    except psycopg.Error as exc:
        msg = f"cannot create the checkpoint tables in {target.describe()}: {exc}"
        raise CheckpointDatabaseUnavailable(msg) from exc
    _migrated.add(target.redacted)


async def _advisory_lock(conn: psycopg.AsyncConnection[Any], target: PostgresTarget) -> None:
    """Take the migration lock by polling: a session blocked in pg_advisory_lock() holds a transaction open,
    which the migration's CREATE INDEX CONCURRENTLY waits for, so the two would deadlock."""
    deadline = asyncio.get_running_loop().time() + _SETUP_LOCK_WAIT_S
    while True:
        row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK_KEY,))).fetchone()
        if row is not None and row["got"]:
            return
        if asyncio.get_running_loop().time() > deadline:
            msg = f"another process has been creating the checkpoint tables in {target.describe()} for over "
            msg += f"{_SETUP_LOCK_WAIT_S:g} s; check pg_stat_activity for a stuck migration"
            raise CheckpointDatabaseUnavailable(msg)
        await asyncio.sleep(0.05)


async def _connect_error(target: PostgresTarget, timeout_s: float) -> str:
    """Why a direct connection fails (the pool only reports a timeout)."""
    try:
        async with asyncio.timeout(timeout_s):
            conn = await psycopg.AsyncConnection.connect(target.conninfo, connect_timeout=max(1, int(timeout_s)))
    except (psycopg.Error, TimeoutError) as exc:
        return str(exc).strip() or type(exc).__name__
    await conn.close()
    return "connections succeed now but did not in time (database overloaded or at max_connections?)"
