"""Per-run knobs of the incident graph (not secret, not checkpointed): language, window, limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IncidentContext:
    """Run-time configuration a caller may override per run (LangGraph `context`)."""

    lang: str = "en"
    window: str = "24h"
    target_used_percent: float = 70.0
    max_hosts: int = 1000
    digest_groups: int = 30
    digest_hosts_per_group: int = 8
    runbooks_per_incident: int = 5
    notify_channels: tuple[str, ...] = ("outbox",)
