"""`python -m app approvals ...` against real Postgres (a fresh database for checkpoints and the inbox).

1. A webhook incident's thread waits for approval (alert ingested into the inbox, claimed and run to the interrupt
   exactly as the dispatcher does). `approvals list --json` shows what GET /approvals shows; `approvals answer` from
   another process refuses the requester (alertmanager) and stores the answer in the inbox instead of resuming the
   thread, which the dispatcher owns: the thread still waits, nothing is sent; a second answer is refused; the
   dispatcher's next claim carries the stored answer and resuming with it finishes the thread with one notification.
2. A thread with no inbox incident (started by `inspect`), the inbox configured all the same: `approvals answer`
   resumes it in the CLI process, with an edited plan read from a file; nothing goes into the inbox.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.incident_run import IncidentRunner
from service.alert_payload import parse_webhook
from service.approvals import pending_in
from service.dispatcher import ALERT_REQUESTER, incident_request, outcome_of
from service.driver import InProcessDriver
from service.folding import Topology, thread_id_for
from service.inbox import Inbox
from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env, run_app

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

OWNER = "test-dispatcher"


@pytest_asyncio.fixture(loop_scope="module")
async def genv(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphEnv]:
    async with fresh_postgres_database("opswd_approvals_cli") as url:
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)


async def _cli(genv: GraphEnv, *args: str) -> tuple[int, str, str]:
    """`python -m app ARGS` in another process, the inbox on the test database; (status, stdout, stderr)."""
    return await run_app(genv, *args, timeout_s=60, OPSWD_SERVICE__INBOX_URL=genv.checkpoint_url)


def _memory_alert(fleet: FleetInfo) -> bytes:
    host = next(h for h in load_inventory(fleet.inventory).hosts if h.name == fleet.host_with("memory_pressure"))
    labels = {"alertname": "HostMemoryPressure", "instance": f"{host.address}:9100", "severity": "warning"}
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "version": "4", "groupKey": '{}:{alertname="HostMemoryPressure"}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "opswatchdog", "groupLabels": {"alertname": "HostMemoryPressure"},
            "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
            "alerts": [{
                "status": "firing", "labels": labels, "annotations": {"summary": f"memory above 90 % on {host.name}"},
                "startsAt": now, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "",
            }],
        }
    ).encode()  # fmt: skip


async def _answers(inbox: Inbox) -> list[dict[str, Any]]:
    async with inbox.pool.connection() as conn:
        cursor = await conn.execute("SELECT * FROM opswd_approval_answers ORDER BY answered_at")
        return list(await cursor.fetchall())


async def test_a_webhook_thread_gets_its_answer_through_the_inbox(genv: GraphEnv) -> None:
    topology = Topology.from_inventory(genv.fleet.inventory)
    async with (
        Inbox.open(genv.checkpoint_url, topology, pool_max=2) as inbox,
        IncidentRunner.open(genv.checkpoint_settings()) as runner,
    ):
        driver = InProcessDriver(runner)
        [incident_id] = (await inbox.ingest(parse_webhook(_memory_alert(genv.fleet)))).created
        # One dispatcher pass: claim the new incident, run its thread to the question, record it as waiting.
        claim = await inbox.claim_run(OWNER, 60)
        assert claim is not None and claim.thread_id == thread_id_for(incident_id)
        thread = claim.thread_id
        snapshot = await driver.start(thread, incident_request(claim, "en"), "en")
        assert snapshot.waiting, snapshot.next
        assert await inbox.finish_run(incident_id, OWNER, "waiting", outcome_of(snapshot, incident_id))
        [question] = pending_in(thread, snapshot.interrupts, incident_id, ALERT_REQUESTER, snapshot.interrupt_ids)

        code, out, err = await _cli(genv, "approvals", "list", "--json")
        assert code == 0, err
        assert json.loads(out) == [question.as_dict()]
        assert question.requested_by == "alertmanager" and question.action == "purchase_request"
        assert question.answer_key == f"{question.approval_id}/{snapshot.interrupt_ids[0]}"
        code, out, err = await _cli(genv, "approvals", "list")
        assert code == 0 and question.answer_key in out and f"incident {incident_id}" in out, out + err

        code, out, err = await _cli(genv, "approvals", "answer", thread, "accept", "--approver", "AlertManager")
        assert code == 2 and out == "", out
        assert "AlertManager requested this incident and cannot approve it" in err, err
        assert await _answers(inbox) == []

        code, out, err = await _cli(genv, "approvals", "answer", thread, "accept", "--approver", "carol")
        assert code == 0, out + err
        assert f"the webhook service will apply it and resume thread {thread}" in out, out
        [row] = await _answers(inbox)
        assert {k: row[k] for k in ("approval_id", "incident_id", "thread_id", "approver", "requested_by")} == {
            "approval_id": question.answer_key,
            "incident_id": incident_id,
            "thread_id": thread,
            "approver": "carol",
            "requested_by": "alertmanager",
        }
        assert row["answer"] == {"type": "accept", "args": None, "approver": "carol"} and row["applied_at"] is None
        assert (await driver.snapshot(thread)).interrupt_ids == snapshot.interrupt_ids, "the CLI resumed the thread"
        assert genv.outbox_lines() == []

        code, out, err = await _cli(genv, "approvals", "answer", thread, "reject", "--approver", "dave")
        assert code == 2 and f"approval {question.approval_id} was already answered" in err, out + err
        assert len(await _answers(inbox)) == 1

        # The service's next pass claims the incident for the stored answer and resumes with it.
        applied = await inbox.claim_run(OWNER, 60)
        assert applied is not None and applied.reason == "answer" and applied.answer is not None
        assert applied.answer["approval_id"] == question.answer_key
        done = await driver.resume(thread, applied.answer["answer"])
    assert not done.waiting and done.next == []
    assert done.values["approvals"][0]["status"] == "approved" and done.values["approvals"][0]["approver"] == "carol"
    [sent] = genv.outbox_lines()
    assert sent["idempotency_key"].startswith(f"{incident_id}:report:outbox"), sent


async def test_a_thread_without_inbox_incident_is_resumed_by_the_cli(genv: GraphEnv, tmp_path: Path) -> None:
    thread = "cli-direct"
    memory = genv.fleet.host_with("memory_pressure")
    code, out, err = await _cli(genv, "inspect", "--hosts", memory, "--thread", thread)
    assert code == 0, out + err
    code, out, err = await _cli(genv, "approvals", "list", "--json")
    [question] = json.loads(out)
    assert (question["thread_id"], question["incident_id"], question["host"]) == (thread, thread, memory), out
    assert question["requested_by"] is None

    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        [asked] = (await runner.outcome(thread))["interrupts"]
    plan = asked["action_request"]["args"]["plan"]
    edited = {**plan, "reasons": [*plan["reasons"], "edited: order from the framework contract"]}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"plan": edited}))
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('{"plan": ')

    code, out, err = await _cli(genv, "approvals", "answer", thread, "edit", str(bad_file), "--approver", "carol")
    assert code == 2 and f"the edited plan {bad_file} is not valid JSON" in err, out + err
    code, out, err = await _cli(genv, "approvals", "answer", thread, "edit", str(plan_file), "--approver", "carol")
    assert code == 0, out + err
    assert "[notify]" in err and f"notification {thread}:report:outbox: sent" in out, out + err
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        [pr] = (await runner.outcome(thread))["values"]["purchase_requests"]
    assert pr["status"] == "approved" and pr["edited"] is True and pr["plan"] == edited
    assert [m["idempotency_key"] for m in genv.outbox_lines()] == [f"{thread}:report:outbox"]

    code, out, err = await _cli(genv, "approvals", "answer", thread, "accept", "--approver", "carol")
    assert code == 2 and f"thread {thread} is not waiting for an approval" in err, out + err
    topology = Topology.from_inventory(genv.fleet.inventory)
    async with Inbox.open(genv.checkpoint_url, topology, pool_max=2) as inbox:
        assert await _answers(inbox) == [], "an answer to a thread the CLI owns went into the inbox"
