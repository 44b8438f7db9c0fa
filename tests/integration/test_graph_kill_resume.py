"""The incident thread outlives its processes, on Postgres (a fresh database) and SQLite.

1. `python -m app inspect` runs to the approval and exits; `python -m app approvals answer T accept`, another
   process, finishes the thread: one notification.
2. `python -m app inspect` is killed with SIGKILL mid-run, while one host's inspection is done and another's is
   still in flight. Resuming such a thread means continuing from its last checkpoint with no new input:
   `graph.astream(None, {"configurable": {"thread_id": T}})`. LangGraph then runs the pending tasks of the
   interrupted superstep again, except those whose writes it had already saved (pending writes): the finished
   host is not inspected again, the unfinished one is, from the top. (`runner.run(T, request)` with the same request
   does the same: it continues; another request would start a new run from triage that drops the pending tasks.)
   The continued thread reaches the approval; the answer from another process sends exactly one notification.
3. The same from the command line: `python -m app inspect` killed mid-run, `python -m app resume T` in a new
   process continues it (`IncidentRunner.continue_run`) to its end: one notification; a second `resume` finds
   nothing to continue and sends nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio
from langchain_core.runnables import RunnableConfig

from app.incident_run import IncidentRunner
from graph.context import IncidentContext

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env, run_app, start_app

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]


@pytest_asyncio.fixture(params=["postgres", "sqlite"], loop_scope="module")
async def genv(
    request: pytest.FixtureRequest, demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GraphEnv]:
    if request.param == "sqlite":
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", f"sqlite:///{tmp_path}/ckpt/c.db", monkeypatch)
        return
    async with fresh_postgres_database() as url:
        yield await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


async def _cli(genv: GraphEnv, *args: str) -> tuple[int, str]:
    """Run `python -m app ARGS` to its end; return its exit status and stdout + stderr."""
    code, out, err = await run_app(genv, *args)
    return code, out + err


async def _answer_accept_in_another_process(genv: GraphEnv, thread: str) -> None:
    code, output = await _cli(genv, "approvals", "answer", thread, "accept", "--approver", "carol")
    assert code == 0, output
    assert f"notification {thread}:report:outbox: sent" in output, output
    assert [m["idempotency_key"] for m in genv.outbox_lines()] == [f"{thread}:report:outbox"]


async def test_inspect_stops_at_the_approval_answer_from_another_process(genv: GraphEnv) -> None:
    memory = genv.fleet.host_with("memory_pressure")
    thread = "kill-at-interrupt"
    code, output = await _cli(genv, "inspect", "--hosts", memory, "--thread", thread)
    # The CLI does not wait at the interrupt: it saved the checkpoint and exited, so there is no process left to
    # kill -9 — the thread lives only in the checkpoint store.
    assert code == 0, output
    assert f"answer: opswatchdog approvals answer {thread} accept|reject|edit PLAN.json" in output, output
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        pending = await runner.pending()
    assert [(p["thread"], p["action"]) for p in pending] == [(thread, "purchase_request")]
    assert not genv.outbox_lines()

    await _answer_accept_in_another_process(genv, thread)
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        assert await runner.pending() == []
        values = (await runner.outcome(thread))["values"]
    assert values["approvals"][0]["status"] == "approved" and values["approvals"][0]["approver"] == "carol"


async def _wait_mid_inspection(
    runner: IncidentRunner, thread: str, proc: asyncio.subprocess.Process, done_host: str
) -> dict[str, Any]:
    """Poll the checkpointer until the inspect_host superstep is in flight with `done_host`'s result saved."""
    deadline = asyncio.get_running_loop().time() + 45
    while asyncio.get_running_loop().time() < deadline:
        assert proc.returncode is None, "the run ended before it could be killed mid-run"
        saved = await runner.saver.aget_tuple(_config(thread))
        if saved is not None:
            # inspect_host writes {host: outcome}; triage's reset of the channel (an Overwrite) is not a result.
            results = [
                v for _, channel, v in saved.pending_writes or [] if channel == "host_results" and isinstance(v, dict)
            ]
            done = {h: o for r in results for h, o in r.items()}
            if done_host in done:
                return done
        await asyncio.sleep(0.05)
    msg = f"no checkpoint of thread {thread} shows {done_host} inspected within 45 s"
    raise AssertionError(msg)


