"""The report without an LLM: the same schema, rendered deterministically from the digest, in zh or en."""

from __future__ import annotations

from typing import Any

from graph.report_model import Action, Hypothesis, ReportModel

_TEXT = {
    "en": {
        "summary": "{n} finding(s) on {hosts} of {total} host(s): {critical} critical, {warning} warning.",
        "none": "No finding on the {total} inspected host(s).",
        "not_inspected": " Not inspected: {hosts}.",
        "hyp": "{metric} on {count} host(s)",
        "expl": "Worst: {summary}.",
        "action_runbook": "Follow runbook {rid} for {metric}",
        "action_buy": "Approve purchase request {pid}: {plan}",
        "risk_critical": "Critical findings are open: act before they turn into an outage.",
        "risk_low": "No critical finding.",
    },
    "zh": {
        "summary": "共 {n} 条发现，涉及 {total} 台主机中的 {hosts} 台：严重 {critical} 条，警告 {warning} 条。",
        "none": "已巡检 {total} 台主机，未发现问题。",
        "not_inspected": " 无法巡检：{hosts}。",
        "hyp": "{count} 台主机出现 {metric}",
        "expl": "最严重：{summary}。",
        "action_runbook": "按运维手册 {rid} 处理 {metric}",
        "action_buy": "审批采购申请 {pid}：{plan}",
        "risk_critical": "存在严重问题，需在演变为故障前处理。",
        "risk_low": "没有严重问题。",
    },
}


def template_report(
    digest: dict[str, Any], runbooks: list[dict[str, Any]], requests: list[dict[str, Any]], lang: str
) -> ReportModel:
    """Summary, one hypothesis per finding group, actions from runbooks and purchase requests."""
    t = _TEXT.get(lang, _TEXT["en"])
    counts = digest["counts"]
    n = sum(counts.values())
    if n:
        summary = t["summary"].format(
            n=n,
            hosts=digest["hosts_with_findings"],
            total=digest["hosts_total"],
            critical=counts["critical"],
            warning=counts["warning"],
        )
    else:
        summary = t["none"].format(total=digest["hosts_total"])
    if digest["hosts_not_inspected"]:
        summary += t["not_inspected"].format(hosts=", ".join(digest["hosts_not_inspected"][:10]))
    hypotheses = [
        Hypothesis(
            title=t["hyp"].format(metric=g["metric"], count=g["count"]),
            explanation=t["expl"].format(summary=g["findings"][0]["summary"]) if g["findings"] else "",
            finding_ids=[f["id"] for f in g["findings"]],
            confidence="high" if g["severity"] == "critical" else "medium",
        )
        for g in digest["groups"][:5]
    ]
    actions = [
        Action(
            action=t["action_runbook"].format(rid=r["id"], metric=", ".join(r.get("for_metrics", []))),
            runbook_id=r["id"],
            hosts=[],
        )
        for r in runbooks
    ]
    actions += [
        Action(
            action=t["action_buy"].format(pid=pr["id"], plan=pr["plan"]["summary"]),
            hosts=[pr["host"]],
            needs_approval=True,
            runbook_id=None,
        )
        for pr in requests
    ]
    risk = t["risk_critical"] if counts["critical"] else t["risk_low"]
    return ReportModel(summary=summary, hypotheses=hypotheses, actions=actions, risk=risk)
