"""The schema a diagnosis report must satisfy, whoever wrote it (the LLM or the template)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Hypothesis(BaseModel):
    """A ranked root-cause hypothesis, citing the findings it rests on."""

    title: str = Field(min_length=1, max_length=300)
    explanation: str = Field(max_length=2000)
    finding_ids: list[str] = Field(default_factory=list)
    confidence: Literal["low", "medium", "high"] = "medium"


class Action(BaseModel):
    """Something to do about it; actions that change a machine or spend money need approval."""

    action: str = Field(min_length=1, max_length=500)
    runbook_id: str | None = None
    hosts: list[str] = Field(default_factory=list)
    needs_approval: bool = False


class ReportModel(BaseModel):
    """The diagnosis: summary, ranked hypotheses, actions, risk."""

    summary: str = Field(min_length=1, max_length=3000)
    hypotheses: list[Hypothesis] = Field(default_factory=list, max_length=10)
    actions: list[Action] = Field(default_factory=list, max_length=20)
    risk: str = Field(default="", max_length=1000)
