"""Triage of an operator's free text by the real ChatOpenAI against the scripted OpenAI-compatible server.

The triage node runs alone in a one-node graph over scripted tools (tests/support/fake_tools.py): a good reading,
a reading naming hosts and checks that do not exist (dropped and recorded), garbage and a server that is down
(the keyword rules decide and the reason says so). Alerts never reach the LLM.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from langgraph.graph import END, START, StateGraph

from graph.context import IncidentContext
from graph.nodes.triage import triage
from graph.state import IncidentRequest, IncidentState
from graph.tools_access import set_tools_provider
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_tools import FakeTools

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

QUESTION = "node-02 is swapping since the deploy, is its memory failing?"


@pytest_asyncio.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    tools = FakeTools.fleet(3)
    set_tools_provider(tools.provide)
    async with FakeOpenAI() as server:
        monkeypatch.setenv("OPSWD_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("OPSWD_LLM_MODEL", "fake-model")
        monkeypatch.setenv("OPSWD_LLM_TIMEOUT_S", "2")
        monkeypatch.setenv("OPSWD_LLM_MAX_RETRIES", "0")
        yield server
    set_tools_provider(None)


async def _triage(request: IncidentRequest) -> dict[str, Any]:
    g: StateGraph[IncidentState, IncidentContext] = StateGraph(IncidentState, context_schema=IncidentContext)
    g.add_node("triage", triage)
    g.add_edge(START, "triage")
    g.add_edge("triage", END)
    config = {"configurable": {"thread_id": "triage-test"}}
    result: dict[str, Any] = await g.compile().ainvoke({"request": request}, config, context=IncidentContext())
    return result


def _operator(question: str, hosts: list[str] | None = None) -> IncidentRequest:
    return {"kind": "operator", "question": question, "hosts": hosts or [], "lang": "en"}


def _answer(**fields: Any) -> str:
    return json.dumps({"hosts": [], "checks": [], "severity": "warning", "reason": "a look", **fields})


async def test_the_llm_reads_the_question_into_a_scope(fake: FakeOpenAI) -> None:
    fake.script([_answer(hosts=["node-02"], checks=["memory"], severity="critical", reason="Swapping on node-02")])
    values = await _triage(_operator(QUESTION))
    scope, record = values["scope"], values["triage_llm"]
    assert scope["hosts"] == ["node-02"] and scope["checks"] == ["memory", "system"]
    assert scope["severity"] == "critical"
    assert scope["reason"] == f"operator request: {QUESTION}; read by the LLM: Swapping on node-02"
    assert record["used"] is True and record["model"] == "fake-model" and record["dropped"] == []
    assert record["calls"] == 1 and record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
    assert record["latency_ms"] > 0
    [body] = fake.requests
    system, user = (m["content"] for m in body["messages"])
    assert '"checks"' in system and "memory, disk, system, services, environment" in system
    assert QUESTION in user and "node-02 10.0.0.2 192.168.0.2 groups=db" in user


async def test_hosts_and_checks_that_do_not_exist_are_dropped_and_recorded(fake: FakeOpenAI) -> None:
    fake.script([_answer(hosts=["node-02", "node-99", "192.168.0.3"], checks=["memory", "gpu"])])
    values = await _triage(_operator(QUESTION))
    scope, record = values["scope"], values["triage_llm"]
    assert scope["hosts"] == ["node-02", "node-03"], "node-99 is not in the inventory; a metrics IP resolves"
    assert scope["checks"] == ["memory", "system"]
    dropped = [
        "host 'node-99' (not in the inventory)",
        "check 'gpu' (not one of memory, disk, system, services, environment)",
    ]
    assert record["dropped"] == dropped
    assert scope["reason"].endswith("; dropped " + ", ".join(dropped))

    # Among the hosts the operator named only; naming none of the inventory inspects nothing rather than all.
    fake.script([_answer(hosts=["node-01", "node-03"], checks=["disk"])])
    named = (await _triage(_operator("disk space?", hosts=["node-01", "node-02"])))["scope"]
    assert (
        named["hosts"] == ["node-01"] and "host 'node-03' (not among the hosts the operator named)" in named["reason"]
    )
    fake.script([_answer(hosts=["node-99"], checks=["disk"])])
    assert (await _triage(_operator("disk on node-99?")))["scope"]["hosts"] == []


@pytest.mark.parametrize("failure", ["garbage", "not the schema", "down"])
async def test_failures_fall_back_to_the_keyword_rules(fake: FakeOpenAI, failure: str) -> None:
    if failure == "garbage":
        fake.garbage(200)
    elif failure == "not the schema":
        fake.script(['{"hosts": "node-02", "severity": "urgent"}', "I think it is the memory."])
    else:
        await fake.stop()
    values = await _triage(_operator(QUESTION, hosts=["node-01", "node-02"]))
    scope, record = values["scope"], values["triage_llm"]
    assert scope["hosts"] == ["node-01", "node-02"] and scope["checks"] == ["memory", "system"]
    assert scope["severity"] == "warning"
    kind = "LlmOutputError" if failure == "not the schema" else "LlmUnavailable"
    assert scope["reason"] == f"operator request: {QUESTION}; scope by keyword rules (the LLM failed: {kind})"
    assert record["used"] is False and record["error"].startswith(kind)
    if failure == "not the schema":
        assert record["calls"] == 2 and record["prompt_tokens"] > 0, "the repair turn's cost is recorded too"


async def test_no_llm_configured_and_alerts_use_the_rules(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    alert: IncidentRequest = {"kind": "alert", "alerts": [{"labels": {"alertname": "OOM", "instance": "10.0.0.1"}}]}
    values = await _triage(alert)
    assert values["scope"]["hosts"] == ["node-01"] and values["triage_llm"] == {"used": False, "model": None}
    assert fake.requests == [], "alerts are triaged without the LLM"

    monkeypatch.delenv("OPSWD_LLM_BASE_URL")
    scope = (await _triage(_operator(QUESTION)))["scope"]
    assert scope["reason"].endswith("; scope by keyword rules (no LLM configured)")
    assert scope["hosts"] == ["node-01", "node-02", "node-03"]
