"""Run and resume incident threads in-process with the configured checkpointer, reporting progress."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

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
        self, payload: Any, thread: str, on_progress: Callable[[Progress], None] | None, context: IncidentContext
    ) -> dict[str, Any]:
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        total, done, findings = 0, 0, 0
        async for update in self.app.astream(payload, config, context=context, stream_mode="updates"):
            for node, value in update.items():
                if node == "__interrupt__":
                    continue
                if node in ("triage", "query_metrics") and isinstance(value, dict) and "scope" in value:
                    total = len(value["scope"]["hosts"])
                if node == "inspect_host" and isinstance(value, dict):
                    for outcome in (value.get("host_results") or {}).values():
                        done += 1
                        findings += len(outcome["findings"])
                if on_progress is not None:
                    on_progress(Progress(node, done, total, findings))
        return await self.outcome(thread)

    async def run(
        self,
        thread: str,
        request: IncidentRequest,
        on_progress: Callable[[Progress], None] | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """Start (or continue) an incident on `thread` until it ends or waits for a human."""
        return await self._drive({"request": request}, thread, on_progress, IncidentContext(lang=lang))

    async def resume(
        self, thread: str, command: Command[Any], on_progress: Callable[[Progress], None] | None = None
    ) -> dict[str, Any]:
        """Resume a waiting thread with a human's answer."""
        state = await self.app.aget_state({"configurable": {"thread_id": thread}})
        lang = (state.values.get("request") or {}).get("lang", "en")
        return await self._drive(command, thread, on_progress, IncidentContext(lang=lang))

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
