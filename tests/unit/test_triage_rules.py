"""Triage's pure parts: host matching on name, address or metrics IP; alert labels; vetting the LLM's reading."""

from __future__ import annotations

from graph.host_match import host_index, resolve_hosts
from graph.nodes.triage import alert_host_keys, checks_for_text
from graph.triage_llm import MAX_PROMPT_HOSTS, TriageAnswer, triage_messages, vet, with_system_view
from tests.support.fake_tools import host_row

INVENTORY = [
    host_row(1),
    host_row(2, address="db-02.example.internal", metrics_ip="192.168.0.2"),
    host_row(3, address="fe80::3", metrics_ip=None),
]


def test_resolve_hosts_on_name_address_or_metrics_ip_in_inventory_order() -> None:
    assert resolve_hosts(["192.168.0.2", "node-01"], INVENTORY) == ["node-01", "node-02"]
    assert resolve_hosts(["10.0.0.1", "192.168.0.1"], INVENTORY) == ["node-01"]  # both keys, one host
    assert resolve_hosts(["db-02.example.internal", "fe80::3"], INVENTORY) == ["node-02", "node-03"]
    assert resolve_hosts(["10.0.0.2", "ghost"], INVENTORY) == []
    assert resolve_hosts(["192.168.0.1"], [{"name": "old", "address": "192.168.0.1"}]) == ["old"]  # no metrics_ip


def test_host_index_first_host_keeps_a_shared_key() -> None:
    shared = [host_row(1, metrics_ip="10.9.9.9"), host_row(2, metrics_ip="10.9.9.9")]
    assert host_index(shared)["10.9.9.9"] == "node-01"


def test_alert_labels_lose_their_port() -> None:
    assert alert_host_keys({"labels": {"instance": "192.168.0.2:9100"}}) == ["192.168.0.2:9100", "192.168.0.2"]
    assert "fe80::3" in alert_host_keys({"labels": {"instance": "[fe80::3]:9100"}})
    assert alert_host_keys({"labels": {"ip": "10.0.0.1", "hostname": "node-01"}}) == ["node-01", "10.0.0.1"]
    keys = [
        k
        for a in ({"labels": {"instance": "[fe80::3]:9100"}}, {"labels": {"ip": "192.168.0.2"}})
        for k in alert_host_keys(a)
    ]
    assert resolve_hosts(keys, INVENTORY) == ["node-02", "node-03"]


def test_keyword_rules() -> None:
    assert checks_for_text("OOM on node-01") == ["memory", "system"]
    assert checks_for_text("磁盘满了") == ["disk", "system"]
    assert checks_for_text("what is going on?") == ["memory", "disk", "system", "services", "environment"]
    assert with_system_view(["disk", "services", "disk"]) == ["disk", "system", "services"]


def test_vet_keeps_inventory_hosts_and_known_checks_and_says_what_it_dropped() -> None:
    answer = TriageAnswer(
        hosts=["node-02", "192.168.0.1", "node-99", "node-02"],
        checks=["Memory", "cpu", "disk"],
        severity="critical",
        reason="Memory pressure on the database hosts",
    )
    reading = vet(answer, INVENTORY, named=None)
    assert reading.hosts == ["node-01", "node-02"]
    assert reading.checks == ["memory", "disk", "system"]
    assert reading.severity == "critical" and reading.reason == "Memory pressure on the database hosts"
    assert reading.dropped == [
        "host 'node-99' (not in the inventory)",
        "check 'cpu' (not one of memory, disk, system, services, environment)",
    ]


def test_vet_stays_within_the_hosts_the_operator_named() -> None:
    answer = TriageAnswer(hosts=["node-01", "node-03"], checks=["disk"], severity="warning", reason="disk space")
    reading = vet(answer, INVENTORY, named=["node-01", "node-02"])
    assert reading.hosts == ["node-01"]
    assert reading.dropped == ["host 'node-03' (not among the hosts the operator named)"]
    everything = vet(TriageAnswer(checks=[], severity="info", reason="a look"), INVENTORY, named=None)
    assert everything.hosts is None and everything.checks == [], "no hosts named: the caller keeps its candidates"


def test_prompt_lists_the_inventory_bounded_and_renders_both_languages() -> None:
    big = [host_row(i) for i in range(1, MAX_PROMPT_HOSTS + 11)]
    system, user = triage_messages("why is node-07 swapping?", big, None, "en")
    assert "memory, disk, system, services, environment" in str(system.content)
    text = str(user.content)
    assert "why is node-07 swapping?" in text and "node-07 10.0.0.7 192.168.0.7 groups=web" in text
    assert "... and 10 more hosts not listed" in text and f"node-{MAX_PROMPT_HOSTS + 1:02d}" not in text
    _, named = triage_messages("内存怎么样？", INVENTORY, ["node-02"], "zh")
    assert "运维人员指定的主机：node-02" in str(named.content)
    assert "node-01" not in str(named.content), "only the named hosts are candidates"
