"""A two-node graph that pauses in `interrupt()`; run as a script it stops there and sleeps until killed.

`python -m tests.support.tiny_graph THREAD_ID` opens the checkpointer from OPSWD_CHECKPOINTS__* , runs the
thread to the interrupt, prints `INTERRUPTED` and sleeps: the kill test kill -9s it and resumes the thread
from another process.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

READY_LINE = "INTERRUPTED"


class TinyState(TypedDict, total=False):
    """Input `x`; `prepare` sets `y`, `approve` sets `answer` from the resume value."""

    x: int
    y: int
    answer: str


def prepare(state: TinyState) -> TinyState:
    """Do the deterministic work before the pause."""
    return {"y": state["x"] * 10}


def approve(state: TinyState) -> TinyState:
    """Ask a human; the resume value becomes `answer`."""
    answer = interrupt({"question": "approve?", "y": state["y"]})
    return {"answer": str(answer)}


def build_graph(saver: BaseCheckpointSaver[Any]) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile prepare -> approve with `saver`."""
    builder = StateGraph(TinyState)
    builder.add_node("prepare", prepare)
    builder.add_node("approve", approve)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "approve")
    builder.add_edge("approve", END)
    return builder.compile(checkpointer=saver)


def thread_config(thread_id: str) -> RunnableConfig:
    """The run config of one thread."""
    return {"configurable": {"thread_id": thread_id}}


async def _run_to_interrupt_and_sleep(thread_id: str) -> None:
    from checkpoints import checkpoint_settings_from_env, open_checkpointer

    async with open_checkpointer(checkpoint_settings_from_env()) as saver:
        result = await build_graph(saver).ainvoke({"x": 4}, thread_config(thread_id))
        if "__interrupt__" not in result:
            sys.exit(f"expected an interrupt, got {result!r}")
        print(READY_LINE, flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(_run_to_interrupt_and_sleep(sys.argv[1]))