async def _kill_9(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the graph process; its stdio tools server (own session) must then exit on the closed pipe."""
    children = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    _, alive = await asyncio.to_thread(psutil.wait_procs, children, 10)
    for child in alive:  # clean up before failing: these are our grandchildren
        child.kill()
    assert not alive, f"the killed run left its tools server running: {alive}"


async def test_kill_9_mid_run_then_continue_the_thread(genv: GraphEnv) -> None:
    fleet = genv.fleet
    memory, dead = fleet.host_with("memory_pressure"), fleet.host_with("unreachable")
    thread = "kill-mid-run"
    # The unreachable host holds its inspect_host task for the whole connect timeout: the window to kill in.
    # The continuation in this process waits the fixture's 2 s instead.
    args = ("inspect", "--hosts", memory, dead, "--thread", thread)
    proc = await start_app(genv, *args, OPSWD_SSH__CONNECT_TIMEOUT_S="6")
    try:
        async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
            saved_done = await _wait_mid_inspection(runner, thread, proc, memory)
            await _kill_9(proc)

            state = await runner.app.aget_state(_config(thread))
            # Two inspect_host tasks in flight, one with its writes saved: only the other one is still to run.
            assert [t.name for t in state.tasks] == ["inspect_host", "inspect_host"] and not state.interrupts
            assert state.next == ("inspect_host",)
            assert dead not in saved_done, "the unreachable host was done before the kill: nothing was in flight"

            # Continue, do not restart: no input, the same thread.
            context = IncidentContext(lang="en")
            stream = runner.app.astream(None, _config(thread), context=context, stream_mode="updates")
            nodes = [node async for update in stream for node in update]
            outcome = await runner.outcome(thread)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert nodes[-1] == "__interrupt__" and "triage" not in nodes and "query_metrics" not in nodes, nodes
    assert outcome["next"] == ["request_approval"]
    [question] = outcome["interrupts"]
    assert question["action_request"]["args"]["host"] == memory
    results = outcome["values"]["host_results"]
    assert set(results) == {memory, dead}
    assert results[memory] == saved_done[memory], "the host inspected before the kill was inspected again"
    assert results[dead]["status"] == "unreachable" and "within 2 s" in str(results[dead]["reason"])
    assert not genv.outbox_lines()

    await _answer_accept_in_another_process(genv, thread)


async def test_kill_9_inspect_then_resume_from_the_command_line(genv: GraphEnv) -> None:
    fleet = genv.fleet
    disk, dead = fleet.host_with("disk_full"), fleet.host_with("unreachable")  # no memory pressure: no approval
    thread = "kill-then-resume"
    proc = await start_app(genv, "inspect", "--hosts", disk, dead, "--thread", thread, OPSWD_SSH__CONNECT_TIMEOUT_S="6")
    try:
        async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
            saved_done = await _wait_mid_inspection(runner, thread, proc, disk)
            await _kill_9(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert dead not in saved_done, "the unreachable host was done before the kill: nothing was in flight"
    assert not genv.outbox_lines()

    code, output = await _cli(genv, "resume", thread)
    assert code == 0, output
    assert "[triage]" not in output and "[query_metrics]" not in output, output
    assert "[inspect_host] hosts 2/2" in output and "[notify] hosts 2/2" in output, output
    assert f"notification {thread}:report:outbox: sent" in output, output
    assert [m["idempotency_key"] for m in genv.outbox_lines()] == [f"{thread}:report:outbox"]
    async with IncidentRunner.open(genv.checkpoint_settings()) as runner:
        values = (await runner.outcome(thread))["values"]
    assert values["host_results"][disk] == saved_done[disk], "the host inspected before the kill was inspected again"
    assert values["host_results"][dead]["status"] == "unreachable"

    code, output = await _cli(genv, "resume", thread)
    assert code == 0 and f"thread {thread} has finished: nothing to continue" in output, output
    code, output = await _cli(genv, "resume", "no-such-thread")
    assert code == 2 and "thread 'no-such-thread' has no checkpoint" in output, output
    assert len(genv.outbox_lines()) == 1
