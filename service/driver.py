"""How the service starts, continues and resumes incident threads: one small interface, two ways.

- `InProcessDriver` (`opswatchdog serve`): the graph compiled in this process with the Postgres checkpointer.
- `SdkDriver` (the app mounted in `langgraph dev` / a LangGraph Agent Server through `http.app`): runs go
  through the server's own API with langgraph-sdk, so they show up in Studio and use the server's queue.

Every method blocks until the run ends or stops at an interrupt, and returns the thread's snapshot.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from graph.state import IncidentRequest

GRAPH_ID = "incident"


@dataclass(frozen=True)
class ThreadSnapshot:
    """A thread's values, the interrupt values it waits on, and the nodes it would run next."""

    values: dict[str, Any] = field(default_factory=dict)
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    interrupt_ids: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        """False for a thread with no checkpoint at all."""
        return bool(self.values) or bool(self.next)

    @property
    def waiting(self) -> bool:
        """True when the thread stopped at an interrupt."""
        return bool(self.interrupts)

    @property
    def unfinished(self) -> bool:
        """True when a run died part-way: nodes left to run and nobody asked a question."""
        return bool(self.next) and not self.interrupts


class RunDriver(Protocol):
    """Start, continue or resume a thread of the incident graph."""

    async def start(self, thread_id: str, request: IncidentRequest, lang: str) -> ThreadSnapshot:
        """A new run on the thread with this request."""
        ...

    async def proceed(self, thread_id: str) -> ThreadSnapshot:
        """Continue a run that died part-way (from its last checkpoint)."""
        ...

    async def resume(self, thread_id: str, answer: dict[str, Any]) -> ThreadSnapshot:
        """Resume a thread waiting at an interrupt with a human's answer."""
        ...

    async def snapshot(self, thread_id: str) -> ThreadSnapshot:
        """The thread's state now (empty when it has no checkpoint)."""
        ...


class InProcessDriver:
    """Runs the graph here, through IncidentRunner (graph + checkpointer + MCP session)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    async def start(self, thread_id: str, request: IncidentRequest, lang: str) -> ThreadSnapshot:
        """A new run with `request` (the graph's triage reads the alerts from it)."""
        await self.runner.run(thread_id, request, lang=lang)
        return await self.snapshot(thread_id)

    async def proceed(self, thread_id: str) -> ThreadSnapshot:
        """`astream(None)` from the last checkpoint."""
        await self.runner.continue_run(thread_id)
        return await self.snapshot(thread_id)

    async def resume(self, thread_id: str, answer: dict[str, Any]) -> ThreadSnapshot:
        """`Command(resume=answer)`."""
        from langgraph.types import Command

        await self.runner.resume(thread_id, Command(resume=answer))
        return await self.snapshot(thread_id)

    async def snapshot(self, thread_id: str) -> ThreadSnapshot:
        """The checkpointed state, with the ids LangGraph gave its pending interrupts."""
        state = await self.runner.app.aget_state({"configurable": {"thread_id": thread_id}})
        interrupts = list(state.interrupts)
        return ThreadSnapshot(
            dict(state.values or {}), [i.value for i in interrupts], list(state.next), [str(i.id) for i in interrupts]
        )


def open_in_process_driver() -> AbstractAsyncContextManager[Any]:
    """IncidentRunner.open() (checkpointer from OPSWD_CHECKPOINTS__*), wrapped by the caller."""
    from app.incident_run import IncidentRunner

    return IncidentRunner.open()


class SdkDriver:
    """Runs through a LangGraph server's API (in-process ASGI when `url` is None inside the server)."""

    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        from langgraph_sdk import get_client

        self.client = get_client(url=url, api_key=api_key)

    async def _snapshot(self, thread_id: str) -> ThreadSnapshot:
        import httpx
        from langgraph_sdk.errors import NotFoundError

        try:
            state = await self.client.threads.get_state(thread_id)
        except (NotFoundError, httpx.HTTPStatusError) as exc:
            if getattr(getattr(exc, "response", None), "status_code", 404) == 404:
                return ThreadSnapshot()
            raise
        values = state.get("values")
        pending = [i for t in state.get("tasks") or [] for i in t.get("interrupts") or [] if isinstance(i, dict)]
        pending = [i for i in pending if isinstance(i.get("value"), dict)]
        return ThreadSnapshot(
            values if isinstance(values, dict) else {},
            [i["value"] for i in pending],
            list(state.get("next") or []),
            [str(i.get("id") or "") for i in pending],
        )

    async def start(self, thread_id: str, request: IncidentRequest, lang: str) -> ThreadSnapshot:
        """Create the thread if needed and run to the end or the interrupt."""
        await self.client.threads.create(thread_id=thread_id, if_exists="do_nothing", graph_id=GRAPH_ID)
        await self.client.runs.wait(
            thread_id,
            GRAPH_ID,
            input={"request": cast(dict[str, Any], request)},
            context={"lang": lang},
            multitask_strategy="enqueue",
            raise_error=False,
        )
        return await self._snapshot(thread_id)

    async def proceed(self, thread_id: str) -> ThreadSnapshot:
        """Join a run still going on the server, or continue from the last checkpoint."""
        thread = await self.client.threads.get(thread_id)
        if thread.get("status") == "busy":
            for run in await self.client.runs.list(thread_id, status="running"):
                await self.client.runs.join(thread_id, run["run_id"])
            return await self._snapshot(thread_id)
        await self.client.runs.wait(thread_id, GRAPH_ID, input=None, multitask_strategy="enqueue", raise_error=False)
        return await self._snapshot(thread_id)

    async def resume(self, thread_id: str, answer: dict[str, Any]) -> ThreadSnapshot:
        """Command(resume=answer) through the API."""
        await self.client.runs.wait(
            thread_id, GRAPH_ID, command={"resume": answer}, multitask_strategy="enqueue", raise_error=False
        )
        return await self._snapshot(thread_id)

    async def snapshot(self, thread_id: str) -> ThreadSnapshot:
        """GET the thread state."""
        return await self._snapshot(thread_id)
