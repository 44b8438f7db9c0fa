"""request_approval: a human approves each purchase request through `interrupt()` (Agent Inbox HumanInterrupt).

Nothing before `interrupt()` has a side effect: on resume the node runs again from the top, and the answers
are replayed in order. An edited plan is re-validated by the planner (a read-only tool call); an invalid edit
asks again with the reason. Answers: accept / edit / response (a comment, not an approval) / ignore (reject).
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.types import interrupt

from graph.mcp_client import ToolCallFailed
from graph.state import IncidentState
from graph.tools_access import get_tools

MAX_EDIT_ROUNDS = 5


def _evidence(state: IncidentState, host: str) -> list[dict[str, Any]]:
    outcome = (state.get("host_results") or {}).get(host)
    return list(outcome["findings"][:5]) if outcome else []


def _description(pr: dict[str, Any], state: IncidentState, problem: str | None) -> str:
    plan = pr["plan"]
    lines = [
        f"### Purchase request {pr['id']}: memory upgrade for `{pr['host']}`",
        "",
        f"**Plan:** {plan['summary']}",
        f"**Why:** memory {pr.get('memory_used_percent')}% used; target {plan.get('target_used_percent')}%.",
        "",
        "**Checks made by the planner:**",
        *(f"- {'✅' if c['passed'] else '❌'} {c['name']}: {c['detail']}" for c in plan.get("checks", [])),
        "",
        "**Evidence:**",
        *(f"- {f['summary']} ({f['id']})" for f in _evidence(state, pr["host"])),
    ]
    if problem:
        lines += ["", f"**The edited plan was refused:** {problem}"]
    return "\n".join(lines)


def approval_request(pr: dict[str, Any], state: IncidentState, problem: str | None = None) -> dict[str, Any]:
    """The HumanInterrupt payload for one purchase request."""
    return {
        "action_request": {
            "action": "purchase_request",
            "args": {"id": pr["id"], "host": pr["host"], "plan": pr["plan"]},
        },
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": _description(pr, state, problem),
    }


def _edited_plan(answer: dict[str, Any]) -> dict[str, Any] | None:
    args = answer.get("args")
    if isinstance(args, dict) and isinstance(args.get("args"), dict):
        args = args["args"]  # Agent Inbox sends the whole edited ActionRequest
    plan = args.get("plan") if isinstance(args, dict) else None
    return plan if isinstance(plan, dict) else None


async def request_approval(state: IncidentState) -> dict[str, Any]:
    """Ask for each draft purchase request in turn; record every decision."""
    decided: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for pr in state.get("purchase_requests") or []:
        if pr["status"] != "draft":
            updated.append(pr)
            continue
        problem: str | None = None
        for _ in range(MAX_EDIT_ROUNDS):
            answer = interrupt(approval_request(pr, state, problem))
            kind = answer.get("type") if isinstance(answer, dict) else None
            if kind == "edit":
                plan = _edited_plan(answer)
                if plan is None:
                    problem = "an edit must carry args.plan"
                    continue
                try:
                    checked = await (await get_tools()).call(
                        "hardware_plan_upgrade", {"host": pr["host"], "edited_plan": plan}
                    )
                except ToolCallFailed as exc:
                    problem = str(exc)
                    continue
                if checked["problems"]:
                    problem = "; ".join(checked["problems"])[:1000]
                    continue
                pr = {**pr, "plan": plan, "status": "approved", "edited": True}
                break
            if kind == "accept":
                pr = {**pr, "status": "approved"}
            elif kind == "response":
                pr = {**pr, "status": "needs_changes", "comment": str(answer.get("args", ""))[:2000]}
            else:
                reason = answer.get("args") if isinstance(answer, dict) else None
                pr = {**pr, "status": "rejected", "comment": json.dumps(reason, ensure_ascii=False)[:500]}
            break
        else:
            pr = {
                **pr,
                "status": "needs_changes",
                "comment": f"no valid edit after {MAX_EDIT_ROUNDS} rounds: {problem}",
            }
        approver = answer.get("approver") if isinstance(answer, dict) else None
        decided.append({"id": pr["id"], "host": pr["host"], "status": pr["status"], "approver": approver})
        updated.append(pr)
    return {"purchase_requests": updated, "approvals": decided}
