"""`langgraph dev` as a test peer: a subprocess of the venv's `langgraph` (offline, no reload, a free port on
127.0.0.1) serving langgraph.json (the incident graph and the mounted webhook app) with the demo fleet, a seeded
SQLite metrics store, a tmp outbox and a fresh Postgres database for the checkpointer; stopped with its process
group (and its stdio tools server) at the end. `start_dev_server(...)` yields a DevServer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.metrics_cmd import seed_store
from tests.conftest import REPO_ROOT
from tests.support.postgres import fresh_database
from tests.support.run_env import run_environment

from .conftest import FleetInfo

LANGGRAPH = Path(sys.executable).parent / "langgraph"
PG_ADMIN_URL = os.environ.get("OPSWD_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OFFLINE = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}
# Settings of the caller's shell that would send the run elsewhere: a remote MCP server, a real LLM, LangSmith.
_FOREIGN = ("OPSWD_MCP_URL", "OPSWD_MCP_TOKEN", "OPSWD_LLM_BASE_URL", "OPSWD_LLM_API_KEY", "OPSWD_LLM_API_KEY_FILE")
# Bounded well under the test's 120 s: start-up, both runs, and a stop that escalates to SIGKILL after 10 s.
START_TIMEOUT_S = 40.0
SDK_TIMEOUT_S = 60.0


def _skip_or_fail(msg: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _checkpoint_store(tmp: Path) -> AsyncIterator[str]:
    """A fresh Postgres database (dropped afterwards); SQLite in `tmp` when Postgres is down, outside CI."""
    try:
        admin = await psycopg.AsyncConnection.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Postgres not reachable at {PG_ADMIN_URL}: {exc}")
        print(f"Postgres not reachable ({exc}); checkpoints in SQLite instead", file=sys.stderr)
        yield f"sqlite:///{tmp / 'checkpoints.db'}"
        return
    async with fresh_database(admin, PG_ADMIN_URL, "opswd_lgdev") as url:
        yield url


def _descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc): the stdio tools server runs in a session of its own."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it after 10 s; then end any descendant left over."""
    family = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    deadline = time.monotonic() + 3  # a stdio server exits on stdin EOF; give it a moment first
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in family):
        time.sleep(0.05)
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class DevServer:
    """A running `langgraph dev`: its URL, checkpoint store, outbox and log."""

    url: str
    checkpoint_url: str
    outbox_file: Path
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's output, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else "(no log)"


def _server_env(fleet: FleetInfo, tmp: Path, checkpoint_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _FOREIGN and not k.startswith("LANGSMITH_")}
    return {
        **base,
        **OFFLINE,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **run_environment(
            fleet.inventory, fleet.known_hosts, tmp, checkpoint_url, connect_timeout_s=2, command_timeout_s=15
        ),
    }


async def _wait_ready(server: DevServer, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{server.url}/ok")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    pytest.fail(f"langgraph dev did not answer /ok within {START_TIMEOUT_S:g} s:\n{server.log_tail()}")


@contextlib.contextmanager
def _running(command: list[str], env: dict[str, str], log: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield proc
    finally:
        _stop(proc)


def langgraph_binary() -> Path:
    """The venv's `langgraph` CLI (skipped locally, failed in CI, when it is not installed)."""
    if not LANGGRAPH.is_file():
        _skip_or_fail(f"{LANGGRAPH} not found: install the test extras (langgraph-cli[inmem])")
    return LANGGRAPH


@contextlib.asynccontextmanager
async def start_dev_server(
    langgraph_bin: Path, fleet: FleetInfo, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[DevServer]:
    """`langgraph dev` on a free port, pointed at `fleet`; `extra_env(checkpoint_url)` adds settings."""
    await seed_store(
        store=f"sqlite:///{tmp_path / 'metrics.db'}", scenario="demo", hosts=20, days=1, interval_minutes=30
    )
    async with _checkpoint_store(tmp_path) as checkpoint_url:
        port = _free_port()
        server = DevServer(
            f"http://127.0.0.1:{port}", checkpoint_url, tmp_path / "notifications.jsonl", tmp_path / "langgraph-dev.log"
        )
        command = [str(langgraph_bin), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
        env = {**_server_env(fleet, tmp_path, checkpoint_url), **(extra_env or {})}
        with server.log.open("wb") as log, _running(command, env, log) as proc:
            await _wait_ready(server, proc)
            yield server
