"""kill -9 of the standalone service (`python -m app serve`) after the webhook answered and before the run
finished; a new process re-drives the incident from the inbox and its checkpoint: it completes once, with one
notification.

The alert names an unreachable host (its inspection holds for the SSH connect timeout) and a full disk, so the
run is still inside the inspection when the process dies. The dispatcher's lease is short here (3 s): the new
process claims the dead one's incident as soon as the lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import pytest_asyncio

from tests.conftest import REPO_ROOT
from tests.support.alertmanager import free_port
from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env
from .service_env import TOKEN, service_environment

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(150)]


@pytest_asyncio.fixture(loop_scope="module")
async def genv(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphEnv]:
    async with fresh_postgres_database("opswd_kill") as url:
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)


def _webhook(fleet: FleetInfo) -> dict[str, Any]:
    hosts = {h.name: h for h in load_inventory(fleet.inventory).hosts}
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    alerts = []
    for fault, name in (("unreachable", "NodeDown"), ("disk_full", "HostDiskFull")):
        host = hosts[fleet.host_with(fault)]
        labels = {"alertname": name, "instance": f"{host.address}:9100", "severity": "critical", "job": "node"}
        alerts.append(
            {
                "status": "firing", "labels": labels, "annotations": {"summary": f"{name} on {host.name}"},
                "startsAt": now, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "",
            }
        )  # fmt: skip
    return {
        "version": "4", "groupKey": '{}:{job="node"}', "truncatedAlerts": 0, "status": "firing",
        "receiver": "opswatchdog", "groupLabels": {"job": "node"}, "commonLabels": {"job": "node"},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "alerts": alerts,
    }  # fmt: skip


async def _serve(genv: GraphEnv, port: int, log: Path) -> asyncio.subprocess.Process:
    env = {**genv.subprocess_env(), **service_environment(genv, lease_s=3.0)}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "serve", "--port", str(port),
            cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip


async def _ready(client: httpx.AsyncClient, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"serve did not become healthy in 30 s:\n{log.read_text()[-3000:]}")


async def _kill_9(proc: asyncio.subprocess.Process) -> list[str]:
    """kill -9 the service alone; its children (worker, tools server) must go by themselves: those that did not
    within 10 s are killed and returned."""
    family = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    _, alive = await asyncio.to_thread(psutil.wait_procs, family, 10)
    left = []
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(" ".join(child.cmdline()))
            child.kill()
    return left


async def _incidents(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/incidents")
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["incidents"]
    return rows


async def test_kill_9_after_the_answer_then_restart_completes_once(genv: GraphEnv, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        proc = await _serve(genv, port, log)
        try:
            await _ready(client, proc, log)
            answer = await client.post("/webhooks/alertmanager", content=json.dumps(_webhook(genv.fleet)),
                                       headers={"Content-Type": "application/json"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            [incident_id] = answer.json()["incidents"]
            deadline = time.monotonic() + 30
            while (await _incidents(client))[0]["run_state"] != "running":
                assert time.monotonic() < deadline, "the run never started"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # inside the run: the MCP session is up, the inspections are in flight
            assert any("worker" in " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children()), "no worker"
        finally:
            orphans = await _kill_9(proc)
        assert orphans == [], "children outlived the killed service"
        assert genv.outbox_lines() == [], "the run finished before the kill: nothing was in flight"

        proc = await _serve(genv, port, log)
        try:
            await _ready(client, proc, log)
            deadline = time.monotonic() + 90
            while (row := (await _incidents(client))[0])["run_state"] != "done":
                assert row["run_state"] != "failed", f"{row}\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"not done after the restart: {row}\n{log.read_text()[-3000:]}"
                await asyncio.sleep(0.2)
            detail = (await client.get(f"/incidents/{incident_id}")).json()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                await _kill_9(proc)
    assert row["id"] == incident_id and row["status"] == "open", row
    reports = [m for m in genv.outbox_lines() if ":report:" in m["idempotency_key"]]
    assert len(reports) == 1 and reports[0]["incident_id"] == incident_id, genv.outbox_lines()
    results = detail["live"]
    assert results["hosts_inspected"] == 2 and results["hosts_unreachable"] == [genv.fleet.host_with("unreachable")]
