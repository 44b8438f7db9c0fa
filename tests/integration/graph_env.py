"""The environment of a whole incident graph run: tools server on the demo fleet, seeded metrics, outbox, checkpoints.

`prepare_graph_env(fleet, tmp, checkpoint_url, monkeypatch)` sets every OPSWD_* variable the stdio tools server
and the graph read (no LLM unless a test sets one), seeds the metrics store and returns a GraphEnv; `env.env`
is the same environment for subprocesses (`python -m app inspect`). `fresh_postgres_database()` gives a new,
empty Postgres database and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.metrics_cmd import seed_store
from checkpoints.settings import CheckpointSettings
from tests.conftest import REPO_ROOT
from tests.support.postgres import fresh_database
from tests.support.run_env import run_environment

from .conftest import FleetInfo

PG_ADMIN_URL = os.environ.get("OPSWD_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Settings of the caller's shell that would change where a run goes: a remote MCP server, a real LLM.
_FOREIGN = ("OPSWD_MCP_URL", "OPSWD_MCP_TOKEN", "OPSWD_LLM_BASE_URL", "OPSWD_LLM_API_KEY", "OPSWD_LLM_API_KEY_FILE")


@dataclass
class GraphEnv:
    """Where one test's run keeps its state, and the environment that points there."""

    root: Path
    fleet: FleetInfo
    checkpoint_url: str
    outbox_file: Path
    env: dict[str, str]

    def checkpoint_settings(self) -> CheckpointSettings:
        """Settings for IncidentRunner.open in the test process (small pool: tests open many)."""
        return CheckpointSettings(url=self.checkpoint_url, pool_max=4, connect_timeout_s=5)

    def subprocess_env(self) -> dict[str, str]:
        """os.environ with this run's settings, for `python -m app ...` children."""
        base = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
        return {**base, **self.env, "PYTHONPATH": str(REPO_ROOT)}

    def outbox_lines(self) -> list[dict[str, Any]]:
        """The messages the outbox channel wrote, one JSON object per line (empty before the first)."""
        return read_outbox(self.outbox_file)


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of an outbox file, or [] when nothing was sent yet."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def graph_environment(fleet: FleetInfo, root: Path, checkpoint_url: str) -> dict[str, str]:
    """The OPSWD_* settings of a run on `fleet` whose files are all under `root`."""
    # The unreachable host costs one connect timeout: keep it short, the fleet is on loopback. The runbook index
    # is shared by the tests of one fleet: building it once is enough.
    return run_environment(
        fleet.inventory,
        fleet.known_hosts,
        root,
        checkpoint_url,
        connect_timeout_s=2,
        command_timeout_s=15,
        knowledge_index=fleet.out / "knowledge-index",
    )


async def prepare_graph_env(
    fleet: FleetInfo, root: Path, checkpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> GraphEnv:
    """Point the tools server and the graph of this process at `fleet` and `root`, and seed the metrics store."""
    root.mkdir(parents=True, exist_ok=True)
    env = graph_environment(fleet, root, checkpoint_url)
    for name in _FOREIGN:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The stdio tools server inherits PYTHON* variables: make sure it imports this checkout.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    await seed_store(store=env["OPSWD_METRICS__URL"], scenario="demo", hosts=20, days=1, interval_minutes=30)
    return GraphEnv(root, fleet, checkpoint_url, root / "notifications.jsonl", env)


async def _admin() -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        msg = f"Postgres not reachable at {PG_ADMIN_URL} ({exc}); start it with pg_ctlcluster 15 main start"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "opswd_graph") -> AsyncIterator[str]:
    """The URL of a new, empty Postgres database, dropped (with its connections) afterwards."""
    async with fresh_database(await _admin(), PG_ADMIN_URL, prefix) as url:
        yield url


async def start_app(genv: GraphEnv, *args: str, **env: str) -> asyncio.subprocess.Process:
    """`python -m app ARGS` in another process on `genv` (plus `env`), its output piped."""
    # Never a blocking subprocess call: the simulated fleet answers SSH on the test's event loop.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", *args,
        cwd=REPO_ROOT, env={**genv.subprocess_env(), **env}, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_app(genv: GraphEnv, *args: str, timeout_s: float = 45, **env: str) -> tuple[int, str, str]:
    """Run `python -m app ARGS` to its end (killed after `timeout_s`): (exit status, stdout, stderr)."""
    proc = await start_app(genv, *args, **env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
