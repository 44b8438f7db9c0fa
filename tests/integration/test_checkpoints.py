"""open_checkpointer against a real Postgres (a fresh database per test) and SQLite: interrupt, resume, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command
from psycopg_pool import AsyncConnectionPool

import checkpoints
from checkpoints import (
    CheckpointDatabaseUnavailable,
    CheckpointSettings,
    CheckpointURLError,
    open_checkpointer,
    parse_checkpoint_url,
)
from checkpoints.server import make_checkpointer
from checkpoints.settings import PostgresTarget, SqliteTarget
from tests.conftest import REPO_ROOT
from tests.integration.graph_env import fresh_postgres_database
from tests.support.tiny_graph import READY_LINE, build_graph, thread_config

FINAL = {"x": 4, "y": 40, "answer": "yes"}


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """The URL of a new, empty Postgres database, dropped after the test."""
    async with fresh_postgres_database("opswd_ckpt") as url:
        yield url


@pytest.fixture(params=["postgres", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh checkpoint store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ckpt/checkpoints.db"  # tmp_path is absolute: four slashes in all
    url: str = request.getfixturevalue("pg_url")
    return url


async def _resume(url: str, thread_id: str) -> dict[str, object]:
    async with open_checkpointer(CheckpointSettings(url=url)) as saver:
        graph = build_graph(saver)
        state = await graph.aget_state(thread_config(thread_id))
        assert state.next == ("approve",), "the thread is not paused at the interrupt"
        assert state.tasks[0].interrupts[0].value == {"question": "approve?", "y": 40}
        result: dict[str, object] = await graph.ainvoke(Command(resume="yes"), thread_config(thread_id))
        assert (await graph.aget_state(thread_config(thread_id))).next == ()
        return result


async def test_interrupt_then_resume_with_a_new_saver(store_url: str) -> None:
    thread_id = str(uuid.uuid4())
    async with open_checkpointer(CheckpointSettings(url=store_url)) as saver:
        first = await build_graph(saver).ainvoke({"x": 4}, thread_config(thread_id))
    assert "__interrupt__" in first
    assert first["y"] == 40
    assert await _resume(store_url, thread_id) == FINAL


async def test_kill_9_at_the_interrupt_then_resume(store_url: str) -> None:
    thread_id = str(uuid.uuid4())
    env = {**os.environ, "OPSWD_CHECKPOINTS__URL": store_url, "PYTHONPATH": str(REPO_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.tiny_graph", thread_id,
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line.decode().strip() == READY_LINE, (await proc.stderr.read()).decode() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert await _resume(store_url, thread_id) == FINAL


async def test_postgres_setup_is_idempotent(pg_url: str) -> None:
    checkpoints._migrated.clear()
    async with open_checkpointer(CheckpointSettings(url=pg_url, pool_min=1, pool_max=1)) as saver:
        assert isinstance(saver, AsyncPostgresSaver)
        await saver.setup()  # a second migration is a no-op
        await asyncio.gather(*(AsyncPostgresSaver(saver.conn).setup() for _ in range(3)))
    checkpoints._migrated.clear()
    async with open_checkpointer(CheckpointSettings(url=pg_url)):
        pass
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations")
        total, distinct = await cur.fetchone() or (0, 0)
    assert total == distinct > 0


async def test_concurrent_first_opens_do_not_race(pg_url: str) -> None:
    checkpoints._migrated.clear()

    async def open_once() -> None:
        async with open_checkpointer(CheckpointSettings(url=pg_url, pool_min=1, pool_max=1)):
            pass

    await asyncio.gather(*(open_once() for _ in range(4)))


async def test_pool_connections_are_autocommit_dict_row_unprepared(pg_url: str) -> None:
    async with open_checkpointer(CheckpointSettings(url=pg_url)) as saver:
        assert isinstance(saver, AsyncPostgresSaver)
        pool = saver.conn
        assert isinstance(pool, AsyncConnectionPool)
        async with pool.connection() as conn:
            assert conn.autocommit
            assert conn.prepare_threshold is None or conn.prepare_threshold == 0
            row = await (await conn.execute("SELECT 1 AS one")).fetchone()
            assert row == {"one": 1}
    assert pool.closed


async def test_make_checkpointer_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSWD_CHECKPOINTS__URL", f"sqlite:///{tmp_path}/deep/dir/c.db")
    async with make_checkpointer() as saver:
        assert isinstance(saver, AsyncSqliteSaver)
    assert (tmp_path / "deep" / "dir" / "c.db").is_file()


async def test_unreachable_postgres_is_a_clear_error() -> None:
    settings = CheckpointSettings(url="postgresql://postgres@127.0.0.1:1/nowhere", connect_timeout_s=1)
    with pytest.raises(CheckpointDatabaseUnavailable, match=r"cannot reach .*127\.0\.0\.1.*(refused|connect)"):
        async with open_checkpointer(settings):
            pass


async def test_missing_database_names_the_cause(pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/opswd_no_such_db"
    with pytest.raises(CheckpointDatabaseUnavailable, match="does not exist"):
        async with open_checkpointer(CheckpointSettings(url=url, connect_timeout_s=1)):
            pass


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/db", "sqlite://host/x.db", "sqlite:///", "sqlite:///dir/", "postgresql://h:notaport/db",
     "checkpoints.db"],
)  # fmt: skip
async def test_bad_url_raises_checkpoint_url_error(url: str) -> None:
    with pytest.raises(CheckpointURLError):
        async with open_checkpointer(CheckpointSettings(url=url)):
            pass


def test_url_forms() -> None:
    assert parse_checkpoint_url("sqlite:///var/opswatchdog/checkpoints.db") == SqliteTarget(
        Path("var/opswatchdog/checkpoints.db")
    )
    assert parse_checkpoint_url("sqlite:////srv/c.db") == SqliteTarget(Path("/srv/c.db"))
    assert parse_checkpoint_url("sqlite:///:memory:") == SqliteTarget(":memory:")
    target = parse_checkpoint_url("postgresql://ops:inurl@db:5432/ckpt", password="s3cret")
    assert isinstance(target, PostgresTarget)
    assert "s3cret" in target.conninfo and "inurl" not in target.conninfo
    assert "s3cret" not in target.describe() and "dbname=ckpt" in target.describe()


def test_password_from_environment_and_never_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSWD_CHECKPOINTS__URL", "postgresql://ops@db/ckpt")
    monkeypatch.setenv("OPSWD_CHECKPOINTS__PASSWORD", "from-env")
    target = checkpoints.checkpoint_settings_from_env().target()
    assert isinstance(target, PostgresTarget)
    assert "password=from-env" in target.conninfo
    with pytest.raises(CheckpointURLError) as err:
        parse_checkpoint_url("mysql://ops:hunter2@db/x")
    assert "hunter2" not in str(err.value)
