"""notify: send the report (and the approval outcomes) through the MCP `notify_send` tool, once per channel.

Each message carries an idempotency key derived from the incident and the request's revision, so a resumed or
replayed node never sends twice (the tools server's outbox answers `duplicate`), while a follow-up run of the
incident with the next revision sends its own message.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import IncidentContext
from graph.mcp_client import ToolCallFailed
from graph.state import IncidentState
from graph.tools_access import get_tools


def idempotency_key(incident_id: str, channel: str, revision: int = 0) -> str:
    """`{incident}:report:{channel}` for an incident's first request, with `:r{revision}` for follow-up runs."""
    key = f"{incident_id}:report:{channel}"
    return f"{key}:r{revision}" if revision else key


def message_body(state: IncidentState) -> str:
    """The report's Markdown followed by the purchase requests' outcomes."""
    body = str((state.get("report") or {}).get("markdown", ""))
    for pr in state.get("purchase_requests") or []:
        body += f"\n- {pr['id']} `{pr['host']}`: {pr['status']} — {pr['plan']['summary']}"
    return body


async def notify(state: IncidentState, runtime: Runtime[IncidentContext]) -> dict[str, Any]:
    """One message per configured channel with a deterministic idempotency key."""
    ctx = runtime.context or IncidentContext()
    scope = state["scope"]
    tools = await get_tools()
    sent: list[dict[str, Any]] = []
    errors: list[str] = []
    revision = int(state["request"].get("revision") or 0)
    for channel in ctx.notify_channels:
        key = idempotency_key(scope["incident_id"], channel, revision)
        args = {
            "idempotency_key": key,
            "channel": channel,
            "title": f"[{scope['severity']}] {scope['reason']}"[:200],
            "body_markdown": message_body(state),
            "severity": scope["severity"],
            "incident_id": scope["incident_id"],
            "lang": state["request"].get("lang") or ctx.lang,
        }
        try:
            sent.append(await tools.call("notify_send", args))
        except ToolCallFailed as exc:
            errors.append(f"notify {channel}: {exc}")
    return {"notifications": sent, "errors": errors}
