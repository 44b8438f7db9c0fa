"""Where the standalone service runs investigations: its worker child (the default), supervised, or inline.

- kill -9 of the worker: the service keeps answering webhooks, starts another worker, and an alert that came
  in meanwhile is investigated by it.
- OPSWD_SERVICE__RUNS=inline: no child process; the same alert is investigated in the service's own loop.
- An incident's run waits until no alert joined it for the settle time (storms fold first).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio

from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env
from .service_env import ServiceHandle, serving

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]


@pytest_asyncio.fixture(loop_scope="module")
async def genv(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphEnv]:
    async with fresh_postgres_database("opswd_worker") as url:
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)


def _workers() -> list[psutil.Process]:
    return [c for c in psutil.Process().children() if "worker" in " ".join(c.cmdline())]


def _body(fleet: FleetInfo, alertname: str, fault: str = "disk_full") -> bytes:
    host = {h.name: h for h in load_inventory(fleet.inventory).hosts}[fleet.host_with(fault)]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    labels = {"alertname": alertname, "instance": f"{host.address}:9100", "severity": "warning"}
    alert = {"status": "firing", "labels": labels, "annotations": {}, "startsAt": now,
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": ""}  # fmt: skip
    return json.dumps({
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}"}}', "truncatedAlerts": 0, "status": "firing",
        "receiver": "opswatchdog", "groupLabels": {"alertname": alertname}, "commonLabels": labels,
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "alerts": [alert],
    }).encode()  # fmt: skip


async def _post(svc: ServiceHandle, body: bytes) -> str:
    answer = await svc.client.post("/webhooks/alertmanager", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    [incident] = answer.json()["incidents"]
    return str(incident)


async def _run_state(svc: ServiceHandle, incident: str, *ending: str, timeout_s: float = 90) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        row = await svc.incident(incident)
        assert row["run_state"] != "failed", row
        return row if row["run_state"] in ending else None

    found: dict[str, Any] = await svc.wait_for(f"{incident} {'/'.join(ending)}", ended, timeout_s=timeout_s)
    return found


async def test_a_killed_worker_is_replaced_and_nothing_is_lost(genv: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(genv, monkeypatch) as svc:
        [first] = await svc.wait_for("the worker", lambda: asyncio.to_thread(_workers), timeout_s=10)
        # It lowers its CPU priority first thing, before its imports.
        await svc.wait_for("a nicer worker", lambda: asyncio.to_thread(lambda: first.nice() > os.nice(0)), 10)
        os.kill(first.pid, signal.SIGKILL)
        # The webhook does not depend on the worker: it answers while there is none.
        incident = await _post(svc, _body(genv.fleet, "WhileNoWorker"))
        workers = await svc.wait_for(
            "a new worker", lambda: asyncio.to_thread(lambda: [w for w in _workers() if w.pid != first.pid])
        )
        assert len(workers) == 1
        row = await _run_state(svc, incident, "done", "waiting")
        assert row["run_attempts"] in (0, 1) and row["outcome"]["hosts_inspected"] == 1, row


async def test_inline_runs_need_no_worker(genv: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSWD_SERVICE__RUNS", "inline")
    async with serving(genv, monkeypatch) as svc:
        incident = await _post(svc, _body(genv.fleet, "InlineRun"))
        row = await _run_state(svc, incident, "done", "waiting")
        assert _workers() == [] and row["outcome"]["hosts_inspected"] == 1, row


async def test_the_run_waits_for_the_storm_to_settle(genv: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(genv, monkeypatch, settle_s=2.0) as svc:
        started = time.monotonic()
        incident = await _post(svc, _body(genv.fleet, "StormA"))
        for name in ("StormB", "StormC"):  # same host: they fold into the incident, each restarts the wait
            await asyncio.sleep(1.0)
            assert (await svc.incident(incident))["run_state"] == "pending"
            assert await _post(svc, _body(genv.fleet, name)) == incident
        last_alert = time.monotonic()
        row = await _run_state(svc, incident, "running", "done", "waiting", timeout_s=30)
        assert time.monotonic() - last_alert >= 1.9, "the run started before the incident settled"
        assert time.monotonic() - started < 20
        done = await _run_state(svc, incident, "done", "waiting")
        # One run covered all three alerts: no follow-up was needed.
        assert done["run_revision"] == done["alert_revision"] == 3 and row["id"] == incident, done
