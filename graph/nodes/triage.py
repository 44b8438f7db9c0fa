"""triage: normalise the request into a scope (hosts, checks, severity, window) and start a fresh run.

Alerts and schedules are triaged by rules, never by the LLM. An operator's free-text question is read by the
LLM into a schema-validated scope that is vetted against the inventory (graph/triage_llm.py); with no LLM
configured, or when it fails, the keyword rules decide and the scope's reason says so. Token usage and latency
of that call go to `triage_llm`.

Triage is the first node of every run on a thread, so it also clears what belongs to one run (graph/state.py).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.context import IncidentContext
from graph.host_match import host_index, resolve_hosts
from graph.llm import LlmOutputError, LlmSettings, LlmUnavailable, invoke_structured, make_chat_model
from graph.state import ALL_CHECKS, Check, IncidentRequest, IncidentState, Scope, Severity
from graph.tools_access import get_tools
from graph.triage_llm import TriageAnswer, TriageReading, triage_messages, vet, with_system_view

_HOST_LABELS = ("host", "hostname", "nodename", "instance", "node", "server", "ip", "address")
_CHECK_WORDS: dict[Check, tuple[str, ...]] = {
    "memory": ("mem", "oom", "swap", "内存"),
    "disk": ("disk", "filesystem", "inode", "smart", "nvme", "raid", "磁盘", "硬盘", "存储"),
    "system": ("cpu", "load", "负载"),
    "services": ("service", "down", "port", "http", "502", "服务", "端口"),
    "environment": ("temperature", "humidity", "ups", "温度", "湿度"),
}
_NO_LLM: dict[str, Any] = {"used": False, "model": None}
_SEVERITIES: dict[str, Severity] = {"critical": "critical", "page": "critical", "warning": "warning", "info": "info"}


def checks_for_text(text: str) -> list[Check]:
    """Checks an alert name, summary or question points at (all of them when nothing matches)."""
    lowered = text.lower()
    found = [c for c, words in _CHECK_WORDS.items() if any(w in lowered for w in words)]
    return with_system_view(found) if found else list(ALL_CHECKS)


def alert_host_keys(alert: dict[str, Any]) -> list[str]:
    """Host names and IPs an alert's labels carry (an `instance` loses its port: "10.0.0.5:9100" -> "10.0.0.5")."""
    labels = alert.get("labels") or {}
    keys = []
    for name in _HOST_LABELS:
        value = str(labels.get(name) or "").strip()
        if value:
            keys.append(value)
            keys.append(re.sub(r":\d+$", "", value.strip("[]")).strip("[]"))  # "[fe80::1]:9100" too
    return list(dict.fromkeys(keys))


def _alert_scope(
    request: IncidentRequest, inventory: list[dict[str, Any]]
) -> tuple[list[str], list[Check], Severity, str]:
    alerts = request.get("alerts") or []
    keys = [k for a in alerts for k in alert_host_keys(a)]
    hosts = resolve_hosts(keys, inventory)
    text = " ".join(
        str((a.get("labels") or {}).get("alertname", "")) + " " + str((a.get("annotations") or {}).get("summary", ""))
        for a in alerts
    )
    levels = [_SEVERITIES.get(str((a.get("labels") or {}).get("severity", "")).lower(), "warning") for a in alerts]
    severity: Severity = "critical" if "critical" in levels else "warning"
    reason = f"{len(alerts)} alert(s): {text.strip()[:200]}"
    if not hosts:
        known = set(host_index(inventory))
        reason += f"; no inventory host matches {sorted(set(keys) - known)[:5]}"
    return hosts, checks_for_text(text), severity, reason


async def _read_question(
    question: str, inventory: list[dict[str, Any]], named: list[str] | None, lang: str
) -> tuple[TriageReading | None, dict[str, Any]]:
    """The LLM's vetted reading of the question, or None (no LLM, or it failed), with the call's record."""
    settings = LlmSettings()
    model = make_chat_model(settings)
    record: dict[str, Any] = {"used": False, "model": settings.model if model else None}
    if model is None:
        return None, record
    try:
        answer, usage = await invoke_structured(model, triage_messages(question, inventory, named, lang), TriageAnswer)
    except LlmOutputError as exc:
        record.update(error=f"LlmOutputError: {exc}"[:500], **dataclasses.asdict(exc.usage))
        return None, record
    except LlmUnavailable as exc:
        record["error"] = f"LlmUnavailable: {exc}"[:500]
        return None, record
    reading = vet(answer, inventory, named)
    record.update(used=True, dropped=reading.dropped, **dataclasses.asdict(usage))
    return reading, record


async def _operator_scope(
    request: IncidentRequest, inventory: list[dict[str, Any]], lang: str
) -> tuple[list[str], list[Check], Severity, str, dict[str, Any]]:
    asked = request.get("hosts") or []
    named = resolve_hosts(asked, inventory) if asked else None
    candidates = named if named is not None else [h["name"] for h in inventory]
    known = set(host_index(inventory))
    unknown = f"; not in the inventory: {[h for h in asked if h not in known][:5]}" if set(asked) - known else ""
    question = (request.get("question") or "").strip()
    if not question:
        return candidates, list(ALL_CHECKS), "warning", f"operator request: inspect{unknown}", dict(_NO_LLM)
    reading, record = await _read_question(question, inventory, named, lang)
    reason = f"operator request: {question[:200]}{unknown}"
    if reading is None:
        why = "no LLM configured" if record["model"] is None else f"the LLM failed: {record['error'].split(':')[0]}"
        return candidates, checks_for_text(question), "warning", f"{reason}; scope by keyword rules ({why})", record
    reason += f"; read by the LLM: {reading.reason[:200]}"
    if reading.dropped:
        reason += f"; dropped {', '.join(reading.dropped)}"[:400]
    checks = reading.checks or checks_for_text(question)
    return candidates if reading.hosts is None else reading.hosts, checks, reading.severity, reason, record


async def triage(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """Decide which hosts and checks the incident covers."""
    ctx = runtime.context or IncidentContext()
    request = state["request"]
    window = request.get("window") or ctx.window
    tools = await get_tools()
    listed = await tools.call("hosts_list", {"group": request.get("group"), "tag": request.get("tag")})
    inventory: list[dict[str, Any]] = listed["hosts"]
    kind = request.get("kind", "operator")
    record: dict[str, Any] = dict(_NO_LLM)
    if kind == "alert":
        hosts, checks, severity, reason = _alert_scope(request, inventory)
    elif kind == "schedule":
        hosts = [h["name"] for h in inventory]
        checks, severity = list(ALL_CHECKS), "info"
        reason = f"scheduled inspection of {len(hosts)} hosts over {window}"
    else:
        lang = request.get("lang") or ctx.lang
        hosts, checks, severity, reason, record = await _operator_scope(request, inventory, lang)
    thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")
    incident_id = request.get("incident_id") or thread_id or "incident-" + uuid.uuid4().hex[:12]
    scope: Scope = {
        "incident_id": incident_id,
        "hosts": hosts[: ctx.max_hosts],
        "checks": checks,
        "severity": severity,
        "window": window,
        "reason": reason,
    }
    return {
        "scope": scope,
        "triage_llm": record,
        # A new run on this thread: nothing of an earlier run's errors, hosts, decisions or messages carries over.
        "errors": Overwrite([]),
        "host_results": Overwrite({}),
        "approvals": [],
        "notifications": [],
    }
