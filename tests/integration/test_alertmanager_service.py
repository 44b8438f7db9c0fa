"""A real Alertmanager drives the standalone app (in this event loop): alert → incident → inspection of the
simulated fleet → approval interrupt → `POST /approvals/{id}` → notification; resolved → incident resolved.

Also: a 500 injected after the inbox commit makes Alertmanager retry, and the retry creates nothing new; alerts
of different Alertmanager groups on one rack fold into one incident.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.alertmanager import start_alertmanager
from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env
from .service_env import ServiceHandle, serving

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def genv(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphEnv]:
    async with fresh_postgres_database("opswd_svc") as url:
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)


def _host(fleet: FleetInfo, name: str) -> Any:
    return next(h for h in load_inventory(fleet.inventory).hosts if h.name == name)


async def _only_incident(svc: ServiceHandle, run_state: str) -> dict[str, Any] | None:
    rows = await svc.incidents()
    assert len(rows) <= 1, f"expected one incident, got {rows}"
    return rows[0] if rows and rows[0]["run_state"] == run_state else None


def _keys(genv: GraphEnv) -> list[str]:
    return [str(m["idempotency_key"]) for m in genv.outbox_lines()]


@pytest.mark.timeout(180)
async def test_alert_to_approval_to_notification_then_resolved(
    genv: GraphEnv, demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = _host(demo_fleet, demo_fleet.host_with("memory_pressure"))
    labels = {"alertname": "HostMemoryPressure", "instance": f"{host.address}:9100", "severity": "warning"}
    async with serving(genv, monkeypatch) as svc:
        with start_alertmanager(tmp_path, svc.webhook_url, auth=("bearer", svc.token)) as am:
            await asyncio.to_thread(am.fire, labels, {"summary": f"memory above 90 % on {host.name}"})
            incident = await svc.wait_for("the incident to wait for approval", lambda: _only_incident(svc, "waiting"))
            assert genv.outbox_lines() == [], "a notification went out before the approval"

            approvals = (await svc.client.get("/approvals")).json()["approvals"]
            assert [(a["host"], a["action"], a["incident_id"]) for a in approvals] == [
                (host.name, "purchase_request", incident["id"])
            ]
            approval = approvals[0]["approval_id"]
            refused = await svc.client.post(
                f"/approvals/{approval}", json={"decision": "accept", "approver": "alertmanager"}
            )
            assert refused.status_code == 403, refused.text
            # An invalid edit is refused by the planner and asked again: the same purchase request, a new question.
            plan = await _plan_of(svc, approval)
            bad = {**plan, "modules_to_add": [{**plan["modules_to_add"][0], "count": plan["free_slots_before"] + 4}]}
            edited = await svc.client.post(
                f"/approvals/{approval}", json={"decision": "edit", "approver": "alice", "plan": bad}
            )
            assert edited.status_code == 202, edited.text
            first_key = approvals[0]["answer_key"]

            async def asked_again() -> dict[str, Any] | None:
                pending = (await svc.client.get("/approvals")).json()["approvals"]
                return next((p for p in pending if p["answer_key"] != first_key), None)

            retry = await svc.wait_for("the refused edit to be asked again", asked_again)
            assert retry["approval_id"] == approval and "The edited plan was refused" in retry["description"]
            accepted = await svc.client.post(f"/approvals/{approval}", json={"decision": "accept", "approver": "alice"})
            assert accepted.status_code == 202, accepted.text
            again = await svc.client.post(f"/approvals/{approval}", json={"decision": "accept", "approver": "bob"})
            assert again.status_code in (404, 409), again.text

            done = await svc.wait_for("the run to finish", lambda: _only_incident(svc, "done"))
            detail = await svc.incident(done["id"])
            assert [a["labels"]["alertname"] for a in detail["alerts"]] == ["HostMemoryPressure"]
            assert any(f["host"] == host.name for f in detail["findings"]), detail["findings"]
            assert detail["report"]["markdown"]
            assert [p["status"] for p in detail["live"]["purchase_requests"]] == ["approved"]
            reports = [k for k in _keys(genv) if ":report:" in k]
            assert len(reports) == 1 and reports[0].startswith(done["id"]), _keys(genv)
            assert "approved" in genv.outbox_lines()[0]["body_markdown"]

            await asyncio.to_thread(am.resolve, labels)
            await svc.wait_for("the incident to be resolved", lambda: _resolved(svc, done["id"]))
            await svc.wait_for("the resolved notice", lambda: _has_resolved_notice(genv))
            await asyncio.sleep(1.0)  # another dispatcher pass must not send it again
    kinds = sorted("report" if ":report:" in k else "resolved" if ":resolved:" in k else k for k in _keys(genv))
    assert kinds == ["report", "resolved"], _keys(genv)


async def _plan_of(svc: ServiceHandle, approval: str) -> dict[str, Any]:
    """The planner's plan of a pending purchase request, as GET /incidents/{id} shows it for editing."""
    detail = await svc.incident((await svc.incidents())[0]["id"])
    plan: dict[str, Any] = next(p["plan"] for p in detail["purchase_requests"] if p["id"] == approval)
    return plan


