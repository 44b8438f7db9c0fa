"""The Finding model (DESIGN §4): the unit every inspection, report and digest aggregates."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Component = Literal["memory", "disk", "smart", "cpu", "service", "log", "environment", "host"]
Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Finding(BaseModel):
    """One fact about one host worth an operator's attention, with its evidence."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id: same host, component, metric and subject give the same id")
    host: str
    component: Component
    severity: Severity
    metric: str = Field(description="What was measured, e.g. memory.used_percent")
    value: float | str | None = None
    threshold: float | None = None
    subject: str | None = Field(None, description="Mount point, device or process the finding is about")
    summary: str = Field(description="One line for a human")
    evidence: str = Field("", description="The facts behind it: numbers, top processes, attribute names")
    source: str = Field(description="The command or check that produced it")


def finding_id(host: str, component: str, metric: str, subject: str | None) -> str:
    """Return the deterministic id of a finding (a retried inspection yields the same ids)."""
    digest = hashlib.sha1(f"{host}|{component}|{metric}|{subject or ''}".encode(), usedforsecurity=False)
    return "F-" + digest.hexdigest()[:10]


def make_finding(
    host: str,
    component: Component,
    severity: Severity,
    metric: str,
    summary: str,
    source: str,
    *,
    value: float | str | None = None,
    threshold: float | None = None,
    subject: str | None = None,
    evidence: str = "",
) -> Finding:
    """Build a Finding with its id computed from host, component, metric and subject."""
    return Finding(
        id=finding_id(host, component, metric, subject),
        host=host,
        component=component,
        severity=severity,
        metric=metric,
        value=value,
        threshold=threshold,
        subject=subject,
        summary=summary,
        evidence=evidence,
        source=source,
    )


def not_inspectable(host: str, component: Component, why: str, source: str) -> Finding:
    """A finding saying part of a host could not be inspected, and why (no root, no tool, no answer)."""
    return make_finding(
        host,
        component,
        "warning",
        f"{component}.inspectable",
        f"{component} not inspectable: {why}",
        source,
        value="no",
        evidence=why,
    )


def rank(findings: list[Finding]) -> list[Finding]:
    """Sort findings worst first, then by host and metric, for stable output."""
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.host, f.component, f.metric, f.subject or ""))
