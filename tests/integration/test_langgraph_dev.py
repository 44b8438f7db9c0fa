"""`langgraph dev` serving the incident graph, driven with langgraph-sdk through the approval interrupt and resume.

The server runs as a subprocess of the venv's `langgraph` (offline, no reload, a free port on 127.0.0.1) with the
demo fleet, a seeded SQLite metrics store, a tmp outbox and a fresh Postgres database for the checkpointer that
langgraph.json names; it is stopped with its process group (and its stdio tools server) at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from .conftest import FleetInfo
from .langgraph_dev_env import SDK_TIMEOUT_S, DevServer, langgraph_binary, start_dev_server

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def langgraph_bin() -> Path:
    return langgraph_binary()


@pytest_asyncio.fixture(loop_scope="module")
async def dev_server(langgraph_bin: Path, demo_fleet: FleetInfo, tmp_path: Path) -> AsyncIterator[DevServer]:
    """`langgraph dev` on a free port, pointed at the demo fleet; stopped (process group) afterwards."""
    async with start_dev_server(langgraph_bin, demo_fleet, tmp_path) as server:
        yield server


async def _checkpoints_in_postgres(url: str, thread_id: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=3) as conn:
        row = await (
            await conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,))
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.timeout(120)
async def test_interrupt_and_resume_through_the_sdk(dev_server: DevServer, demo_fleet: FleetInfo) -> None:
    host = demo_fleet.host_with("memory_pressure")
    async with asyncio.timeout(SDK_TIMEOUT_S), get_client(url=dev_server.url, api_key=None) as client:
        assistants = await client.assistants.search(graph_id="incident")
        assert assistants, f"no assistant for graph 'incident':\n{dev_server.log_tail()}"
        assistant = assistants[0]["assistant_id"]
        thread = (await client.threads.create())["thread_id"]
        request: dict[str, Any] = {"kind": "operator", "hosts": [host], "lang": "en", "incident_id": thread}

        first = await client.runs.wait(thread, assistant, input={"request": request})
        assert isinstance(first, dict) and "__interrupt__" in first, f"the run did not stop at the approval: {first}"
        state = await client.threads.get_state(thread)
        assert state["next"] == ["request_approval"]
        pending = [i for task in state["tasks"] for i in task["interrupts"]]
        assert len(pending) == 1 and [i["id"] for i in state["interrupts"]] == [pending[0]["id"]]
        ask = pending[0]["value"]
        assert ask["action_request"]["action"] == "purchase_request"
        assert ask["action_request"]["args"]["host"] == host
        assert ask["config"] == {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}
        assert host in ask["description"]
        assert (await client.threads.get(thread))["status"] == "interrupted"
        assert not dev_server.outbox_file.exists(), "a notification was sent before the approval"

        await client.runs.wait(thread, assistant, command={"resume": {"type": "accept"}})
        final = await client.threads.get_state(thread)
        assert (await client.threads.get(thread))["status"] == "idle"

    values = final["values"]
    assert isinstance(values, dict)
    assert final["next"] == [] and not final["interrupts"]
    assert values["report"]["markdown"] and values["report"]["written_by"] == "template"
    assert [(p["host"], p["status"]) for p in values["purchase_requests"]] == [(host, "approved")]
    assert [n["status"] for n in values["notifications"]] == ["sent"]
    lines = [json.loads(line) for line in dev_server.outbox_file.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0]["idempotency_key"] == f"{thread}:report:outbox"
    assert "approved" in lines[0]["body_markdown"]
    stored = await _checkpoints_in_postgres(dev_server.checkpoint_url, thread)
    assert stored is None or stored > 0, "the thread's checkpoints are not in the Postgres database"