async def _resolved(svc: ServiceHandle, incident_id: str) -> bool:
    return (await svc.incident(incident_id))["status"] == "resolved"


async def _has_resolved_notice(genv: GraphEnv) -> bool:
    return any(":resolved:" in k for k in _keys(genv))


@pytest.mark.timeout(180)
async def test_a_failed_answer_is_retried_and_a_rack_storm_folds(
    genv: GraphEnv, demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = {"left": 1}

    async def fail_once(_result: object) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("injected failure after the inbox commit")

    inventory = load_inventory(demo_fleet.inventory).hosts
    disk = _host(demo_fleet, demo_fleet.host_with("disk_full"))
    rack_mates = [h for h in inventory if h.rack == disk.rack and h.name != disk.name and not demo_fleet.faults[h.name]]
    assert rack_mates, "the demo fleet has no healthy host in the disk_full host's rack"
    mate = rack_mates[0]
    async with serving(genv, monkeypatch, after_ingest=fail_once) as svc:
        with start_alertmanager(tmp_path, svc.webhook_url, auth=("bearer", svc.token)) as am:
            disk_labels = {"alertname": "HostDiskFull", "instance": f"{disk.address}:9100", "severity": "critical"}
            await asyncio.to_thread(am.fire, disk_labels, {"summary": f"/ is full on {disk.name}"})

            async def delivered_twice() -> dict[str, Any] | None:
                rows = await svc.incidents()
                if not rows:
                    return None
                alerts = (await svc.incident(rows[0]["id"]))["alerts"]
                return rows[0] if alerts and alerts[0]["deliveries"] >= 2 else None

            first = await svc.wait_for("Alertmanager's retry after the 500", delivered_twice)
            assert failures["left"] == 0
            # A different alert name is a different Alertmanager group; the same rack folds it into the incident.
            mate_labels = {"alertname": "NodeNetworkErrors", "instance": f"{mate.address}:9100", "severity": "warning"}
            await asyncio.to_thread(am.fire, mate_labels, {"summary": f"NIC errors on {mate.name}"})

            async def two_alerts() -> list[dict[str, Any]] | None:
                alerts = (await svc.incident(first["id"]))["alerts"]
                return alerts if len(alerts) == 2 else None

            alerts = await svc.wait_for("the rack mate's alert to join the incident", two_alerts)
            assert {a["labels"]["alertname"] for a in alerts} == {"HostDiskFull", "NodeNetworkErrors"}
            assert len({a["groupKey"] for a in alerts}) == 2, "both alerts came in one Alertmanager group"
            rows = await svc.wait_for("the runs to finish", lambda: _all_done(svc), timeout_s=90)
            assert [r["id"] for r in rows] == [first["id"]], rows
    assert all(k.startswith(first["id"]) for k in _keys(genv)), _keys(genv)


async def _all_done(svc: ServiceHandle) -> list[dict[str, Any]] | None:
    rows = await svc.incidents()
    return rows if rows and all(r["run_state"] == "done" for r in rows) else None
