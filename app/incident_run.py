"""Run, continue and resume incident threads in-process with the configured checkpointer, reporting progress."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from checkpoints import open_checkpointer
from checkpoints.settings import CheckpointSettings, checkpoint_settings_from_env
from graph.context import IncidentContext
from graph.graph import build_graph
from graph.state import IncidentRequest
from graph.tools_access import close_tools


@dataclass
class Progress:
    """Where a run is: the last node, hosts inspected, findings so far."""

    node: str
    hosts_done: int
    hosts_total: int
    findings: int


class ThreadNotFound(LookupError):
    """The checkpointer holds no checkpoint of the thread: there is nothing to continue."""


@dataclass
class _Tally:
    """Hosts in scope and findings per host inspected; a host's repeated update (a replayed task) counts once."""

    total: int = 0
    done: dict[str, int] = field(default_factory=dict)

    def add(self, node: str, value: Any) -> None:
        if not isinstance(value, dict):
            return
        if node in ("triage", "query_metrics") and "scope" in value:
            self.total = len(value["scope"]["hosts"])
        if node == "inspect_host":
            for host, outcome in (value.get("host_results") or {}).items():
                self.done[host] = len(outcome["findings"])

    def progress(self, node: str) -> Progress:
        return Progress(node, len(self.done), self.total, sum(self.done.values()))

    @classmethod
    def of(cls, snapshot: StateSnapshot) -> _Tally:
        """Where a saved thread is: its scope, the hosts of its completed steps and of its saved pending writes."""
        values = snapshot.values
        scope = values.get("scope")
        in_scope = set(scope["hosts"]) if scope else set()
        tally = cls(total=len(in_scope))
        results = {h: o for h, o in (values.get("host_results") or {}).items() if h in in_scope}
        tally.add("inspect_host", {"host_results": results})
        for task in snapshot.tasks:
            tally.add(task.name, task.result)
        return tally


def _same_request(saved: Any, request: IncidentRequest) -> bool:
    """Compare as checkpointed (JSON-like): tuples come back as lists."""
    return json.dumps(saved, sort_keys=True, default=str) == json.dumps(request, sort_keys=True, default=str)


def _context(values: dict[str, Any]) -> IncidentContext:
    return IncidentContext(lang=(values.get("request") or {}).get("lang") or "en")


class IncidentRunner:
    """The incident graph compiled with a checkpointer, for the CLI and the standalone service."""

    def __init__(self, app: CompiledStateGraph[Any, Any, Any, Any], saver: Any) -> None:
        self.app = app
        self.saver = saver

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: CheckpointSettings | None = None) -> AsyncIterator[IncidentRunner]:
        """Open the checkpointer and the MCP session for the life of the block."""
        async with open_checkpointer(settings or checkpoint_settings_from_env()) as saver:
            try:
                yield cls(build_graph().compile(checkpointer=saver), saver)
            finally:
                await close_tools()

    async def _drive(
        self,
        payload: Any,
        thread: str,
        on_progress: Callable[[Progress], None] | None,
        context: IncidentContext,
        tally: _Tally | None = None,
    ) -> dict[str, Any]:
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        tally = tally or _Tally()
        async for update in self.app.astream(payload, config, context=context, stream_mode="updates"):
            for node, value in update.items():
                if node == "__interrupt__":
                    continue
                tally.add(node, value)
                if on_progress is not None:
                    on_progress(tally.progress(node))
        return await self.outcome(thread)

    async def run(
        self,
        thread: str,
        request: IncidentRequest,
        on_progress: Callable[[Progress], None] | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """Run an incident on `thread` until it ends or waits for a human.

        On a thread cut off mid-run (a killed process) with this same request, the run continues from its last
        checkpoint instead of starting again: the hosts already inspected are not inspected twice. Any other
        request (a follow-up revision, other hosts) starts a new run on the thread from triage, as it does on a
        finished thread or one waiting for an approval.
        """
        snapshot = await self.app.aget_state({"configurable": {"thread_id": thread}})
        if snapshot.next and not snapshot.interrupts and _same_request(snapshot.values.get("request"), request):
            return await self.continue_run(thread, on_progress)
        return await self._drive({"request": request}, thread, on_progress, IncidentContext(lang=lang))

    async def continue_run(self, thread: str, on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
        """Continue a thread cut off mid-run from its last checkpoint, with no new input.

        LangGraph runs the pending tasks of the interrupted step again, except those whose writes were saved. A
        thread waiting for a human, or finished, is returned untouched (`continued` is False). Raises
        ThreadNotFound when the checkpointer has no checkpoint of `thread`.
        """
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        if await self.saver.aget_tuple(config) is None:
            msg = f"thread {thread!r} has no checkpoint here: nothing to continue (check OPSWD_CHECKPOINTS__URL)"
            raise ThreadNotFound(msg)
        snapshot = await self.app.aget_state(config)
        if snapshot.interrupts or not snapshot.next:
            return {**await self.outcome(thread), "continued": False}
        outcome = await self._drive(None, thread, on_progress, _context(snapshot.values), _Tally.of(snapshot))
        return {**outcome, "continued": True}

    async def resume(
        self, thread: str, command: Command[Any], on_progress: Callable[[Progress], None] | None = None
    ) -> dict[str, Any]:
        """Resume a waiting thread with a human's answer."""
        snapshot = await self.app.aget_state({"configurable": {"thread_id": thread}})
        return await self._drive(command, thread, on_progress, _context(snapshot.values), _Tally.of(snapshot))

    async def outcome(self, thread: str) -> dict[str, Any]:
        """The thread's current values and pending interrupts."""
        state = await self.app.aget_state({"configurable": {"thread_id": thread}})
        interrupts = [i.value for i in state.interrupts]
        return {"values": state.values, "interrupts": interrupts, "next": list(state.next)}

    async def is_waiting(self, thread: str) -> bool:
        """True when the thread has a pending interrupt."""
        return bool((await self.outcome(thread))["interrupts"])

    async def pending(self) -> list[dict[str, Any]]:
        """Threads waiting for an approval, with what they ask."""
        threads: list[str] = []
        async for ckpt in self.saver.alist(None):
            tid = ckpt.config["configurable"]["thread_id"]
            if tid not in threads:
                threads.append(tid)
        out = []
        for tid in threads:
            for value in (await self.outcome(tid))["interrupts"]:
                req = value.get("action_request", {})
                out.append(
                    {
                        "thread": tid,
                        "action": req.get("action"),
                        "summary": (req.get("args") or {}).get("plan", {}).get("summary", ""),
                    }
                )
        return out
