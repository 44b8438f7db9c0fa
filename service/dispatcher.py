"""The dispatcher: runs incidents from the inbox after the webhook has answered, never inside the request.

A loop claims one incident at a time from the inbox (a lease in Postgres, renewed while the run goes on), runs
it through the RunDriver, and records the outcome. Start-up re-drive is the same loop: an incident whose lease
expired while `running` (the process died after the answer) is claimed again and continued from its last
checkpoint; the graph's idempotent notification keys make sure the team hears about it once. Approval answers
are stored first and applied by this loop too, so a crash after `POST /approvals/{id}` loses nothing.
Resolved incidents get one resolved notice.

The loop wakes on the inbox's Postgres NOTIFY (a webhook or an answer stored by any process: the HTTP process
when this runs in the worker, another replica) and at least every poll interval. A new or grown incident is
claimed once it has settled (settings.settle_s without a new alert, at most settle_max_s), so one storm gives
one investigation and not a run per notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from graph.context import IncidentContext
from graph.state import IncidentRequest
from service.approvals import pending_in
from service.driver import RunDriver, ThreadSnapshot
from service.settings import ServiceSettings

log = logging.getLogger("opswatchdog.dispatcher")

ALERT_REQUESTER = "alertmanager"


def incident_request(claim: Any, lang: str) -> IncidentRequest:
    """The graph's input for an inbox incident: its firing alerts, deterministic id and revision."""
    return {
        "kind": "alert",
        "incident_id": claim.incident_id,
        "alerts": list(claim.alerts),
        "lang": "zh" if lang == "zh" else "en",
        "requested_by": ALERT_REQUESTER,
        "revision": int(claim.run_revision),
    }


def outcome_of(snapshot: ThreadSnapshot, incident_id: str) -> dict[str, Any]:
    """What the inbox keeps about a run: small, JSON, enough for `GET /incidents`."""
    values = snapshot.values
    results = values.get("host_results") or {}
    report = values.get("report") or {}
    requester = (values.get("request") or {}).get("requested_by")
    return {
        "hosts_inspected": len(results),
        "hosts_unreachable": sorted(h for h, r in results.items() if r.get("status") not in ("ok", "partial")),
        "findings": sum(len(r.get("findings") or []) for r in results.values()),
        "report_summary": report.get("summary"),
        "report_written_by": report.get("written_by"),
        "llm": values.get("llm"),
        "pending_approvals": [
            p.as_dict() for p in pending_in("", snapshot.interrupts, incident_id, requester, snapshot.interrupt_ids)
        ],
        "purchase_requests": [
            {"id": p.get("id"), "host": p.get("host"), "status": p.get("status")}
            for p in values.get("purchase_requests") or []
        ],
        "notifications": [
            {"key": n.get("idempotency_key"), "status": n.get("status")} for n in values.get("notifications") or []
        ],
        "errors": list(values.get("errors") or [])[:20],
    }


