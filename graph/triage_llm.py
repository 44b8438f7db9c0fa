"""The LLM's reading of an operator's free-text question, vetted against the inventory before triage uses it.

The model answers a schema (hosts, checks, severity, reason). Its hosts must resolve to inventory hosts (by
name, address or metrics IP) and, when the operator named hosts, be among them; its checks must be known ones.
Everything else is dropped and said in `dropped`: the model can narrow a scope, never widen it past the
inventory or invent a check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from graph.host_match import host_index
from graph.prompts import render
from graph.state import ALL_CHECKS, Check, Severity

MAX_PROMPT_HOSTS = 150  # hosts listed in the prompt; the answer is still vetted against the whole inventory


class TriageAnswer(BaseModel):
    """What the model reads in the question."""

    hosts: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Inventory host names the question is about; empty when it names or implies none",
    )
    checks: list[str] = Field(
        max_length=len(ALL_CHECKS), description="Which checks to run, from: " + ", ".join(ALL_CHECKS)
    )
    severity: Severity = Field(description="How urgent the operator's request sounds")
    reason: str = Field(min_length=1, max_length=300, description="One short sentence: what the operator wants")


@dataclass(frozen=True)
class TriageReading:
    """A vetted answer: inventory host names (None: the question names no host), known checks, what was dropped."""

    hosts: list[str] | None
    checks: list[Check]
    severity: Severity
    reason: str
    dropped: list[str] = field(default_factory=list)


def with_system_view(checks: Sequence[Check]) -> list[Check]:
    """Checks in canonical order; memory and disk problems are diagnosed with the system view (load, CPUs)."""
    found = set(checks)
    if found & {"memory", "disk"}:
        found.add("system")
    return [c for c in ALL_CHECKS if c in found]


def vet(answer: TriageAnswer, inventory: list[dict[str, Any]], named: list[str] | None) -> TriageReading:
    """Keep the hosts and checks of `answer` that exist and are allowed; record the rest in `dropped`."""
    allowed = {h["name"] for h in inventory} if named is None else set(named)
    index = host_index(inventory)
    dropped: list[str] = []
    hosts: set[str] = set()
    for wanted in dict.fromkeys(h.strip() for h in answer.hosts if h.strip()):
        match = index.get(wanted)
        if match is None:
            dropped.append(f"host {wanted!r} (not in the inventory)")
        elif match not in allowed:
            dropped.append(f"host {wanted!r} (not among the hosts the operator named)")
        else:
            hosts.add(match)
    checks: list[Check] = []
    for raw in dict.fromkeys(c.strip().lower() for c in answer.checks):
        known = next((c for c in ALL_CHECKS if c == raw), None)
        if known is None:
            dropped.append(f"check {raw!r} (not one of {', '.join(ALL_CHECKS)})")
        else:
            checks.append(known)
    ordered = [h["name"] for h in inventory if h["name"] in hosts]
    return TriageReading(
        hosts=ordered if answer.hosts else None,
        checks=with_system_view(checks),
        severity=answer.severity,
        reason=answer.reason.strip(),
        dropped=dropped,
    )


def triage_messages(
    question: str, inventory: list[dict[str, Any]], named: list[str] | None, lang: str
) -> list[SystemMessage | HumanMessage]:
    """The system and user prompts; the inventory is listed up to MAX_PROMPT_HOSTS hosts."""
    candidates = inventory if named is None else [h for h in inventory if h["name"] in set(named)]
    lines = [
        " ".join(
            [h["name"], str(h.get("address", "")), str(h.get("metrics_ip") or "")]
            + [f"groups={','.join(h['groups'])}"] * bool(h.get("groups"))
            + [f"tags={','.join(h['tags'])}"] * bool(h.get("tags"))
        ).replace("  ", " ")
        for h in candidates[:MAX_PROMPT_HOSTS]
    ]
    if len(candidates) > MAX_PROMPT_HOSTS:
        lines.append(f"... and {len(candidates) - MAX_PROMPT_HOSTS} more hosts not listed")
    user = render(
        "triage_user",
        lang,
        question=question,
        named=", ".join(named) if named else "none",
        inventory="\n".join(lines) or "(empty)",
    )
    return [SystemMessage(render("triage_system", lang, checks=", ".join(ALL_CHECKS))), HumanMessage(user)]
