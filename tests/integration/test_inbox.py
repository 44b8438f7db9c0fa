"""The Postgres inbox against a real Postgres (a fresh database per test): dedupe, resolve, storm folding under
concurrency, run claims with leases, follow-ups, approval answers, and all-or-nothing ingest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from service import inbox_sql
from service.alert_payload import AlertmanagerWebhook, parse_webhook
from service.folding import Topology, incident_id_for, thread_id_for
from service.inbox import MAX_RUN_ATTEMPTS, Inbox, InboxUnavailable, UnknownIncident
from tests.integration.graph_env import fresh_postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

INVENTORY = """\
hosts:
  - {name: r1-n1, address: 10.1.0.1, rack: r1, switch: tor-1}
  - {name: r1-n2, address: 10.1.0.2, rack: r1, switch: tor-1}
  - {name: r1-n3, address: 10.1.0.3, rack: r1, switch: tor-1}
  - {name: r1-n4, address: 10.1.0.4, rack: r1, switch: tor-1}
  - {name: r2-n1, address: 10.2.0.1, rack: r2, switch: tor-2}
  - {name: r2-n2, address: 10.2.0.2, rack: r2, switch: tor-2}
"""
WINDOW = 900.0
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
R1 = [f"10.1.0.{i}" for i in range(1, 5)]
R2 = ["10.2.0.1", "10.2.0.2"]


@pytest.fixture
def topology(tmp_path: Path) -> Topology:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    return Topology.from_inventory(path)


@pytest_asyncio.fixture
async def inbox(topology: Topology) -> AsyncIterator[Inbox]:
    async with (
        fresh_postgres_database("opswd_inbox") as url,
        Inbox.open(url, topology, window_s=WINDOW, pool_max=8) as opened,
    ):
        yield opened


def alert(name: str, ip: str, *, status: str = "firing", started: int = 0, severity: str = "warning") -> dict[str, Any]:
    """One alert in Alertmanager's shape, started `started` seconds before T0."""
    starts = T0 - timedelta(seconds=started)
    return {
        "status": status,
        "labels": {"alertname": name, "instance": f"{ip}:9100", "severity": severity},
        "annotations": {"summary": f"{name} on {ip}"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (T0 + timedelta(seconds=1)).isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
    }


def webhook(group: str, alerts: list[dict[str, Any]]) -> AlertmanagerWebhook:
    """A delivery of `alerts` for `group`, through the real parser."""
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    body = {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "opswatchdog",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    return parse_webhook(json.dumps(body).encode())


async def scalar(inbox: Inbox, query: str, *args: Any) -> Any:
    async with inbox.pool.connection() as conn:
        row = await (await conn.execute(query, args)).fetchone()
    return None if row is None else next(iter(row.values()))


async def test_setup_is_idempotent(inbox: Inbox) -> None:
    await asyncio.gather(inbox.setup(), inbox.setup())
    assert await inbox.stats() == {"incidents": {}, "run_states": {}, "alerts": {}, "unapplied_answers": 0}


async def test_unreachable_database_is_named(topology: Topology) -> None:
    with pytest.raises(InboxUnavailable, match=r"cannot reach the inbox database .*port=1\b.* within 1 s"):
        async with Inbox.open("postgresql://postgres@127.0.0.1:1/nowhere", topology, connect_timeout_s=1):
            pass


async def test_repeated_deliveries_are_deduplicated(inbox: Inbox) -> None:
    hook = webhook("g-cpu", [alert("HighCPU", R1[0]), alert("HighCPU", R1[1])])
    first = await inbox.ingest(hook, now=T0)
    (incident,) = first.created
    assert (first.new, first.duplicates, first.incidents) == (2, 0, [incident])
    # Alertmanager retries (a slow answer) and re-sends the group every repeat_interval.
    for n in range(1, 4):
        again = await inbox.ingest(hook, now=T0 + timedelta(seconds=n))
        assert (again.new, again.duplicates, again.created, again.incidents) == (0, 2, [], [incident])
    first_alert = hook.alerts[0]
    assert incident == incident_id_for("g-cpu", first_alert.fingerprint, first_alert.starts_at)
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["thread_id"] == thread_id_for(incident)
    assert [a["deliveries"] for a in stored["alerts"]] == [4, 4]
    assert stored["alert_revision"] == 2 and stored["hosts"] == ["r1-n1", "r1-n2"]
    assert await inbox.stats() == {
        "incidents": {"open": 1},
        "run_states": {"pending": 1},
        "alerts": {"firing": 2},
        "unapplied_answers": 0,
    }


async def test_resolved_alerts_resolve_the_incident(inbox: Inbox) -> None:
    a, b = alert("DiskFull", R2[0]), alert("DiskFull", R2[1])
    (incident,) = (await inbox.ingest(webhook("g-disk", [a, b]), now=T0)).created
    half = await inbox.ingest(webhook("g-disk", [{**a, "status": "resolved"}, b]), now=T0 + timedelta(minutes=1))
    assert (half.resolved, half.duplicates, half.closed) == (1, 1, [])
    assert (await inbox.get_incident(incident) or {})["status"] == "open"
    assert await inbox.resolved_without_notice() == []
    done_at = T0 + timedelta(minutes=2)
    both = webhook("g-disk", [{**a, "status": "resolved"}, {**b, "status": "resolved"}])
    result = await inbox.ingest(both, now=done_at)
    assert (result.resolved, result.duplicates, result.closed) == (1, 1, [incident])
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["status"] == "resolved" and stored["resolved_at"] == done_at
    assert {x["status"] for x in stored["alerts"]} == {"resolved"} and all(x["endsAt"] for x in stored["alerts"])
    assert [r["id"] for r in await inbox.resolved_without_notice()] == [incident]
    assert await inbox.mark_resolved_notice_sent(incident)
    assert not await inbox.mark_resolved_notice_sent(incident)
    assert await inbox.resolved_without_notice() == []
    # A late firing copy of a resolved alert does not reopen anything.
    late = await inbox.ingest(webhook("g-disk", [a]), now=done_at + timedelta(seconds=5))
    assert (late.duplicates, late.created) == (1, [])
    assert (await inbox.get_incident(incident) or {})["status"] == "resolved"


async def test_alert_arriving_resolved_never_opens_an_incident(inbox: Inbox) -> None:
    result = await inbox.ingest(webhook("g-x", [alert("Flap", R1[0], status="resolved")]), now=T0)
    assert (result.new, result.resolved, result.created, result.incidents) == (1, 1, [], [])
    assert await scalar(inbox, "SELECT count(*) FROM opswd_alerts WHERE incident_id IS NULL") == 1
    assert await inbox.list_incidents() == []
    # With an open incident of the same group, it is filed there without asking for another run.
    (incident,) = (await inbox.ingest(webhook("g-x", [alert("Other", R1[1])]), now=T0)).created
    filed = await inbox.ingest(webhook("g-x", [alert("Flap", R1[2], status="resolved")]), now=T0)
    assert filed.incidents == [incident] and filed.closed == []
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["alert_revision"] == 1 and len(stored["alerts"]) == 2


async def test_rack_storm_folds_into_one_incident_another_rack_gets_its_own(inbox: Inbox) -> None:
    names = ["NodeDown", "HostUnreachable", "ServiceDown", "NodeExporterDown", "HighPacketLoss"]
    names += ["NtpDrift", "NfsStale", "DnsFail", "TargetDown", "LinkFlap"]
    created: list[str] = []
    for i in range(40):  # 10 alertnames on 4 hosts of rack r1, one group per alertname and instance (group_by)
        name, ip = names[i % 10], R1[i // 10]
        result = await inbox.ingest(webhook(f"g-{name}-{ip}-{i}", [alert(name, ip)]), now=T0 + timedelta(seconds=i))
        created += result.created
    other = await inbox.ingest(webhook("g-r2", [alert("NodeDown", ip) for ip in R2]), now=T0 + timedelta(seconds=41))
    assert len(created) == 1 and len(other.created) == 1
    rack1 = await inbox.get_incident(created[0])
    rack2 = await inbox.get_incident(other.created[0])
    assert rack1 is not None and rack2 is not None
    assert len(rack1["alerts"]) == 40 and rack1["alert_revision"] == 40
    assert rack1["hosts"] == ["r1-n1", "r1-n2", "r1-n3", "r1-n4"]
    assert set(rack1["topology_keys"]) >= {"rack:r1", "switch:tor-1"}
    assert rack2["hosts"] == ["r2-n1", "r2-n2"] and "rack:r1" not in rack2["topology_keys"]
    listed = await inbox.list_incidents(status="open")
    assert [(r["id"], r["alerts_firing"]) for r in listed] == [(other.created[0], 2), (created[0], 40)]


async def test_window_expiry_and_severity(inbox: Inbox) -> None:
    (first,) = (await inbox.ingest(webhook("g-1", [alert("A", R1[0], severity="info")]), now=T0)).created
    joined = await inbox.ingest(
        webhook("g-2", [alert("B", R1[1], severity="critical")]), now=T0 + timedelta(seconds=WINDOW - 1)
    )
    assert joined.created == [] and joined.incidents == [first]
    assert (await inbox.get_incident(first) or {})["severity"] == "critical"
    # Quiet for longer than the window: the same rack gets a new incident ...
    late = T0 + timedelta(seconds=2 * WINDOW)
    assert len((await inbox.ingest(webhook("g-3", [alert("C", R1[2])]), now=late)).created) == 1
    # ... but an alert that already belongs to the first incident fires again into it.
    refire = await inbox.ingest(webhook("g-4", [alert("A", R1[0], severity="info", started=-60)]), now=late)
    assert refire.created == [] and refire.incidents == [first]


async def test_concurrent_deliveries_fold_consistently(inbox: Inbox) -> None:
    hooks = [webhook(f"g-{i}", [alert(f"Alert{i}", (R1 if i % 5 else R2)[i % 2])]) for i in range(50)]
    hooks[7] = hooks[3]  # a retry racing its original
    results = await asyncio.gather(*(inbox.ingest(h, now=T0 + timedelta(seconds=i)) for i, h in enumerate(hooks)))
    created = [c for r in results for c in r.created]
    assert len(created) == 2
    assert sum(r.new for r in results) == 49 and sum(r.duplicates for r in results) == 1
    incidents = {r["id"]: r for r in await inbox.list_incidents()}
    assert set(incidents) == set(created)
    by_rack = {min(r["hosts"])[:2]: r for r in incidents.values()}
    assert by_rack["r1"]["alerts_firing"] == 39 and by_rack["r1"]["alert_revision"] == 39
    assert by_rack["r2"]["alerts_firing"] == 10 and by_rack["r2"]["alert_revision"] == 10
    assert await scalar(inbox, "SELECT count(*) FROM opswd_alerts WHERE incident_id IS NULL") == 0


async def test_duplicates_skip_the_lock_but_race_resolutions_correctly(inbox: Inbox) -> None:
    # Pure duplicates only count (no ingest lock); a copy that resolves a firing alert must still fold under the
    # lock and close the incident, whichever of the racing deliveries commits first.
    a, b = alert("DiskFull", R2[0]), alert("DiskFull", R2[1])
    (incident,) = (await inbox.ingest(webhook("g-disk", [a, b]), now=T0)).created
    repeat = webhook("g-disk", [a, b, a])  # a body can carry the same alert twice: each copy is a delivery
    resolved = webhook("g-disk", [{**a, "status": "resolved"}, {**b, "status": "resolved"}])
    results = await asyncio.gather(*(inbox.ingest(repeat) for _ in range(10)), inbox.ingest(resolved))
    assert [r.duplicates for r in results[:10]] == [3] * 10 and all(r.new == 0 for r in results)
    assert results[10].resolved == 2 and results[10].closed == [incident]
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["status"] == "resolved"
    assert sorted(x["deliveries"] for x in stored["alerts"]) == [12, 22]
    assert {x["status"] for x in stored["alerts"]} == {"resolved"}
    # A resolved copy of an alert stored resolved is a duplicate again: no lock, nothing reopens.
    late = await inbox.ingest(resolved)
    assert (late.duplicates, late.resolved, late.closed, late.incidents) == (2, 0, [], [incident])


async def test_claim_lease_and_redrive(inbox: Inbox) -> None:
    (incident,) = (await inbox.ingest(webhook("g", [alert("NodeDown", R1[0])]), now=T0)).created
    claim = await inbox.claim_run("worker-a", lease_s=30, now=T0)
    assert claim is not None and (claim.incident_id, claim.reason, claim.redrive) == (incident, "new", False)
    assert claim.thread_id == thread_id_for(incident) and claim.hosts == ["r1-n1"] and claim.attempt == 1
    assert claim.run_revision == 1 and claim.answer is None
    assert [a["labels"]["alertname"] for a in claim.alerts] == ["NodeDown"]
    assert claim.alerts[0]["startsAt"].startswith("2026-03-01T12:00:00")
    assert await inbox.claim_run("worker-b", lease_s=30, now=T0 + timedelta(seconds=10)) is None
    assert await inbox.renew_lease(incident, "worker-a", 30, now=T0 + timedelta(seconds=20))
    assert await inbox.claim_run("worker-b", lease_s=30, now=T0 + timedelta(seconds=45)) is None
    # worker-a dies: once its lease has run out, another worker re-drives the thread.
    redrive = await inbox.claim_run("worker-b", lease_s=30, now=T0 + timedelta(seconds=51))
    assert redrive is not None and redrive.redrive and redrive.attempt == 2 and redrive.thread_id == claim.thread_id
    assert not await inbox.renew_lease(incident, "worker-a", 30)
    assert not await inbox.finish_run(incident, "worker-a", "done", {"late": True})
    outcome = {"report_summary": "r1-n1 down", "findings": 3, "token_usage": {"total": 1200}}
    assert await inbox.finish_run(incident, "worker-b", "done", outcome)
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["run_state"] == "done" and stored["outcome"] == outcome
    assert stored["run_attempts"] == 0 and stored["lease_owner"] is None
    assert await inbox.claim_run("worker-b", lease_s=30) is None
    with pytest.raises(ValueError, match="a run ends as one of"):
        await inbox.finish_run(incident, "worker-b", "running", {})


async def test_a_run_that_keeps_crashing_is_given_up(inbox: Inbox) -> None:
    (incident,) = (await inbox.ingest(webhook("g", [alert("NodeDown", R1[0])]), now=T0)).created
    at = T0
    for attempt in range(1, MAX_RUN_ATTEMPTS + 1):
        claim = await inbox.claim_run(f"worker-{attempt}", lease_s=10, now=at)
        assert claim is not None and claim.attempt == attempt
        at += timedelta(seconds=11)
    assert await inbox.claim_run("worker-x", lease_s=10, now=at) is None
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["run_state"] == "failed"
    assert "lost its lease 3 times" in stored["last_error"]


async def test_late_alert_gets_a_follow_up_run(inbox: Inbox) -> None:
    (incident,) = (await inbox.ingest(webhook("g", [alert("NodeDown", R1[0])]), now=T0)).created
    claim = await inbox.claim_run("w", lease_s=30, now=T0)
    assert claim is not None
    late = await inbox.ingest(webhook("g", [alert("NodeDown", R1[0]), alert("NodeDown", R1[1])]), now=T0)
    assert (late.new, late.incidents) == (1, [incident])
    assert await inbox.claim_run("w2", lease_s=30, now=T0) is None  # still running
    assert await inbox.finish_run(incident, "w", "done", {"findings": 1})
    follow = await inbox.claim_run("w", lease_s=30, now=T0)
    assert follow is not None and follow.reason == "followup" and follow.run_revision == 2
    assert sorted(a["host"] for a in follow.alerts) == ["r1-n1", "r1-n2"]
    assert await inbox.finish_run(incident, "w", "done", {"findings": 2})
    assert await inbox.claim_run("w", lease_s=30, now=T0) is None


async def test_runs_wait_for_the_incident_to_settle(inbox: Inbox) -> None:
    settle = {"settle_s": 3.0, "settle_max_s": 10.0}

    async def claim(at: float) -> Any:
        return await inbox.claim_run("w", lease_s=30, now=T0 + timedelta(seconds=at), **settle)

    def hook(*hosts: str) -> AlertmanagerWebhook:
        return webhook("g", [alert("NodeDown", ip) for ip in hosts])

    (incident,) = (await inbox.ingest(hook(R1[0]), now=T0)).created
    assert await claim(2.9) is None
    await inbox.ingest(hook(R1[0], R1[1]), now=T0 + timedelta(seconds=2))  # joins: the wait starts again
    assert await claim(4.9) is None
    first = await claim(5.0)
    assert first is not None and first.reason == "new" and first.run_revision == 2
    # A storm that never settles is still investigated once settle_max_s has passed since the incident opened.
    assert await inbox.finish_run(incident, "w", "done", {})
    (other,) = (await inbox.ingest(webhook("g2", [alert("DiskFull", R2[0])]), now=T0 + timedelta(seconds=1))).created
    for second in range(2, 11):
        await inbox.ingest(webhook("g2", [alert(f"DiskFull{second}", R2[0])]), now=T0 + timedelta(seconds=second))
        assert await claim(second + 0.5) is None, second
    overdue = await claim(11.0)
    assert overdue is not None and overdue.incident_id == other and overdue.run_revision == 10
    # A late alert's follow-up run also waits for the incident to settle.
    await inbox.ingest(hook(R1[0], R1[1], R1[2]), now=T0 + timedelta(seconds=20))
    assert await claim(22.0) is None
    follow = await claim(23.0)
    assert follow is not None and (follow.incident_id, follow.reason, follow.run_revision) == (incident, "followup", 3)


async def test_notices_wake_listeners_on_new_work(inbox: Inbox) -> None:
    received: list[str] = []

    async def listen() -> None:
        async for what in inbox.notices():
            received.append(what)
            if len(received) == 2:
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)  # LISTEN is in place
    hook = webhook("g", [alert("NodeDown", R1[0])])
    (incident,) = (await inbox.ingest(hook, now=T0)).created
    await inbox.ingest(hook, now=T0)  # a duplicate is no new work: no notice
    assert await inbox.add_answer("PR-1/i1", incident, thread_id_for(incident), {"type": "accept"}, "alice")
    await asyncio.wait_for(listener, 5)
    assert received == ["alerts", "answer"]


async def test_failed_runs_get_follow_ups_only_up_to_the_limit(inbox: Inbox) -> None:
    (incident,) = (await inbox.ingest(webhook("g", [alert("A0", R1[0])]), now=T0)).created
    for n in range(1, MAX_RUN_ATTEMPTS + 1):
        claim = await inbox.claim_run("w", lease_s=30, now=T0)
        assert claim is not None and claim.attempt == n
        assert await inbox.finish_run(incident, "w", "failed", {}, error="LLM down")
        assert await inbox.claim_run("w", lease_s=30, now=T0) is None  # a failure alone is not retried
        await inbox.ingest(webhook("g", [alert(f"A{n}", R1[0])]), now=T0)  # a late alert asks again
    assert await inbox.claim_run("w", lease_s=30, now=T0) is None
    stored = await inbox.get_incident(incident)
    assert stored is not None and stored["run_state"] == "failed" and stored["last_error"] == "LLM down"


async def test_approval_answers(inbox: Inbox) -> None:
    (incident,) = (await inbox.ingest(webhook("g", [alert("MemoryHigh", R2[0])]), now=T0)).created
    thread = thread_id_for(incident)
    claim = await inbox.claim_run("w", lease_s=30)
    assert claim is not None
    assert await inbox.finish_run(incident, "w", "waiting", {"pending_approvals": ["ap-1"]})
    assert await inbox.claim_run("w", lease_s=30) is None  # waiting for a human
    answer = {"type": "accept", "args": None}
    assert await inbox.add_answer("ap-1", incident, thread, answer, "alice", "alertmanager")
    assert not await inbox.add_answer("ap-1", incident, thread, {"type": "ignore"}, "bob", "alertmanager")
    with pytest.raises(UnknownIncident):
        await inbox.add_answer("ap-2", "inc-nope", thread, answer, "alice")
    assert (await inbox.stats())["unapplied_answers"] == 1
    resume = await inbox.claim_run("w", lease_s=30)
    assert resume is not None and resume.reason == "answer" and resume.answer is not None
    assert (resume.answer["approval_id"], resume.answer["answer"], resume.answer["approver"]) == (
        "ap-1",
        answer,
        "alice",
    )
    assert await inbox.mark_answer_applied("ap-1")
    assert not await inbox.mark_answer_applied("ap-1")
    assert await inbox.finish_run(incident, "w", "done", {})
    stored = await inbox.get_incident(incident)
    assert stored is not None and [a["approver"] for a in stored["answers"]] == ["alice"]
    assert stored["answers"][0]["applied_at"] is not None


async def test_failed_ingest_writes_nothing(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    await inbox.ingest(webhook("g-0", [alert("Before", R2[0])]), now=T0)
    before = await inbox.stats()
    # Fail the last statement of the transaction, after the incident and alerts were inserted.
    monkeypatch.setattr(inbox_sql, "CLOSE_RESOLVED", "SELECT * FROM opswd_no_such_table")
    storm = webhook("g-1", [alert(f"A{i}", R1[i % 4]) for i in range(20)] + [alert("Before", R2[0])])
    with pytest.raises(psycopg.errors.UndefinedTable):
        await inbox.ingest(storm, now=T0)
    assert await inbox.stats() == before
    assert await scalar(inbox, "SELECT max(deliveries) FROM opswd_alerts") == 1
    monkeypatch.undo()
    result = await inbox.ingest(storm, now=T0)  # Alertmanager's retry goes through
    assert (result.new, result.duplicates, len(result.created)) == (20, 1, 1)