class Dispatcher:
    """Claims incidents from the inbox and drives their threads; one instance per process."""

    def __init__(self, inbox: Any, driver: RunDriver, settings: ServiceSettings) -> None:
        self.inbox = inbox
        self.driver = driver
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        # Wake at least this often: a settling incident becomes claimable without any notification.
        self._tick_s = min(settings.poll_s, max(settings.settle_s / 2, 0.25))

    def wake(self) -> None:
        """Look at the inbox now (called after a webhook or an answer was stored)."""
        self._wake.set()

    def start(self) -> None:
        """Start the loop in the background (re-drives what a dead process left behind)."""
        self._loop_task = asyncio.create_task(self._loop(), name="opswatchdog-dispatcher")
        self._listen_task = asyncio.create_task(self._listen(), name="opswatchdog-dispatcher-listen")

    async def stop(self) -> None:
        """Stop claiming; cancel runs in flight (their leases expire and another start re-drives them)."""
        tasks = [t for t in (self._listen_task, self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self._send_resolved_notices()
                claimed = await self._claim_some()
            except asyncio.CancelledError:
                raise
            except Exception:  # the inbox may be briefly unreachable: log, wait, try again; nothing is lost
                log.exception("dispatcher: inbox unavailable, retrying in %.1f s", self.settings.poll_s)
                claimed = 0
            if claimed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick_s)

    async def _listen(self) -> None:
        while True:
            try:
                async for _ in self.inbox.notices():
                    self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # polling goes on meanwhile: only wake-ups are late
                log.warning(
                    "dispatcher: inbox notifications lost (%s); reconnecting in %.1f s", exc, self.settings.poll_s
                )
                await asyncio.sleep(self.settings.poll_s)

    async def _claim_some(self) -> int:
        claimed = 0
        settle = {"settle_s": self.settings.settle_s, "settle_max_s": self.settings.settle_max_s}
        while not self._slots.locked():
            claim = await self.inbox.claim_run(self.owner, self.settings.lease_s, **settle)
            if claim is None:
                break
            await self._slots.acquire()
            task = asyncio.create_task(self._execute(claim), name=f"incident-{claim.incident_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            claimed += 1
        return claimed

    async def _renew(self, incident_id: str) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            with contextlib.suppress(Exception):
                if not await self.inbox.renew_lease(incident_id, self.owner, self.settings.lease_s):
                    log.warning("dispatcher: lost the lease of %s", incident_id)

    async def _drive(self, claim: Any) -> ThreadSnapshot:
        thread = claim.thread_id
        if claim.answer is not None:
            snapshot = await self.driver.snapshot(thread)
            key = claim.answer["approval_id"]
            asked = {p.answer_key for p in pending_in(thread, snapshot.interrupts, None, None, snapshot.interrupt_ids)}
            if key in asked:
                snapshot = await self.driver.resume(thread, claim.answer["answer"])
            else:  # answered twice in a race, or the question is gone: record it, resume nothing
                log.warning("incident %s: answer %s matches no pending question", claim.incident_id, key)
            await self.inbox.mark_answer_applied(key)
            return snapshot
        if claim.redrive:
            snapshot = await self.driver.snapshot(thread)
            revision = int((snapshot.values.get("request") or {}).get("revision", -1))
            if snapshot.unfinished and revision == int(claim.run_revision):
                return await self.driver.proceed(thread)
            if snapshot.waiting or (snapshot.exists and revision == int(claim.run_revision)):
                return snapshot  # it finished or reached the question before the process died
        return await self.driver.start(thread, incident_request(claim, self.settings.lang), self.settings.lang)

    async def _execute(self, claim: Any) -> None:
        renew = asyncio.create_task(self._renew(claim.incident_id))
        try:
            snapshot = await self._drive(claim)
            state = "waiting" if snapshot.waiting else ("running" if snapshot.unfinished else "done")
            if state == "running":
                raise RuntimeError(f"run stopped before the end at {snapshot.next}")
            await self.inbox.finish_run(claim.incident_id, self.owner, state, outcome_of(snapshot, claim.incident_id))
            log.info("incident %s: %s", claim.incident_id, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of one run is recorded on its incident; the loop goes on
            log.exception("incident %s failed", claim.incident_id)
            with contextlib.suppress(Exception):
                await self.inbox.finish_run(claim.incident_id, self.owner, "failed", {}, f"{type(exc).__name__}: {exc}")
        finally:
            renew.cancel()
            self._slots.release()
            self._wake.set()

    async def _send_resolved_notices(self) -> None:
        for incident in await self.inbox.resolved_without_notice():
            await send_resolved_notice(incident, self.settings.lang)
            await self.inbox.mark_resolved_notice_sent(incident["id"])


async def send_resolved_notice(incident: dict[str, Any], lang: str) -> None:
    """One 'resolved' message per channel through the MCP notify_send tool (idempotent by key)."""
    from graph.tools_access import get_tools

    tools = await get_tools()
    zh = lang == "zh"
    hosts = ", ".join(incident.get("hosts") or []) or "-"
    title = f"[resolved] {incident['id']}" if not zh else f"[已恢复] {incident['id']}"
    body = (
        f"All alerts of incident {incident['id']} are resolved (hosts: {hosts})."
        if not zh
        else f"事件 {incident['id']} 的全部告警已恢复（主机：{hosts}）。"
    )
    for channel in IncidentContext().notify_channels:
        await tools.call(
            "notify_send",
            {
                "idempotency_key": f"{incident['id']}:resolved:{channel}",
                "channel": channel,
                "title": title,
                "body_markdown": body,
                "severity": "info",
                "incident_id": incident["id"],
                "lang": "zh" if zh else "en",
            },
        )
