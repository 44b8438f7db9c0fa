"""Typed state of the incident graph: the request, its scope, per-host outcomes (merged by host), and results.

The state is checkpointed: it holds findings and summaries, never raw command output, clients or secrets.

A thread can run more than once (a follow-up run when late alerts join an incident, an operator asking again).
Each run starts at `triage`, which clears what belongs to one run: `errors` and `host_results` (reducer keys,
reset with `langgraph.types.Overwrite`, so within the run parallel `inspect_host` tasks still append and merge),
`approvals` and `notifications`. The other keys are rewritten by their node in every run; `purchase_requests`
keeps a human's final decision on the same request id (see plan_upgrades).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

Check = Literal["memory", "disk", "system", "services", "environment"]
ALL_CHECKS: tuple[Check, ...] = ("memory", "disk", "system", "services", "environment")
Severity = Literal["info", "warning", "critical"]


class IncidentRequest(TypedDict, total=False):
    """What started the incident: an Alertmanager group, a schedule, or an operator."""

    kind: Literal["alert", "schedule", "operator"]
    incident_id: str
    alerts: list[dict[str, Any]]
    hosts: list[str]
    group: str | None
    tag: str | None
    question: str | None
    window: str
    lang: Literal["zh", "en"]
    requested_by: str | None
    # 0 for an incident's first request; a follow-up run on the same thread carries revision + 1, so its
    # notification is not deduplicated against the earlier run's (the same request replayed still is).
    revision: int


class Scope(TypedDict):
    """Which hosts and checks the incident covers, decided by triage."""

    incident_id: str
    hosts: list[str]
    checks: list[Check]
    severity: Severity
    window: str
    reason: str


class HostOutcome(TypedDict):
    """One host's inspection, reduced to what the analysis needs (no raw output)."""

    host: str
    status: str
    reason: str | None
    findings: list[dict[str, Any]]
    memory_used_percent: float | None
    duration_ms: int


class InspectTask(TypedDict):
    """The payload of one `Send("inspect_host", ...)`."""

    host: str
    checks: list[Check]


def merge_host_results(
    left: dict[str, HostOutcome] | None, right: dict[str, HostOutcome] | None
) -> dict[str, HostOutcome]:
    """Reducer keyed by host: a retried or replayed task replaces its own entry instead of duplicating it."""
    merged = dict(left or {})
    merged.update(right or {})
    return merged


class IncidentState(TypedDict):
    """Everything that flows through the incident graph."""

    request: IncidentRequest
    scope: NotRequired[Scope]
    abnormal_hosts: NotRequired[list[dict[str, Any]]]
    environment: NotRequired[list[dict[str, Any]]]
    host_results: NotRequired[Annotated[dict[str, HostOutcome], merge_host_results]]
    digest: NotRequired[dict[str, Any]]
    runbooks: NotRequired[list[dict[str, Any]]]
    purchase_requests: NotRequired[list[dict[str, Any]]]
    report: NotRequired[dict[str, Any]]
    llm: NotRequired[dict[str, Any]]
    triage_llm: NotRequired[dict[str, Any]]
    approvals: NotRequired[list[dict[str, Any]]]
    notifications: NotRequired[list[dict[str, Any]]]
    errors: NotRequired[Annotated[list[str], operator.add]]
