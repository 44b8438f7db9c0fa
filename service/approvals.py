"""Pending approvals and answers, shared by the HTTP API (`/approvals`) and the CLI (`opswatchdog approvals`).

An approval is one `HumanInterrupt` the incident graph is waiting on; its id is the purchase request id the
graph generated (`PR-...`), so the same question keeps the same id across re-drives and restarts. The answer
is the Agent Inbox `HumanResponse` (accept / edit / response / ignore) plus the approver's identity, which must
differ from whoever started the incident: nobody approves their own purchase.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

Decision = Literal["accept", "reject", "edit", "respond"]
DECISIONS: tuple[Decision, ...] = ("accept", "reject", "edit", "respond")


class ApprovalRefused(ValueError):
    """The answer cannot be applied (bad decision, missing plan, approver is the requester)."""


@dataclass(frozen=True)
class PendingApproval:
    """One question a thread is waiting on."""

    approval_id: str
    thread_id: str
    incident_id: str | None
    action: str
    host: str | None
    summary: str
    description: str
    requested_by: str | None
    interrupt_id: str = ""

    @property
    def answer_key(self) -> str:
        """Unique per question asked: the same purchase request asked again (an invalid edit, a follow-up run)
        is a new interrupt and takes a new answer; the same question answered twice is a conflict."""
        return f"{self.approval_id}/{self.interrupt_id}" if self.interrupt_id else self.approval_id

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API and `approvals list --json`."""
        return {**asdict(self), "answer_key": self.answer_key}


def pending_in(
    thread_id: str,
    interrupts: list[dict[str, Any]],
    incident_id: str | None,
    requested_by: str | None,
    interrupt_ids: list[str] | None = None,
) -> list[PendingApproval]:
    """The approvals a thread's pending interrupts ask for (HumanInterrupt values, with LangGraph's ids)."""
    ids = list(interrupt_ids or [])
    out = []
    for index, value in enumerate(interrupts):
        request = value.get("action_request") or {}
        args = request.get("args") or {}
        out.append(
            PendingApproval(
                approval_id=str(args.get("id") or f"{thread_id}#{index}"),
                thread_id=thread_id,
                incident_id=incident_id,
                action=str(request.get("action") or "unknown"),
                host=args.get("host"),
                summary=str((args.get("plan") or {}).get("summary", "")),
                description=str(value.get("description", "")),
                requested_by=requested_by,
                interrupt_id=ids[index] if index < len(ids) else "",
            )
        )
    return out


def requester_of(values: dict[str, Any]) -> str | None:
    """Who started the incident of a thread (its state values): the one person who may not approve it."""
    requested_by = (values.get("request") or {}).get("requested_by")
    return str(requested_by) if requested_by else None


def check_approver(approver: str | None, requested_by: str | None) -> str:
    """The approver's normalised identity; refuses a missing one or the requester approving their own request."""
    name = (approver or "").strip()
    if not name:
        msg = "an answer needs the approver's identity"
        raise ApprovalRefused(msg)
    if len(name) > 200:
        msg = "approver identity longer than 200 characters"
        raise ApprovalRefused(msg)
    if requested_by and name.casefold() == requested_by.strip().casefold():
        msg = f"{name} requested this incident and cannot approve it: another person must answer"
        raise ApprovalRefused(msg)
    return name


def answer_value(
    decision: str, approver: str, plan: dict[str, Any] | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The resume value (Agent Inbox HumanResponse + approver) for a decision."""
    if decision == "accept":
        return {"type": "accept", "args": None, "approver": approver}
    if decision == "reject":
        return {"type": "ignore", "args": reason or "rejected", "approver": approver}
    if decision == "respond":
        if not reason:
            msg = "respond needs a comment (reason)"
            raise ApprovalRefused(msg)
        return {"type": "response", "args": reason, "approver": approver}
    if decision == "edit":
        if not isinstance(plan, dict):
            msg = "edit needs the edited plan (a JSON object)"
            raise ApprovalRefused(msg)
        return {"type": "edit", "args": {"plan": plan.get("plan", plan)}, "approver": approver}
    msg = f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}"
    raise ApprovalRefused(msg)


def parse_answer_body(body: bytes) -> tuple[str, str | None, dict[str, Any] | None, str | None]:
    """(decision, approver, plan, reason) from a POST /approvals/{id} JSON body."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"body is not JSON: {exc}"
        raise ApprovalRefused(msg) from exc
    if not isinstance(data, dict):
        msg = "body must be a JSON object"
        raise ApprovalRefused(msg)
    decision = data.get("decision")
    if not isinstance(decision, str):
        msg = f"decision: expected one of {', '.join(DECISIONS)}"
        raise ApprovalRefused(msg)
    approver, plan, reason = data.get("approver"), data.get("plan"), data.get("reason")
    for name, value, kind in (("approver", approver, str), ("plan", plan, dict), ("reason", reason, str)):
        if value is not None and not isinstance(value, kind):
            msg = f"{name}: expected {'an object' if kind is dict else 'a string'}"
            raise ApprovalRefused(msg)
    return decision, approver, plan, reason
