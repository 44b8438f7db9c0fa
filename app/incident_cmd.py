"""`opswatchdog inspect`, `resume` and `approvals`: run an incident to its approval, continue it, answer it later.

The thread lives in the checkpointer (SQLite by default, Postgres with OPSWD_CHECKPOINTS__URL), so the answer
can come from another process, another day: `approvals answer THREAD accept|reject|edit FILE`; a run cut off
mid-way (the process killed) goes on from its last checkpoint with `resume THREAD`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.incident_run import Progress
    from graph.state import IncidentRequest


def _request(args: argparse.Namespace, thread: str) -> IncidentRequest:
    request: IncidentRequest = {
        "incident_id": thread,
        "lang": args.lang,
        "window": args.window,
        "group": args.group,
        "tag": args.tag,
    }
    if args.schedule:
        request["kind"] = "schedule"
    else:
        request["kind"] = "operator"
        request["hosts"] = args.hosts or []
        request["question"] = args.question
    return request


def print_progress(p: Progress) -> None:
    """One status line per step on stderr."""
    print(f"[{p.node}] hosts {p.hosts_done}/{p.hosts_total}, findings so far {p.findings}", file=sys.stderr, flush=True)


def show_outcome(outcome: dict[str, Any], thread: str) -> None:
    """The report, or the pending question and how to answer it."""
    for question in outcome["interrupts"]:
        print("\n" + question["description"] + "\n")
        print(f"answer: opswatchdog approvals answer {thread} accept|reject|edit PLAN.json", flush=True)
    if not outcome["interrupts"]:
        print((outcome["values"].get("report") or {}).get("markdown", "(no report)"))
        for n in outcome["values"].get("notifications") or []:
            print(f"notification {n.get('idempotency_key')}: {n.get('status')}")


async def _inspect(args: argparse.Namespace) -> int:
    from app.incident_run import IncidentRunner

    thread = args.thread or f"inspect-{uuid.uuid4().hex[:10]}"
    async with IncidentRunner.open() as runner:
        outcome = await runner.run(thread, _request(args, thread), print_progress, lang=args.lang)
    print(f"thread {thread}", file=sys.stderr)
    show_outcome(outcome, thread)
    return 0


async def _resume(args: argparse.Namespace) -> int:
    from app.incident_run import IncidentRunner, ThreadNotFound

    async with IncidentRunner.open() as runner:
        try:
            outcome = await runner.continue_run(args.thread, print_progress)
        except ThreadNotFound as exc:
            print(f"opswatchdog resume: {exc}", file=sys.stderr)
            return 2
    if not outcome["continued"]:
        state = "is waiting for an approval" if outcome["interrupts"] else "has finished"
        print(f"thread {args.thread} {state}: nothing to continue", file=sys.stderr)
    show_outcome(outcome, args.thread)
    return 0


async def _list(_: argparse.Namespace) -> int:
    from app.incident_run import IncidentRunner

    async with IncidentRunner.open() as runner:
        pending = await runner.pending()
    if not pending:
        print("no pending approvals")
    for item in pending:
        print(f"{item['thread']}  {item['action']}  {item['summary']}")
    return 0


def answer_value(decision: str, plan_file: Path | None, approver: str | None, reason: str | None) -> dict[str, Any]:
    """The resume value of the Agent Inbox answer for a CLI decision."""
    if decision == "accept":
        return {"type": "accept", "args": None, "approver": approver}
    if decision == "reject":
        return {"type": "ignore", "args": reason or "rejected", "approver": approver}
    if plan_file is None:
        msg = "edit needs the edited plan file (JSON)"
        raise ValueError(msg)
    plan = json.loads(plan_file.read_text())
    return {"type": "edit", "args": {"plan": plan.get("plan", plan)}, "approver": approver}


async def _answer(args: argparse.Namespace) -> int:
    try:
        value = answer_value(args.decision, args.file, args.approver, args.reason)
    except (ValueError, OSError) as exc:
        print(f"opswatchdog approvals answer: {exc}", file=sys.stderr)
        return 2
    from langgraph.types import Command

    from app.incident_run import IncidentRunner

    async with IncidentRunner.open() as runner:
        if not await runner.is_waiting(args.thread):
            print(f"opswatchdog approvals answer: thread {args.thread} is not waiting for an approval", file=sys.stderr)
            return 2
        outcome = await runner.resume(args.thread, Command(resume=value), print_progress)
    show_outcome(outcome, args.thread)
    return 0


def add_incident_parsers(subparsers: Any) -> None:
    """Register `inspect`, `resume` and `approvals` on the opswatchdog subcommands."""
    p = subparsers.add_parser("inspect", help="run an incident over hosts; stops at an approval")
    p.add_argument("--hosts", nargs="*", help="host names (default: all, or the group/tag)")
    p.add_argument("--group")
    p.add_argument("--tag")
    p.add_argument("--question", help="what the operator wants to know")
    p.add_argument("--schedule", action="store_true", help="scheduled inspection: only hosts over threshold")
    p.add_argument("--window", default="24h")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("--thread", help="thread id (default: a new one)")
    p.set_defaults(func=lambda a: asyncio.run(_inspect(a)))

    rp = subparsers.add_parser("resume", help="continue a thread cut off mid-run (killed) from its last checkpoint")
    rp.add_argument("thread")
    rp.set_defaults(func=lambda a: asyncio.run(_resume(a)))

    ap = subparsers.add_parser("approvals", help="pending approvals").add_subparsers(
        dest="approvals_command", required=True
    )
    ls = ap.add_parser("list", help="threads waiting for an approval")
    ls.set_defaults(func=lambda a: asyncio.run(_list(a)))
    ans = ap.add_parser("answer", help="answer a pending approval and resume the thread")
    ans.add_argument("thread")
    ans.add_argument("decision", choices=["accept", "reject", "edit"])
    ans.add_argument("file", nargs="?", type=Path, help="edited plan (JSON) for edit")
    ans.add_argument("--approver", help="who answers (recorded)")
    ans.add_argument("--reason", help="why, for reject")
    ans.set_defaults(func=lambda a: asyncio.run(_answer(a)))
