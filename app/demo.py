"""`make demo`: the whole incident flow on a simulated fleet, with no LLM, no database server, no network.

A 20-host simulated fleet with every fault kind, two days of seeded metrics in SQLite, SQLite checkpoints, the
MCP tools server as a stdio subprocess: the incident graph inspects every host (progress shown), the findings
are checked against the injected faults, the report is printed, each memory purchase request is put to the
operator in the terminal (accept / reject / edit FILE; `--yes` accepts unattended), and the notification
lands in the outbox file. With OPSWD_LLM_BASE_URL set, the report is written by that model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_mcp_adapters.sessions import StdioConnection

from app.fault_expectations import attribution
from app.findings_table import render_abnormal, render_findings, render_plans
from app.metrics_cmd import seed_store
from simfleet.server import start_fleet


def tools_server_connection(inventory: Path, known_hosts: Path, **extra_env: str) -> StdioConnection:
    """How to start the MCP tools server as a stdio subprocess for this fleet."""
    env = {
        "OPSWD_INVENTORY": str(inventory),
        "OPSWD_SSH__KNOWN_HOSTS": str(known_hosts),
        "OPSWD_SSH__CONNECT_TIMEOUT_S": "3",
        "OPSWD_SSH__COMMAND_TIMEOUT_S": "15",
        "PYTHONPATH": os.pathsep.join(sys.path),
        **extra_env,
    }
    return StdioConnection(
        transport="stdio", command=sys.executable, args=["-m", "app", "tools", "serve", "--transport", "stdio"], env=env
    )


async def inspect_all(tools: Any, hosts: list[str]) -> list[dict[str, Any]]:
    """Call ssh_inspect_host for every host concurrently (the server bounds the SSH concurrency)."""
    import asyncio

    return list(await asyncio.gather(*(tools.call("ssh_inspect_host", {"host": h}) for h in hosts)))


def demo_environment(out_dir: Path) -> dict[str, str]:
    """The OPSWD_* settings of the demo: everything in `out_dir`, nothing outside it."""
    return {
        "OPSWD_INVENTORY": str(out_dir / "inventory.yaml"),
        "OPSWD_SSH__KNOWN_HOSTS": str(out_dir / "known_hosts"),
        "OPSWD_SSH__CONNECT_TIMEOUT_S": "3",
        "OPSWD_SSH__COMMAND_TIMEOUT_S": "15",
        "OPSWD_METRICS__URL": f"sqlite:///{out_dir / 'metrics.db'}",
        "OPSWD_CHECKPOINTS__URL": f"sqlite:///{out_dir / 'checkpoints.db'}",
        "OPSWD_NOTIFY__OUTBOX_DB": str(out_dir / "outbox.db"),
        "OPSWD_NOTIFY__OUTBOX_FILE": str(out_dir / "notifications.jsonl"),
        "OPSWD_KNOWLEDGE__INDEX_PATH": str(out_dir / "knowledge-index"),
    }


def _ask(question: dict[str, Any], assume_yes: bool) -> dict[str, Any]:
    """Put one approval to the operator; returns the Agent Inbox answer."""
    print("\n" + question["description"] + "\n", flush=True)
    if assume_yes or not sys.stdin.isatty():
        why = "--yes" if assume_yes else "no terminal to ask on (use --yes to say so)"
        print(f"{why}: accepting", flush=True)
        return {"type": "accept", "approver": "demo --yes"}
    while True:
        reply = input("accept / reject / edit FILE > ").strip()
        if reply == "accept":
            return {"type": "accept", "approver": os.environ.get("USER", "operator")}
        if reply == "reject":
            return {"type": "ignore", "args": "rejected in the demo", "approver": os.environ.get("USER", "operator")}
        if reply.startswith("edit "):
            try:
                plan = json.loads(Path(reply[5:].strip()).read_text())
            except (OSError, ValueError) as exc:
                print(f"cannot read the edited plan: {exc}")
                continue
            return {"type": "edit", "args": {"plan": plan.get("plan", plan)}}
        print("answer accept, reject, or edit PATH-TO-PLAN.json")


def _print_inspection(values: dict[str, Any], faults: dict[str, list[str]], names: dict[str, str]) -> int:
    outcomes = values.get("host_results") or {}
    reports = [{"host": h, "status": o["status"], "findings": o["findings"]} for h, o in sorted(outcomes.items())]
    print("\nhosts over threshold in the metrics store:")
    print(render_abnormal(values.get("abnormal_hosts") or [], names))
    print("\nfindings of the SSH inspection:")
    print(render_findings(reports))
    result = attribution(faults, {r["host"]: r["findings"] for r in reports})
    total = len(result["found"]) + len(result["missed"])
    print(f"\ninjected faults found on the right host: {len(result['found'])}/{total}")
    for host, kind in result["missed"]:
        print(f"  MISSED: {kind} on {host}")
    for host, metric in result["unexpected_critical"]:
        print(f"  UNEXPECTED critical finding {metric} on {host}")
    print("\nmemory upgrade plans (purchase request drafts):")
    plans = [{"host": p["host"], "status": "ok", "plan": p["plan"]} for p in values.get("purchase_requests") or []]
    print(render_plans(plans))
    return 0 if not result["missed"] and not result["unexpected_critical"] else 1


async def run_demo(hosts: int, scenario: str, out: Path | None, assume_yes: bool = False) -> int:
    """Run the demo; exit status 0 when every injected fault was found on its host and the flow finished."""
    from langgraph.types import Command

    from app.incident_run import IncidentRunner
    from checkpoints.settings import CheckpointSettings

    with tempfile.TemporaryDirectory(prefix="opswd-demo-") as tmp:
        out_dir = (out or Path(tmp)).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        env = demo_environment(out_dir)
        os.environ.update(env)
        async with start_fleet(scenario, out_dir, hosts=hosts) as fleet:
            names = {h.address: h.name for h in fleet.hosts}
            print(
                f"simulated fleet: {len(fleet.hosts)} hosts on {fleet.hosts[0].address}..{fleet.hosts[-1].address}"
                f" (scenario {scenario})",
                flush=True,
            )
            seeded = await seed_store(
                store=env["OPSWD_METRICS__URL"], scenario=scenario, hosts=hosts, days=2, interval_minutes=10
            )
            print(f"metrics store: {seeded['samples']} samples of 2 days in {env['OPSWD_METRICS__URL']}", flush=True)
            llm = os.environ.get("OPSWD_LLM_BASE_URL")
            print(f"report writer: {'the LLM at ' + llm if llm else 'template (no LLM configured)'}", flush=True)
            faults: dict[str, list[str]] = json.loads((out_dir / "faults.json").read_text())
            thread = f"demo-{int(time.time())}"
            request = {
                "kind": "operator",
                "incident_id": thread,
                "hosts": [h.name for h in fleet.hosts],
                "question": "full inspection of the fleet",
                "lang": "en",
                "window": "1h",
            }
            started = time.perf_counter()
            async with IncidentRunner.open(CheckpointSettings(url=env["OPSWD_CHECKPOINTS__URL"])) as runner:
                outcome = await runner.run(thread, request, _progress)  # type: ignore[arg-type]
                status = _print_inspection(outcome["values"], faults, names)
                print("\n" + (outcome["values"].get("report") or {}).get("markdown", ""))
                while outcome["interrupts"]:
                    answer = _ask(outcome["interrupts"][0], assume_yes)
                    outcome = await runner.resume(thread, Command(resume=answer), _progress)
            elapsed = time.perf_counter() - started
        for pr in outcome["values"].get("purchase_requests") or []:
            print(f"purchase request {pr['id']} for {pr['host']}: {pr['status']}")
        for n in outcome["values"].get("notifications") or []:
            print(f"notification {n['idempotency_key']}: {n['status']} -> {env['OPSWD_NOTIFY__OUTBOX_FILE']}")
        print(f"\nthread {thread} finished in {elapsed:.1f} s (checkpoints in {env['OPSWD_CHECKPOINTS__URL']})")
        sent = bool(outcome["values"].get("notifications"))
    return status if sent else 1


def _progress(p: Any) -> None:
    if p.node == "inspect_host":
        print(f"\rinspected {p.hosts_done}/{p.hosts_total} hosts, {p.findings} findings so far", end="", flush=True)
    elif p.node == "aggregate":
        print(flush=True)
