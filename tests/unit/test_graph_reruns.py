"""The real incident graph in memory (InMemorySaver, scripted tools): runs on one thread, and runs cut off mid-way.

- every run starts with fresh errors, host results, approvals and notifications; within a run, parallel
  inspect_host tasks all add theirs;
- a follow-up run (revision + 1) notifies again, the same request replayed is deduplicated, and a human's final
  decision on a purchase request is not asked again;
- store rows and alert labels name hosts by metrics IP;
- a run cut off mid-step continues from its checkpoint (continue_run, or run() with the same request).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from app.incident_run import IncidentRunner, Progress, ThreadNotFound
from graph.graph import build_graph
from graph.state import IncidentRequest
from graph.tools_access import set_tools_provider
from tests.support.fake_tools import FakeTools

ACCEPT = {"type": "accept", "args": None, "approver": "alice"}


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTools]:
    monkeypatch.delenv("OPSWD_LLM_BASE_URL", raising=False)  # no LLM: the template report, keyword triage
    fake = FakeTools.fleet(3)
    set_tools_provider(fake.provide)
    yield fake
    set_tools_provider(None)


def _runner() -> IncidentRunner:
    saver = InMemorySaver()
    return IncidentRunner(build_graph().compile(checkpointer=saver), saver)


def _request(hosts: list[str], revision: int = 0) -> IncidentRequest:
    return {"kind": "operator", "incident_id": "inc-1", "hosts": hosts, "lang": "en", "revision": revision}


def _sent(values: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["idempotency_key"], n["status"]) for n in values["notifications"]]


async def test_errors_start_fresh_each_run_and_add_up_within_one(tools: FakeTools) -> None:
    tools.store_error = "database is locked"
    tools.failing = {"node-01": "unknown host 'node-01'", "node-03": "internal error in ssh_inspect_host"}
    runner = _runner()
    first = (await runner.run("t", _request(["node-01", "node-02", "node-03"])))["values"]
    # Two inspect_host tasks of the same step failed: both errors are kept, beside query_metrics' one.
    assert sorted(first["errors"]) == [
        "inspect_host node-01: unknown host 'node-01'",
        "inspect_host node-03: internal error in ssh_inspect_host",
        "metrics store: database is locked",
    ]
    assert {h: o["status"] for h, o in first["host_results"].items()} == {
        "node-01": "error", "node-02": "ok", "node-03": "error",
    }  # fmt: skip

    tools.store_error, tools.failing = None, {}
    second = (await runner.run("t", _request(["node-02"], revision=1)))["values"]
    assert second["errors"] == []
    assert set(second["host_results"]) == {"node-02"}, "hosts of the earlier run are not this run's"
    assert second["digest"]["hosts_total"] == 1


async def test_follow_up_revision_notifies_and_the_same_request_replayed_does_not(tools: FakeTools) -> None:
    runner = _runner()
    first = (await runner.run("t", _request(["node-01"])))["values"]
    assert _sent(first) == [("inc-1:report:outbox", "sent")]
    replayed = (await runner.run("t", _request(["node-01"])))["values"]
    assert _sent(replayed) == [("inc-1:report:outbox", "duplicate")]
    follow_up = (await runner.run("t", _request(["node-01", "node-02"], revision=1)))["values"]
    assert _sent(follow_up) == [("inc-1:report:outbox:r1", "sent")]
    assert list(tools.sent) == ["inc-1:report:outbox", "inc-1:report:outbox:r1"]


async def test_follow_up_keeps_a_final_decision_and_clears_per_run_records(tools: FakeTools) -> None:
    tools.memory_pressure.add("node-02")
    runner = _runner()
    waiting = await runner.run("t", _request(["node-02"]))
    [question] = waiting["interrupts"]
    done = (await runner.resume("t", Command(resume=ACCEPT)))["values"]
    assert [a["status"] for a in done["approvals"]] == ["approved"]
    assert _sent(done) == [("inc-1:report:outbox", "sent")]

    follow_up = await runner.run("t", _request(["node-01", "node-02"], revision=1))
    assert follow_up["interrupts"] == [], "an approved purchase request is not asked again"
    values = follow_up["values"]
    [pr] = values["purchase_requests"]
    assert (pr["id"], pr["status"]) == (question["action_request"]["args"]["id"], "approved")
    assert values["approvals"] == [], "no decision was taken in this run"
    assert _sent(values) == [("inc-1:report:outbox:r1", "sent")]
    assert f"{pr['id']} `node-02`: approved" in tools.sent["inc-1:report:outbox:r1"]["body_markdown"]


async def test_store_rows_and_alert_labels_match_on_the_metrics_ip(tools: FakeTools) -> None:
    tools.abnormal_ips = ["192.168.0.2", "172.16.9.9"]  # metrics IPs differ from the SSH addresses 10.0.0.N
    runner = _runner()
    schedule: IncidentRequest = {"kind": "schedule", "lang": "en"}
    values = (await runner.run("s", schedule))["values"]
    assert values["scope"]["hosts"] == ["node-02"]
    assert [(a["ip"], a["host"]) for a in values["abnormal_hosts"]] == [
        ("192.168.0.2", "node-02"),
        ("172.16.9.9", None),
    ]

    alerts = [
        {"labels": {"alertname": "HostMemoryHigh", "instance": "192.168.0.3:9100"}},
        {"labels": {"alertname": "HostDiskFull", "ip": "10.0.0.1"}},
    ]
    alert: IncidentRequest = {"kind": "alert", "alerts": alerts, "lang": "en"}
    assert (await runner.run("a", alert))["values"]["scope"]["hosts"] == ["node-01", "node-03"]


async def test_continue_run_picks_up_a_run_cut_off_mid_step(tools: FakeTools) -> None:
    tools.crash_once.add("node-02")
    runner = _runner()
    with pytest.raises(RuntimeError, match="simulated crash while inspecting node-02"):
        await runner.run("t", _request(["node-01", "node-02", "node-03"]))
    snapshot = await runner.app.aget_state({"configurable": {"thread_id": "t"}})
    assert snapshot.next == ("inspect_host",) and not snapshot.interrupts
    assert sorted(tools.inspected()) == ["node-01", "node-02", "node-03"]

    progress: list[Progress] = []
    outcome = await runner.continue_run("t", progress.append)
    assert outcome["continued"] is True and outcome["next"] == []
    assert sorted(tools.inspected()) == ["node-01", "node-02", "node-02", "node-03"], "only the cut-off host again"
    assert "triage" not in [p.node for p in progress]
    assert (progress[-1].hosts_done, progress[-1].hosts_total) == (3, 3)
    assert _sent(outcome["values"]) == [("inc-1:report:outbox", "sent")]

    again = await runner.continue_run("t")
    assert again["continued"] is False and len(tools.sent) == 1
    with pytest.raises(ThreadNotFound, match="thread 'nope' has no checkpoint"):
        await runner.continue_run("nope")


async def test_run_continues_the_same_request_and_restarts_for_another(tools: FakeTools) -> None:
    runner = _runner()
    request = _request(["node-01", "node-02"])
    tools.crash_once.add("node-02")
    with pytest.raises(RuntimeError):
        await runner.run("same", request)
    nodes: list[str] = []
    outcome = await runner.run("same", request, lambda p: nodes.append(p.node))
    assert "triage" not in nodes and outcome["next"] == []
    assert sorted(tools.inspected()) == ["node-01", "node-02", "node-02"]

    tools.calls.clear()
    tools.crash_once.add("node-02")
    with pytest.raises(RuntimeError):
        await runner.run("other", request)
    nodes.clear()
    other = _request(["node-03"], revision=1)
    values = (await runner.run("other", other, lambda p: nodes.append(p.node)))["values"]
    assert nodes[0] == "triage" and set(values["host_results"]) == {"node-03"}
    assert sorted(tools.inspected()) == ["node-01", "node-02", "node-03"]


async def test_continue_run_leaves_a_thread_waiting_for_a_human_untouched(tools: FakeTools) -> None:
    tools.memory_pressure.add("node-01")
    runner = _runner()
    waiting = await runner.run("t", _request(["node-01"]))
    calls = len(tools.calls)
    same = await runner.continue_run("t")
    assert same["continued"] is False and same["interrupts"] == waiting["interrupts"]
    assert len(tools.calls) == calls and tools.sent == {}
