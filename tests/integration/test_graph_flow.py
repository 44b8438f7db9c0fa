"""The incident graph end to end in-process: IncidentRunner, SQLite checkpoints, the real stdio tools server and fleet.

No LLM unless a test points OPSWD_LLM_BASE_URL at the scripted FakeOpenAI. Each test has its own metrics store,
outbox and checkpoint file (graph_env); the simulated fleet is shared by the module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from app.incident_run import IncidentRunner
from graph.context import IncidentContext
from graph.state import IncidentRequest
from tests.support.fake_openai import FakeOpenAI
from tools_server.findings import finding_id
from tools_server.inventory import load_inventory

from .conftest import FleetInfo
from .graph_env import GraphEnv, prepare_graph_env

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TEMPLATE_NOTE = "_Written without an LLM (template)._"
ACCEPT = {"type": "accept", "args": None, "approver": "alice"}


@pytest_asyncio.fixture(loop_scope="module")
async def genv(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GraphEnv:
    return await prepare_graph_env(
        demo_fleet, tmp_path / "run", f"sqlite:///{tmp_path}/ckpt/checkpoints.db", monkeypatch
    )


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


def _operator(hosts: list[str], question: str = "memory and disk check") -> IncidentRequest:
    return {"kind": "operator", "hosts": hosts, "question": question, "lang": "en", "window": "24h"}


def _only_interrupt(outcome: dict[str, Any]) -> dict[str, Any]:
    assert outcome["next"] == ["request_approval"], outcome["next"]
    assert len(outcome["interrupts"]) == 1, outcome["interrupts"]
    question: dict[str, Any] = outcome["interrupts"][0]
    return question


def _plan(question: dict[str, Any]) -> dict[str, Any]:
    plan: dict[str, Any] = question["action_request"]["args"]["plan"]
    return plan


# --- 1. no LLM: interrupt shape, accept, one notification, replays send nothing ------------------------------------


async def test_operator_incident_without_llm_accept_notifies_once(genv: GraphEnv) -> None:
    fleet = genv.fleet
    memory, disk, dead = (fleet.host_with(k) for k in ("memory_pressure", "disk_full", "unreachable"))
    thread = "flow-accept"
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        outcome = await runner.run(thread, _operator([memory, disk, dead]))
        values = outcome["values"]
        assert values["scope"]["hosts"] == sorted([memory, disk, dead], key=lambda h: int(h.split("-")[1]))
        results = values["host_results"]
        assert results[dead]["status"] == "unreachable" and results[dead]["reason"]
        assert {f["metric"] for f in results[memory]["findings"]} >= {"memory.used_percent"}
        assert {f["metric"] for f in results[disk]["findings"]} >= {"disk.used_percent"}
        assert values["digest"]["hosts_not_inspected"] == [dead]

        question = _only_interrupt(outcome)
        assert set(question) == {"action_request", "config", "description"}
        assert question["action_request"]["action"] == "purchase_request"
        args = question["action_request"]["args"]
        assert set(args) == {"id", "host", "plan"} and args["host"] == memory
        assert args["plan"]["action"] in ("add", "replace") and args["plan"]["summary"]
        assert question["config"] == {
            "allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True,
        }  # fmt: skip
        description = question["description"]
        assert description.startswith(f"### Purchase request {args['id']}: memory upgrade for `{memory}`")
        assert "**Plan:**" in description and "**Evidence:**" in description and "- ✅ free_slots" in description
        memory_finding = finding_id(memory, "memory", "memory.used_percent", None)
        assert f"({memory_finding})" in description

        report = values["report"]
        assert report["written_by"] == "template" and values["llm"] == {"used": False, "model": None}
        assert TEMPLATE_NOTE in report["markdown"] and report["problems"] == []
        assert not genv.outbox_lines(), "nothing may be sent before the approval"

        done = await runner.resume(thread, Command(resume=ACCEPT))
        assert done["next"] == [] and done["interrupts"] == []
        final = done["values"]
        assert [(p["host"], p["status"]) for p in final["purchase_requests"]] == [(memory, "approved")]
        assert final["approvals"] == [{"id": args["id"], "host": memory, "status": "approved", "approver": "alice"}]
        key = f"{thread}:report:outbox"
        assert [(n["idempotency_key"], n["status"]) for n in final["notifications"]] == [(key, "sent")]
        lines = genv.outbox_lines()
        assert [m["idempotency_key"] for m in lines] == [key]
        assert f"{args['id']} `{memory}`: approved" in lines[0]["body_markdown"]
        assert TEMPLATE_NOTE in lines[0]["body_markdown"]

        # Replay the finished thread from the checkpoint before notify (time travel): notify runs again, the
        # outbox answers duplicate.
        history = [s async for s in runner.app.aget_state_history(_config(thread))]
        before_notify = next(s for s in history if s.next == ("notify",))
        async for _ in runner.app.astream(None, before_notify.config, context=IncidentContext(), stream_mode="updates"):
            pass
        replayed = (await runner.outcome(thread))["values"]["notifications"]
        assert [(n["idempotency_key"], n["status"]) for n in replayed] == [(key, "duplicate")]

        # A second run on the finished thread (same incident, now only the disk host): a fresh pass whose report
        # covers that host alone, no purchase request, and notify's key is the incident's: not sent again.
        again = (await runner.run(thread, _operator([disk], "disk only")))["values"]
        assert again["digest"]["hosts_total"] == 1 and again["purchase_requests"] == []
        assert set(again["host_results"]) == {disk} and again["approvals"] == []
        assert [(n["idempotency_key"], n["status"]) for n in again["notifications"]] == [(key, "duplicate")]
        assert len(genv.outbox_lines()) == 1

        # A follow-up run of the incident (the next revision, as when late alerts join): it is sent.
        follow_up = (await runner.run(thread, {**_operator([disk], "disk only"), "revision": 1}))["values"]
        assert [(n["idempotency_key"], n["status"]) for n in follow_up["notifications"]] == [(f"{key}:r1", "sent")]
    assert [m["idempotency_key"] for m in genv.outbox_lines()] == [key, f"{key}:r1"]


# --- 2. edits: an invalid plan is refused with the reason, a valid one is approved as edited -----------------------


async def test_invalid_edit_is_refused_then_valid_edit_approved(genv: GraphEnv) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    thread = "flow-edit"
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        question = _only_interrupt(await runner.run(thread, _operator([memory])))
        plan = _plan(question)
        assert plan["action"] == "add", plan
        too_many = plan["free_slots_before"] + 4
        bad = {**plan, "modules_to_add": [{**plan["modules_to_add"][0], "count": too_many}]}
        asked_again = await runner.resume(thread, Command(resume={"type": "edit", "args": {"plan": bad}}))
        retry = _only_interrupt(asked_again)
        assert "**The edited plan was refused:**" in retry["description"]
        assert f"free_slots: {too_many} modules into {plan['free_slots_before']} free slots" in retry["description"]
        assert _plan(retry) == plan, "the question shows the planner's plan, not the refused edit"
        assert not genv.outbox_lines()

        good = {**plan, "reasons": [*plan["reasons"], "edited: order from the framework contract"]}
        # Agent Inbox sends the whole edited ActionRequest back: {"action": ..., "args": {..., "plan": ...}}.
        inbox_args = {**question["action_request"]["args"], "plan": good}
        edit = {"type": "edit", "args": {"action": "purchase_request", "args": inbox_args}}
        done = (await runner.resume(thread, Command(resume=edit)))["values"]
    [pr] = done["purchase_requests"]
    assert pr["status"] == "approved" and pr["edited"] is True and pr["plan"] == good
    assert [n["status"] for n in done["notifications"]] == ["sent"]
    assert len(genv.outbox_lines()) == 1


# --- 3. reject: the request is rejected, the report still goes out once ---------------------------------------------


async def test_reject_still_notifies_once(genv: GraphEnv) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    thread = "flow-reject"
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        _only_interrupt(await runner.run(thread, _operator([memory])))
        answer = {"type": "ignore", "args": "no budget this quarter", "approver": "bob"}
        done = (await runner.resume(thread, Command(resume=answer)))["values"]
    [pr] = done["purchase_requests"]
    assert pr["status"] == "rejected" and "no budget this quarter" in pr["comment"]
    assert done["approvals"][0]["status"] == "rejected"
    assert [(n["idempotency_key"], n["status"]) for n in done["notifications"]] == [(f"{thread}:report:outbox", "sent")]
    [line] = genv.outbox_lines()
    assert f"`{memory}`: rejected" in line["body_markdown"]


# --- 4. the LLM writes the report: validated, fact-checked, and replaced by the template when it fails --------------


def _llm_env(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, timeout_s: float = 10) -> None:
    monkeypatch.setenv("OPSWD_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPSWD_LLM_MODEL", "fake-model")
    monkeypatch.setenv("OPSWD_LLM_TIMEOUT_S", str(timeout_s))
    monkeypatch.setenv("OPSWD_LLM_MAX_RETRIES", "0")


def _triage_answer(host: str) -> str:
    reason = f"Memory and disk of {host}"
    return json.dumps({"hosts": [host], "checks": ["memory", "disk"], "severity": "critical", "reason": reason})


def _llm_report(host: str, ids: list[str], summary: str, action_hosts: list[str]) -> str:
    return json.dumps(
        {
            "summary": summary,
            "hypotheses": [
                {
                    "title": "Memory exhaustion by the workload",
                    "explanation": "MemAvailable is nearly gone on the host.",
                    "finding_ids": ids,
                    "confidence": "high",
                }
            ],
            "actions": [
                {"action": f"Approve the memory upgrade for {host}", "hosts": action_hosts, "needs_approval": True}
            ],
            "risk": "OOM kills are likely under more load.",
        }
    )


async def test_llm_report_cites_real_findings(genv: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    memory_finding = finding_id(memory, "memory", "memory.used_percent", None)
    async with FakeOpenAI() as fake:
        _llm_env(monkeypatch, fake)
        report_answer = _llm_report(memory, [memory_finding], f"{memory} has 96.0% of its memory in use.", [memory])
        fake.script([_triage_answer(memory), report_answer])
        async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
            outcome = await runner.run("flow-llm", _operator([memory]))
    _only_interrupt(outcome)
    values = outcome["values"]
    # The operator's question was read by the LLM first (triage), then the report written.
    assert values["scope"]["severity"] == "critical" and values["scope"]["checks"] == ["memory", "disk", "system"]
    assert values["triage_llm"]["used"] is True and values["triage_llm"]["calls"] == 1
    report, llm = values["report"], values["llm"]
    assert report["written_by"] == "llm", report
    assert report["problems"] == []
    assert report["hypotheses"][0]["finding_ids"] == [memory_finding]
    assert TEMPLATE_NOTE not in report["markdown"] and "96.0% of its memory" in report["markdown"]
    assert llm["used"] is True and llm["model"] == "fake-model" and llm["calls"] == 1
    assert llm["prompt_tokens"] > 0 and llm["completion_tokens"] > 0
    assert llm["total_tokens"] == llm["prompt_tokens"] + llm["completion_tokens"]

    triage_body, body = fake.requests
    assert "memory and disk check" in triage_body["messages"][-1]["content"]
    user = body["messages"][-1]["content"]
    assert body["model"] == "fake-model"
    digest = values["digest"]
    assert json.dumps(digest, ensure_ascii=False) in user, "the prompt carries the digest as it is in the state"
    assert memory_finding in user and f'"hosts_total": {digest["hosts_total"]}' in user
    sent = json.dumps(body)
    assert not re.search(r"MemTotal:\s+\d+", sent), "raw /proc/meminfo output reached the LLM"
    assert "Handle 0x" not in sent and "Filesystem " not in sent, "raw dmidecode/df output reached the LLM"


async def test_llm_report_with_invented_facts_is_kept_but_flagged(
    genv: GraphEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    memory_finding = finding_id(memory, "memory", "memory.used_percent", None)
    invented = _llm_report(
        memory, [memory_finding, "F-0000000000"], "node-99 has 123.4% of its memory in use.", ["node-99"]
    )
    async with FakeOpenAI() as fake:
        _llm_env(monkeypatch, fake)
        fake.script([_triage_answer(memory), invented])
        async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
            outcome = await runner.run("flow-llm-invented", _operator([memory]))
    _only_interrupt(outcome)
    report = outcome["values"]["report"]
    assert report["written_by"] == "llm"
    problems = "\n".join(report["problems"])
    assert "number 123.4 does not appear in the findings" in problems
    assert "'node-99' is not in the findings" in problems
    assert "names hosts not in the findings: ['node-99']" in problems
    assert "unknown finding ids ['F-0000000000']" in problems
    assert report["hypotheses"][0]["finding_ids"] == [memory_finding], "the invented id is dropped"
    assert "### Facts the check could not verify" in report["markdown"]


@pytest.mark.parametrize("failure", ["down", "slow", "garbage"])
async def test_llm_failure_falls_back_to_the_template(
    genv: GraphEnv, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    async with FakeOpenAI() as fake:
        _llm_env(monkeypatch, fake, timeout_s=0.5)
        fake.script([_llm_report(memory, [], "never read", [memory])])
        if failure == "down":
            await fake.stop()
        elif failure == "slow":
            fake.slow(2)
        else:
            fake.garbage(200)
        async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
            outcome = await runner.run(f"flow-llm-{failure}", _operator([memory]))
        fake.normal()
    question = _only_interrupt(outcome)
    assert question["action_request"]["args"]["host"] == memory
    values = outcome["values"]
    # Triage failed the same way first: the keyword rules decided the scope.
    assert values["scope"]["reason"].endswith("; scope by keyword rules (the LLM failed: LlmUnavailable)")
    report, llm = values["report"], values["llm"]
    assert report["written_by"] == "template" and llm["used"] is False
    assert llm["error"].startswith("LlmUnavailable:"), llm
    assert "_Written without an LLM: the LLM failed (LlmUnavailable:" in report["markdown"]
    assert "finding(s) on 1 of 1 host(s)" in report["summary"]


# --- 5. a scheduled inspection covers only the hosts the metrics store reports abnormal ---------------------------


async def test_schedule_narrows_to_abnormal_hosts(genv: GraphEnv) -> None:
    request: IncidentRequest = {"kind": "schedule", "lang": "en", "window": "24h"}
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        outcome = await runner.run("flow-schedule", request)
    values = outcome["values"]
    by_ip = {h.metrics_ip: h.name for h in load_inventory(genv.fleet.inventory).hosts}
    flagged = {by_ip[a["ip"]] for a in values["abnormal_hosts"]}
    hosts = values["scope"]["hosts"]
    assert set(hosts) == flagged and set(values["host_results"]) == flagged
    assert len(hosts) < len(genv.fleet.faults), "a schedule must not inspect the whole fleet"
    assert genv.fleet.host_with("memory_pressure") in hosts and genv.fleet.healthy_host() not in hosts
    assert values["scope"]["severity"] == "info"
    assert values["scope"]["reason"].endswith(f"; {len(hosts)} over threshold in the metrics store")


# --- 6. triage of an Alertmanager alert ---------------------------------------------------------------------------


async def test_alert_triage_targets_the_instance(genv: GraphEnv) -> None:
    alert = {
        "labels": {"alertname": "HostMemoryHigh", "instance": "127.0.1.2:9100", "severity": "critical"},
        "annotations": {"summary": "memory 96%"},
    }
    request: IncidentRequest = {"kind": "alert", "alerts": [alert], "lang": "en"}
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        outcome = await runner.run("flow-alert", request)
    scope = outcome["values"]["scope"]
    assert scope["hosts"] == ["node-02"]
    assert scope["checks"] == ["memory", "system"]
    assert scope["severity"] == "critical"
    assert scope["incident_id"] == "flow-alert"
    assert "HostMemoryHigh" in scope["reason"]
    assert _only_interrupt(outcome)["action_request"]["args"]["host"] == "node-02"
