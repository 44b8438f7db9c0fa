"""The digest's bound, the report fact check, the template report and the routers."""

from __future__ import annotations

from typing import Any

from langgraph.types import Send

from graph.digest import build_digest, estimate_tokens
from graph.report_check import check_report
from graph.report_model import Action, Hypothesis, ReportModel
from graph.report_template import template_report
from graph.routing import route_after_query_metrics, route_after_write_report
from tests.support.fake_tools import finding


def _finding(host: str, metric: str, severity: str, value: float, i: int = 0) -> dict[str, Any]:
    return finding(host, metric, value, severity, index=i, evidence="x" * 400)


def _outcomes(n: int) -> dict[str, dict[str, Any]]:
    out = {}
    for i in range(n):
        host = f"node-{i:03d}"
        findings = [_finding(host, "memory.used_percent", "critical", 90 + i % 10)]
        findings += [_finding(host, f"disk.used_percent{i % 40}", "warning", 80 + i % 15, j) for j in range(3)]
        out[host] = {
            "host": host,
            "status": "ok" if i % 50 else "unreachable",
            "reason": None,
            "findings": findings,
            "memory_used_percent": 90.0,
            "duration_ms": 10,
        }
    return out


def test_a_500_host_digest_stays_bounded_and_says_what_it_left_out() -> None:
    digest = build_digest(_outcomes(500))
    assert estimate_tokens(digest) < 8000
    assert digest["hosts_total"] == 500 and digest["counts"]["critical"] == 500
    first = digest["groups"][0]
    assert first["metric"] == "memory.used_percent" and first["count"] == 500 and first["hosts_left_out"] == 492
    assert first["findings"][0]["value"] == 99  # worst host first
    assert digest["groups_left_out"] > 0 or len(digest["groups"]) == 41
    assert len(digest["hosts_not_inspected"]) == 10


def test_check_report_drops_unknown_ids_and_flags_invented_facts() -> None:
    digest = build_digest(_outcomes(3))
    real_id = digest["groups"][0]["findings"][0]["id"]
    report = ReportModel(
        summary="node-000 memory at 91 and node-777 at 42.5",
        hypotheses=[
            Hypothesis(title="leak", explanation="", finding_ids=[real_id, "F-made-up"]),
            Hypothesis(title="ghost", explanation="", finding_ids=["F-nope"]),
        ],
        actions=[Action(action="restart", hosts=["node-000", "node-777"])],
        risk="",
    )
    checked, problems = check_report(report, digest)
    assert checked.hypotheses[0].finding_ids == [real_id]
    text = "\n".join(problems)
    assert "F-made-up" in text and "'ghost' cites no known finding" in text
    assert "node-777" in text and "number 42.5" in text
    assert "number 91" not in text  # 91 is a real finding value


def test_template_report_in_both_languages() -> None:
    digest = build_digest(_outcomes(3))
    runbooks = [{"id": "memory-pressure", "title": "t", "for_metrics": ["memory.used_percent"]}]
    requests = [{"id": "PR-1", "host": "node-001", "plan": {"summary": "add 2 × 16 GiB"}}]
    en = template_report(digest, runbooks, requests, "en")
    zh = template_report(digest, runbooks, requests, "zh")
    assert en.summary.startswith("12 finding(s)") and "严重" in zh.summary
    assert any(a.needs_approval and a.hosts == ["node-001"] for a in en.actions)
    _, problems = check_report(en, digest, "add 2 × 16 GiB")
    assert problems == []


def test_routers() -> None:
    scope = {
        "incident_id": "i",
        "hosts": ["a", "b"],
        "checks": ["memory"],
        "severity": "warning",
        "window": "1h",
        "reason": "",
    }
    sends = route_after_query_metrics({"request": {}, "scope": scope})  # type: ignore[typeddict-item]
    assert isinstance(sends, list) and all(isinstance(s, Send) and s.node == "inspect_host" for s in sends)
    assert [s.arg["host"] for s in sends] == ["a", "b"]
    assert route_after_query_metrics({"request": {}, "scope": {**scope, "hosts": []}}) == "aggregate"  # type: ignore[typeddict-item]
    assert route_after_write_report({"request": {}, "purchase_requests": [{"status": "draft"}]}) == "request_approval"  # type: ignore[typeddict-item]
    assert route_after_write_report({"request": {}, "purchase_requests": [{"status": "approved"}]}) == "notify"  # type: ignore[typeddict-item]
