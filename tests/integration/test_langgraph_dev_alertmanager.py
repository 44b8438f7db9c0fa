"""The webhook app mounted in `langgraph dev` (langgraph.json `http.app`), driven by a real Alertmanager.

Alertmanager posts to the LangGraph server's port; the app commits the alert to the Postgres inbox and its
dispatcher runs the incident through the server's own API (SdkDriver), so the thread is a LangGraph server
thread: the test reads it with langgraph-sdk (interrupted at the approval, idle after it), answers through
`POST /approvals/{id}`, and sees the notification and, after the alert resolves, the resolved incident.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.support.alertmanager import start_alertmanager
from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .langgraph_dev_env import DevServer, langgraph_binary, start_dev_server
from .service_env import TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SERVICE_ENV = {
    "OPSWD_SERVICE__TOKEN": TOKEN,
    "OPSWD_SERVICE__LEASE_S": "10",
    "OPSWD_SERVICE__POLL_S": "0.3",
    "OPSWD_SERVICE__SETTLE_S": "0.5",
}


@pytest_asyncio.fixture(loop_scope="module")
async def dev_server(demo_fleet: FleetInfo, tmp_path: Path) -> AsyncIterator[DevServer]:
    async with start_dev_server(langgraph_binary(), demo_fleet, tmp_path, SERVICE_ENV) as server:
        if not server.checkpoint_url.startswith("postgresql"):
            pytest.skip("the webhook inbox needs Postgres")
        yield server


async def _until(what: str, probe: Callable[[], Awaitable[Any]], server: DevServer, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}:\n{server.log_tail()}")


def _outbox(server: DevServer) -> list[dict[str, Any]]:
    if not server.outbox_file.is_file():
        return []
    return [json.loads(line) for line in server.outbox_file.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(150)
async def test_alertmanager_to_langgraph_dev_thread_and_back(
    dev_server: DevServer, demo_fleet: FleetInfo, tmp_path: Path
) -> None:
    host = next(
        h for h in load_inventory(demo_fleet.inventory).hosts if h.name == demo_fleet.host_with("memory_pressure")
    )
    labels = {"alertname": "HostMemoryPressure", "instance": f"{host.address}:9100", "severity": "warning"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx.AsyncClient(base_url=dev_server.url, headers=headers, timeout=10) as api,
        get_client(url=dev_server.url, api_key=None) as sdk,
    ):

        async def incident_in(state: str) -> dict[str, Any] | None:
            rows = (await api.get("/incidents")).json()["incidents"]
            assert len(rows) <= 1, rows
            return rows[0] if rows and rows[0]["run_state"] == state else None

        with start_alertmanager(tmp_path, f"{dev_server.url}/webhooks/alertmanager", auth=("bearer", TOKEN)) as am:
            await asyncio.to_thread(am.fire, labels, {"summary": f"memory pressure on {host.name}"})
            incident = await _until("the incident to wait for approval", lambda: incident_in("waiting"), dev_server)

            thread_id = incident["thread_id"]
            assert (await sdk.threads.get(thread_id))["status"] == "interrupted"
            state = await sdk.threads.get_state(thread_id)
            assert state["next"] == ["request_approval"]
            ask = state["interrupts"][0]["value"]
            assert ask["action_request"]["args"]["host"] == host.name
            assert _outbox(dev_server) == []

            [approval] = (await api.get("/approvals")).json()["approvals"]
            assert approval["thread_id"] == thread_id and approval["host"] == host.name
            answer = await api.post(
                f"/approvals/{approval['approval_id']}", json={"decision": "accept", "approver": "dana"}
            )
            assert answer.status_code == 202, answer.text
            await _until("the run to finish", lambda: incident_in("done"), dev_server)

            assert (await sdk.threads.get(thread_id))["status"] == "idle"
            final = (await sdk.threads.get_state(thread_id))["values"]
            assert isinstance(final, dict)
            assert [(p["host"], p["status"]) for p in final["purchase_requests"]] == [(host.name, "approved")]
            assert [n["status"] for n in final["notifications"]] == ["sent"]
            assert [m["incident_id"] for m in _outbox(dev_server)] == [incident["id"]]

            await asyncio.to_thread(am.resolve, labels)

            async def resolved() -> bool:
                return bool((await api.get(f"/incidents/{incident['id']}")).json()["status"] == "resolved")

            await _until("the incident to resolve", resolved, dev_server)
            await _until("the resolved notice", lambda: _has_resolved(dev_server), dev_server)


async def _has_resolved(server: DevServer) -> bool:
    return any(":resolved:" in m["idempotency_key"] for m in _outbox(server))
