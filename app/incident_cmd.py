"""`opswatchdog inspect`, `resume` and `approvals`: run an incident to its approval, continue it, answer it later.

The thread lives in the checkpointer (SQLite by default, Postgres with OPSWD_CHECKPOINTS__URL), so the answer
can come from another process, another day: `approvals answer THREAD accept|reject|edit FILE|respond`; a run cut
off mid-way (the process killed) goes on from its last checkpoint with `resume THREAD`. Approvals are listed,
checked and built by the same code as the HTTP API (service/approvals.py). A thread of a webhook incident belongs
to the service's dispatcher (it holds the lease): its answer goes into the inbox, as POST /approvals/{id} puts it,
and the service resumes the thread; resuming it here too would race the dispatcher.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.approvals import (
    DECISIONS,
    ApprovalRefused,
    PendingApproval,
    answer_value,
    check_approver,
    pending_in,
    requester_of,
)

if TYPE_CHECKING:
    from app.incident_run import IncidentRunner, Progress
    from graph.state import IncidentRequest
    from service.inbox import Inbox

_ANSWER = "opswatchdog approvals answer"


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


async def pending_approvals(runner: IncidentRunner) -> list[PendingApproval]:
    """Every question a thread of the checkpointer waits on, as GET /approvals describes it."""
    from service.driver import InProcessDriver

    driver = InProcessDriver(runner)
    out: list[PendingApproval] = []
    for thread in dict.fromkeys(p["thread"] for p in await runner.pending()):
        snapshot = await driver.snapshot(thread)
        incident = (snapshot.values.get("request") or {}).get("incident_id")
        requester = requester_of(snapshot.values)
        out += pending_in(thread, snapshot.interrupts, incident, requester, snapshot.interrupt_ids)
    return out


async def _list(args: argparse.Namespace) -> int:
    from app.incident_run import IncidentRunner

    async with IncidentRunner.open() as runner:
        pending = await pending_approvals(runner)
    if args.json:
        print(json.dumps([p.as_dict() for p in pending], indent=2, ensure_ascii=False))
        return 0
    if not pending:
        print("no pending approvals")
    for p in pending:
        print(
            f"{p.approval_id}  thread {p.thread_id}  incident {p.incident_id or '-'}  host {p.host or '-'}  "
            f"{p.action}  requested by {p.requested_by or '-'}  answer key {p.answer_key}\n    {p.summary}"
        )
    return 0


def edit_plan(args: argparse.Namespace) -> dict[str, Any] | None:
    """The edited plan of `approvals answer THREAD edit FILE` (None for the other decisions)."""
    if args.decision != "edit":
        if args.file is not None:
            msg = f"{args.file}: a plan file goes with edit only"
            raise ApprovalRefused(msg)
        return None
    if args.file is None:
        msg = "edit needs the edited plan: approvals answer THREAD edit PLAN.json"
        raise ApprovalRefused(msg)
    try:
        plan = json.loads(args.file.read_bytes())
    except OSError as exc:
        msg = f"cannot read the edited plan {args.file}: {exc.strerror}"
        raise ApprovalRefused(msg) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"the edited plan {args.file} is not valid JSON: {exc}"
        raise ApprovalRefused(msg) from exc
    if not isinstance(plan, dict):
        msg = f"the edited plan {args.file} must be a JSON object, not {type(plan).__name__}"
        raise ApprovalRefused(msg)
    return plan


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (a bare container)
        return None


def answer_for(
    args: argparse.Namespace, plan: dict[str, Any] | None, requested_by: str | None
) -> tuple[str, dict[str, Any]]:
    """(approver, resume value) of `approvals answer`, checked as POST /approvals/{id} checks them: the approver
    (--approver, default the login name) must not be the one who started the incident."""
    approver = check_approver(args.approver or _login_name(), requested_by)
    return approver, answer_value(args.decision, approver, plan, args.reason)


@asynccontextmanager
async def _service_inbox() -> AsyncIterator[Inbox | None]:
    """The webhook service's inbox, or None when no Postgres inbox is configured (a CLI-only setup)."""
    from service.folding import Topology
    from service.inbox import Inbox
    from service.settings import ServiceConfigError, service_settings_from_env

    settings = service_settings_from_env()
    try:
        url = settings.resolved_inbox_url()
    except ServiceConfigError:
        yield None
        return
    # The CLI never folds alerts: it needs no topology, so no inventory file either.
    async with Inbox.open(url, Topology.empty(), window_s=settings.fold_window_s, pool_min=1, pool_max=1) as inbox:
        yield inbox


async def _hand_to_service(
    inbox: Inbox, incident: dict[str, Any], pending: PendingApproval, value: dict[str, Any], approver: str
) -> int:
    """Store the answer as POST /approvals/{id} does: the service's dispatcher owns the thread and applies it."""
    stored = await inbox.add_answer(
        pending.answer_key, incident["id"], pending.thread_id, value, approver, pending.requested_by
    )
    if not stored:
        print(f"{_ANSWER}: approval {pending.approval_id} was already answered", file=sys.stderr)
        return 2
    print(
        f"answer to {pending.approval_id} stored in the inbox of incident {incident['id']}: "
        f"the webhook service will apply it and resume thread {pending.thread_id}"
    )
    return 0


async def _answer(args: argparse.Namespace) -> int:
    import psycopg
    from langgraph.types import Command

    from app.incident_run import IncidentRunner
    from service.driver import InProcessDriver
    from service.inbox import InboxError

    try:
        plan = edit_plan(args)
    except ApprovalRefused as exc:
        print(f"{_ANSWER}: {exc}", file=sys.stderr)
        return 2
    async with IncidentRunner.open() as runner:
        snapshot = await InProcessDriver(runner).snapshot(args.thread)
        if not snapshot.waiting:
            print(f"{_ANSWER}: thread {args.thread} is not waiting for an approval", file=sys.stderr)
            return 2
        requester = requester_of(snapshot.values)
        try:
            approver, value = answer_for(args, plan, requester)
        except ApprovalRefused as exc:
            print(f"{_ANSWER}: {exc}", file=sys.stderr)
            return 2
        try:
            async with _service_inbox() as inbox:
                incident = None if inbox is None else await inbox.incident_for_thread(args.thread)
                if inbox is not None and incident is not None:
                    questions = pending_in(
                        args.thread, snapshot.interrupts, incident["id"], requester, snapshot.interrupt_ids
                    )
                    return await _hand_to_service(inbox, incident, questions[0], value, approver)
        except (InboxError, psycopg.Error) as exc:
            print(f"{_ANSWER}: the webhook service's inbox failed: {exc}", file=sys.stderr)
            return 2
        # No service owns this thread (no inbox, or not a webhook incident): resume it here.
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
    ls = ap.add_parser("list", help="questions threads wait on (the fields of GET /approvals)")
    ls.add_argument("--json", action="store_true", help="print the approvals as a JSON list")
    ls.set_defaults(func=lambda a: asyncio.run(_list(a)))
    ans = ap.add_parser(
        "answer", help="answer a pending approval: resume the thread, or hand the answer to the webhook service"
    )
    ans.add_argument("thread")
    ans.add_argument("decision", choices=DECISIONS)
    ans.add_argument("file", nargs="?", type=Path, help="edited plan (JSON) for edit")
    ans.add_argument("--approver", help="who answers (default: the login name); not who started the incident")
    ans.add_argument("--reason", help="why, for reject; the comment of respond (required)")
    ans.set_defaults(func=lambda a: asyncio.run(_answer(a)))
