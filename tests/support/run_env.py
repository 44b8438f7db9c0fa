"""The OPSWD_* settings of an incident run on a simulated fleet with every file under one work directory.

Shared by the integration tests (in-process graph, `langgraph dev`, the webhook service) and the benchmarks;
each adds what is its own (LLM, service settings) on top.
"""

from __future__ import annotations

from pathlib import Path


def run_environment(
    inventory: Path,
    known_hosts: Path,
    work: Path,
    checkpoint_url: str,
    *,
    connect_timeout_s: float,
    command_timeout_s: float,
    knowledge_index: Path | None = None,
) -> dict[str, str]:
    """Fleet, SSH timeouts, metrics store, outbox, runbook index (default under `work`) and checkpoints."""
    return {
        "OPSWD_INVENTORY": str(inventory),
        "OPSWD_SSH__KNOWN_HOSTS": str(known_hosts),
        "OPSWD_SSH__CONNECT_TIMEOUT_S": f"{connect_timeout_s:g}",
        "OPSWD_SSH__COMMAND_TIMEOUT_S": f"{command_timeout_s:g}",
        "OPSWD_METRICS__URL": f"sqlite:///{work / 'metrics.db'}",
        "OPSWD_NOTIFY__OUTBOX_DB": str(work / "outbox.db"),
        "OPSWD_NOTIFY__OUTBOX_FILE": str(work / "notifications.jsonl"),
        "OPSWD_KNOWLEDGE__INDEX_PATH": str(knowledge_index or work / "knowledge-index"),
        "OPSWD_CHECKPOINTS__URL": checkpoint_url,
    }
