"""Render a report as Markdown for notifications and the terminal, in zh or en."""

from __future__ import annotations

from graph.report_model import ReportModel

_LABELS = {
    "en": {
        "title": "Diagnosis",
        "hyp": "Root-cause hypotheses",
        "act": "Actions",
        "risk": "Risk",
        "approval": "needs approval",
        "template": "_Written without an LLM (template)._",
        "fallback": "_Written without an LLM: the LLM failed ({error})._",
        "problems": "Facts the check could not verify",
        "findings": "findings",
    },
    "zh": {
        "title": "诊断报告",
        "hyp": "根因假设",
        "act": "处置建议",
        "risk": "风险",
        "approval": "需审批",
        "template": "_本报告未使用大模型，由模板生成。_",
        "fallback": "_大模型调用失败（{error}），本报告由模板生成。_",
        "problems": "未能核实的内容",
        "findings": "发现",
    },
}


def report_markdown(
    report: ReportModel, written_by: str, problems: list[str], lang: str, error: str | None = None
) -> str:
    """The report as Markdown, saying who wrote it and what could not be verified."""
    t = _LABELS.get(lang, _LABELS["en"])
    lines = [f"## {t['title']}", "", report.summary, ""]
    if written_by == "template":
        lines += [t["fallback"].format(error=error) if error else t["template"], ""]
    if report.hypotheses:
        lines += [f"### {t['hyp']}"]
        for i, h in enumerate(report.hypotheses, 1):
            cites = ", ".join(h.finding_ids) or "-"
            lines.append(f"{i}. **{h.title}** ({h.confidence}) — {h.explanation} [{t['findings']}: {cites}]")
        lines.append("")
    if report.actions:
        lines += [f"### {t['act']}"]
        for a in report.actions:
            tail = f" (runbook `{a.runbook_id}`)" if a.runbook_id else ""
            tail += f" — {t['approval']}" if a.needs_approval else ""
            lines.append(f"- {a.action}{tail}")
        lines.append("")
    if report.risk:
        lines += [f"**{t['risk']}:** {report.risk}", ""]
    if problems:
        lines += [f"### {t['problems']}", *(f"- {p}" for p in problems), ""]
    return "\n".join(lines)
