"""The processes a benchmark runs against: the simulated fleet, a fresh Postgres database, the webhook service."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from tests.support.run_env import run_environment

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("OPSWD_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def start_fleet(hosts: int, out: Path) -> subprocess.Popen[str]:
    """`python -m simfleet` (healthy, no services) writing its inventory to `out`, once it says it is ready."""
    command = [sys.executable, "-m", "simfleet", "--hosts", str(hosts), "--scenario", "healthy", "--no-services"]
    proc = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "simfleet ready" not in line:
        proc.kill()
        raise SystemExit(f"simfleet did not start: {line!r}")
    return proc


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty database on the PG_ADMIN_URL server: its URL; dropped (connections forced out) at the end."""
    import psycopg

    from tests.support.postgres import fresh_database

    try:
        admin = await psycopg.AsyncConnection.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"Postgres not reachable at {PG_ADMIN_URL}: {exc}") from exc
    async with fresh_database(admin, PG_ADMIN_URL, "opswd_bench") as url:
        yield url


def service_environment(fleet: Path, work: Path, db_url: str, token: str, max_runs: int) -> dict[str, str]:
    """os.environ without the caller's OPSWD_* (no LLM, no remote MCP server) plus this run's settings.

    Everything not set here (the settle times, the worker's priority) is the service's own default."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPSWD_")} | {
        "PYTHONPATH": str(ROOT),
        **run_environment(
            fleet / "inventory.yaml", fleet / "known_hosts", work, db_url, connect_timeout_s=10, command_timeout_s=30
        ),
        "OPSWD_SERVICE__TOKEN": token,
        "OPSWD_SERVICE__INBOX_URL": db_url,
        "OPSWD_SERVICE__FOLD_WINDOW_S": "900",
        "OPSWD_SERVICE__LEASE_S": "30",
        "OPSWD_SERVICE__POLL_S": "0.5",
        "OPSWD_SERVICE__MAX_CONCURRENT_RUNS": str(max_runs),
    }


def settle_setting(env: Mapping[str, str]) -> tuple[float, float]:
    """(settle_s, settle_max_s) the service runs with under `env`: its defaults unless `env` sets them."""
    from service.settings import ServiceSettings

    fields = ServiceSettings.model_fields
    return (
        float(env.get("OPSWD_SERVICE__SETTLE_S", fields["settle_s"].default)),
        float(env.get("OPSWD_SERVICE__SETTLE_MAX_S", fields["settle_max_s"].default)),
    )


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[tuple[str, int]]:
    """`python -m app serve` on a free port until /healthz answers 200: (URL, pid); SIGTERM at the end."""
    from tests.support.alertmanager import free_port

    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as probe:
            for _ in range(240):
                if proc.poll() is not None:
                    raise SystemExit(f"the service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.25)
            else:
                raise SystemExit(f"the service was not healthy within 60 s:\n{log.read_text()[-3000:]}")
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the service, its worker and tools server only
            proc.wait()
