"""write_report: the diagnosis from the digest — by the LLM when one is configured, else from the template.

The LLM's answer is schema-validated and fact-checked (hosts, finding ids, numbers must come from the
findings); when no endpoint is configured, or it fails after its retries, the same report is rendered from the
template and says it was written without an LLM. Token usage and latency are recorded in the state.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.llm import LlmOutputError, LlmSettings, LlmUnavailable, invoke_structured, make_chat_model
from graph.prompts import render
from graph.report_check import check_report
from graph.report_markdown import report_markdown
from graph.report_model import ReportModel
from graph.report_template import template_report
from graph.state import IncidentState

MAX_NOTES = 10


def _notes(errors: list[str]) -> str:
    # Parallel inspect_host tasks can each add one: keep the prompt bounded on a 500-host incident.
    if not errors:
        return "none"
    shown = "; ".join(e[:300] for e in errors[:MAX_NOTES])
    return shown + (f"; and {len(errors) - MAX_NOTES} more" if len(errors) > MAX_NOTES else "")


def _messages(state: IncidentState, lang: str) -> list[SystemMessage | HumanMessage]:
    scope = state["scope"]
    plans = [
        {"id": p["id"], "host": p["host"], "plan": p["plan"]["summary"]} for p in state.get("purchase_requests") or []
    ]
    runbooks = [
        {"id": r["id"], "title": r["title"], "section": str(r.get("section", ""))[:400]}
        for r in state.get("runbooks") or []
    ]
    user = render(
        "report_user",
        lang,
        incident_id=scope["incident_id"],
        reason=scope["reason"],
        digest=json.dumps(state.get("digest"), ensure_ascii=False),
        runbooks=json.dumps(runbooks, ensure_ascii=False),
        plans=json.dumps(plans, ensure_ascii=False),
        notes=_notes(state.get("errors") or []),
    )
    return [SystemMessage(render("report_system", lang)), HumanMessage(user)]


async def write_report(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """Write the report; never fails the run because of the LLM."""
    ctx = runtime.context or IncidentContext()
    lang = state["request"].get("lang") or ctx.lang
    digest = state.get("digest") or {}
    requests = state.get("purchase_requests") or []
    runbooks = state.get("runbooks") or []
    settings = LlmSettings()
    model = make_chat_model(settings)
    llm: dict[str, Any] = {"used": False, "model": settings.model if model else None}
    report: ReportModel | None = None
    problems: list[str] = []
    if model is not None:
        try:
            answer, usage = await invoke_structured(model, _messages(state, lang), ReportModel)
            assert isinstance(answer, ReportModel)
            plans_text = " ".join(p["plan"]["summary"] for p in requests)
            report, problems = check_report(answer, digest, plans_text)
            llm.update(used=True, **dataclasses.asdict(usage))
        except (LlmUnavailable, LlmOutputError) as exc:
            llm["error"] = f"{type(exc).__name__}: {exc}"[:500]
    written_by = "llm" if report is not None else "template"
    if report is None:
        report = template_report(digest, runbooks, requests, lang)
    markdown = report_markdown(report, written_by, problems, lang, llm.get("error"))
    return {
        "report": {**report.model_dump(), "written_by": written_by, "problems": problems, "markdown": markdown},
        "llm": llm,
    }
