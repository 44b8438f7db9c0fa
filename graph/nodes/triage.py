"""triage: normalise the request into a scope (hosts, checks, severity, window); deterministic for alerts."""

from __future__ import annotations

import re
import uuid
from typing import Any

from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.state import ALL_CHECKS, Check, IncidentState, Scope, Severity
from graph.tools_access import get_tools

_HOST_LABELS = ("host", "hostname", "nodename", "instance", "node", "server")
_CHECK_WORDS: dict[Check, tuple[str, ...]] = {
    "memory": ("mem", "oom", "swap", "内存"),
    "disk": ("disk", "filesystem", "inode", "smart", "nvme", "raid", "磁盘", "硬盘", "存储"),
    "system": ("cpu", "load", "负载"),
    "services": ("service", "down", "port", "http", "502", "服务", "端口"),
    "environment": ("temperature", "humidity", "ups", "温度", "湿度"),
}
_SEVERITIES: dict[str, Severity] = {"critical": "critical", "page": "critical", "warning": "warning", "info": "info"}


def checks_for_text(text: str) -> list[Check]:
    """Checks an alert name, summary or question points at (all of them when nothing matches)."""
    lowered = text.lower()
    found = [c for c, words in _CHECK_WORDS.items() if any(w in lowered for w in words)]
    if not found:
        return list(ALL_CHECKS)
    # Memory and disk problems are diagnosed with the system view (load, CPU count) beside them.
    return sorted({*found, "system"}, key=ALL_CHECKS.index)


def _alert_host_keys(alert: dict[str, Any]) -> list[str]:
    labels = alert.get("labels") or {}
    keys = []
    for name in _HOST_LABELS:
        value = str(labels.get(name) or "")
        if value:
            keys.append(value)
            keys.append(re.sub(r":\d+$", "", value.strip("[]")).strip("[]"))  # instance "10.0.0.5:9100"
    return keys


def resolve_hosts(keys: list[str], inventory: list[dict[str, Any]]) -> list[str]:
    """Inventory host names matching names or addresses, in inventory order, without repeats."""
    wanted = set(keys)
    return [h["name"] for h in inventory if h["name"] in wanted or h["address"] in wanted]


async def triage(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """Decide which hosts and checks the incident covers."""
    ctx = runtime.context or IncidentContext()
    request = state["request"]
    window = request.get("window") or ctx.window
    tools = await get_tools()
    listed = await tools.call("hosts_list", {"group": request.get("group"), "tag": request.get("tag")})
    inventory: list[dict[str, Any]] = listed["hosts"]
    kind = request.get("kind", "operator")
    if kind == "alert":
        alerts = request.get("alerts") or []
        keys = [k for a in alerts for k in _alert_host_keys(a)]
        hosts = resolve_hosts(keys, inventory)
        text = " ".join(
            str((a.get("labels") or {}).get("alertname", ""))
            + " "
            + str((a.get("annotations") or {}).get("summary", ""))
            for a in alerts
        )
        checks = checks_for_text(text)
        levels = [_SEVERITIES.get(str((a.get("labels") or {}).get("severity", "")).lower(), "warning") for a in alerts]
        severity: Severity = "critical" if "critical" in levels else "warning"
        reason = f"{len(alerts)} alert(s): {text.strip()[:200]}"
        unknown = sorted(set(keys) - {h["name"] for h in inventory} - {h["address"] for h in inventory})
        if not hosts:
            reason += f"; no inventory host matches {unknown[:5]}"
    elif kind == "schedule":
        hosts = [h["name"] for h in inventory]
        checks, severity = list(ALL_CHECKS), "info"
        reason = f"scheduled inspection of {len(hosts)} hosts over {window}"
    else:
        named = request.get("hosts") or []
        hosts = resolve_hosts(named, inventory) if named else [h["name"] for h in inventory]
        checks, severity = checks_for_text(request.get("question") or ""), "warning"
        reason = f"operator request: {(request.get('question') or 'inspect')[:200]}"
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
    return {"scope": scope}
