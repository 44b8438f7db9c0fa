"""Benchmark: an N-host incident through the whole graph versus `ssh_inspect_host` over the same hosts directly.

For each fleet size, simfleet (healthy, no services) runs in its own process, a fresh Postgres database holds the
checkpoints and a scripted OpenAI-compatible server answers the report prompt. ONE MCP stdio session to the
tools server is opened, one untimed pass warms simfleet's per-host output cache and the tools server's runbook
search (the first `knowledge_search` of a process loads the embedding model and, on a fresh index path, builds
the index: a once-per-deployment cost, printed apart as "tools server cold start"), then in the same run:

  (a) direct: `ssh_inspect_host` for every host concurrently over that session;
  (b) graph: the incident graph compiled with the Postgres checkpointer (as IncidentRunner does), an operator
      incident over every host, run until it ends or interrupts: triage, metrics queries, one Send per host,
      checkpoints, runbooks, the LLM report and notify, every tool call through the same MCP session.

Then (c): the same incident once more with every tool answer replayed from (b), no MCP or SSH: the cost of the
graph's own machinery (Send, Postgres checkpoints, reducers, the LLM round trip) per host.

Prints the wall ratio (b / a), the per-host overhead ((b - a) / N in ms), this process's CPU per host in each
variant (the graph's own cost, which machine load disturbs far less than wall time) and the prompt tokens the
scripted server counted for the incident. Targets: ratio <= 1.15, overhead <= 2 ms/host, prompt tokens <= 8000.
A healthy fleet has no memory-pressured host, so there is no approval interrupt. Benchmarks print; they never
assert. `--rounds R` repeats (a) and (b) in ABBA order and shows the fastest of each.

    python bench/graph_overhead.py [--sizes 500] [--rounds 1]   # --sizes 20 for a quick check; or 10 100 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, when run as a script

from bench.processes import fresh_postgres, start_fleet

if TYPE_CHECKING:
    from graph.mcp_client import McpTools
    from tests.support.fake_openai import FakeOpenAI

HEALTHY_REPORT = (
    '{"summary": "Every inspected host is within its thresholds: no action is needed.", '
    '"hypotheses": [], "actions": [], "risk": "low"}'
)
INSPECT_ARGS = {"sections": ["disk", "memory", "system"]}  # what inspect_host sends for an operator incident
# Settings of the caller's shell that would send the run elsewhere.
_FOREIGN = ("OPSWD_MCP_URL", "OPSWD_MCP_TOKEN", "OPSWD_LLM_API_KEY", "OPSWD_LLM_API_KEY_FILE")


@dataclass
class Result:
    """One size's measurements: (wall s, bench-process CPU s, 1-min load before) per round and variant."""

    hosts: int
    names: list[str]
    direct: list[tuple[float, float, float]] = field(default_factory=list)
    graph: list[tuple[float, float, float]] = field(default_factory=list)
    phases: list[tuple[float, float, float]] = field(default_factory=list)
    direct_down: int = 0
    graph_down: int = 0
    prompt_tokens: int = 0
    state_prompt_tokens: int = 0
    llm_calls: int = 0
    interrupted: bool = False
    graph_load: float = 0.0
    machinery: tuple[float, float] = (0.0, 0.0)
    cold_start: float = 0.0
    notes: list[str] = field(default_factory=list)


def _environment(fleet: Path, work: Path, llm_url: str, checkpoint_url: str) -> dict[str, str]:
    """The OPSWD_* settings both variants share (long SSH timeouts: a 500-host burst on 2 cores is slow)."""
    from tests.support.run_env import run_environment

    return {
        **run_environment(
            fleet / "inventory.yaml",
            fleet / "known_hosts",
            work,
            checkpoint_url,
            connect_timeout_s=30,
            command_timeout_s=60,
        ),
        "OPSWD_LLM_BASE_URL": llm_url,
        "OPSWD_LLM_MODEL": "fake-model",
        "OPSWD_LLM_MAX_RETRIES": "0",
    }


def _prompt_tokens(requests: list[dict[str, Any]]) -> int:
    """Prompt tokens as the scripted server counts them (its estimate over each request's messages)."""
    from tests.support.fake_openai import estimate_tokens

    total = 0
    for body in requests:
        text = ""
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            text += str(content or "")
        total += estimate_tokens(text)
    return total


async def _direct(tools: McpTools, hosts: list[str]) -> tuple[float, float, int]:
    """(a): every host's ssh_inspect_host at once; wall s, this process's CPU s, hosts not inspected."""
    cpu, started = time.process_time(), time.perf_counter()
    reports = await asyncio.gather(*(tools.call("ssh_inspect_host", {"host": h, **INSPECT_ARGS}) for h in hosts))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return wall, cpu, sum(r["status"] not in ("ok", "partial") for r in reports)


class _Tools:
    """The MCP tools as the graph sees them: passed through and recorded, or replayed from the recording."""

    def __init__(self, tools: McpTools) -> None:
        self.tools, self.replay = tools, False
        self.recorded: dict[tuple[str, str | None], dict[str, Any]] = {}

    def names(self) -> list[str]:
        """Names of the tools the server offers."""
        return self.tools.names()

    async def call(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Call through MCP and record the answer, or replay it."""
        key = (name, args.get("host"))
        if self.replay:
            return self.recorded[key]
        self.recorded[key] = await self.tools.call(name, args)
        return self.recorded[key]


@dataclass
class GraphRun:
    """One incident through the graph: wall s, this process's CPU s, phases (before, fan-out, after), outcome."""

    wall: float
    cpu: float
    phases: tuple[float, float, float]
    outcome: dict[str, Any]


async def _graph(checkpoint_url: str, hosts: list[str]) -> GraphRun:
    """(b): one operator incident over every host through the graph with the Postgres checkpointer."""
    from app.incident_run import IncidentRunner, Progress
    from checkpoints.settings import CheckpointSettings

    marks: dict[str, float] = {}

    def mark(p: Progress) -> None:
        marks[p.node] = time.perf_counter()

    thread = f"bench-{len(hosts)}-{uuid.uuid4().hex[:8]}"
    request = {"kind": "operator", "incident_id": thread, "hosts": hosts, "lang": "en"}
    async with IncidentRunner.open(CheckpointSettings(url=checkpoint_url)) as runner:
        cpu, started = time.process_time(), time.perf_counter()
        outcome = await runner.run(thread, request, mark)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    fan_start = marks.get("query_metrics", started)
    fan_end = marks.get("inspect_host", fan_start)
    return GraphRun(wall, cpu, (fan_start - started, fan_end - fan_start, started + wall - fan_end), outcome)


def _record(result: Result, run: GraphRun) -> None:
    values = run.outcome["values"]
    result.graph.append((run.wall, run.cpu, result.graph_load))
    result.phases.append(run.phases)
    result.interrupted = bool(run.outcome["interrupts"])
    result.graph_down = sum(o["status"] not in ("ok", "partial") for o in (values.get("host_results") or {}).values())
    llm = values.get("llm") or {}
    result.state_prompt_tokens, result.llm_calls = int(llm.get("prompt_tokens", 0)), int(llm.get("calls", 0))
    result.notes = [] if llm.get("used") else [f"the report was not written by the LLM: {llm.get('error')}"]
    result.notes += [f"graph error: {e}" for e in values.get("errors") or []]


async def _rounds(result: Result, tools: McpTools, fake: FakeOpenAI, checkpoint_url: str, rounds: int) -> None:
    from graph.tools_access import set_tools_provider

    hosts = result.names
    # simfleet renders each command's output once per host and caches it: warm it up so the variant measured
    # first is not charged for the simulator's rendering.
    await _direct(tools, hosts)
    if "knowledge_search" in tools.names():
        started = time.perf_counter()
        await tools.call("knowledge_search", {"query": "memory usage high", "k": 1})
        result.cold_start = time.perf_counter() - started
    shared = _Tools(tools)

    async def provide() -> McpTools:
        return shared  # type: ignore[return-value]  # duck-typed: names() and call()

    # Both variants share the tools server process and its MCP session: the graph still calls every tool
    # through MCP, but neither side pays a cold server the other does not.
    set_tools_provider(provide)
    try:
        for i in range(rounds):
            for variant in "ab" if i % 2 == 0 else "ba":  # ABBA cancels a drift of the machine
                load = os.getloadavg()[0]
                if variant == "a":
                    wall, cpu, result.direct_down = await _direct(tools, hosts)
                    result.direct.append((wall, cpu, load))
                    continue
                seen, result.graph_load = len(fake.requests), load
                fake.script([HEALTHY_REPORT, HEALTHY_REPORT])  # a repair turn would take the second
                _record(result, await _graph(checkpoint_url, hosts))
                result.prompt_tokens = _prompt_tokens(fake.requests[seen:])
        # (c) the graph's own machinery: the same incident with every tool answer replayed from (b).
        shared.replay = True
        fake.script([HEALTHY_REPORT, HEALTHY_REPORT])
        machinery = await _graph(checkpoint_url, hosts)
        result.machinery = (machinery.wall, machinery.cpu)
    finally:
        set_tools_provider(None)


async def _measure(size: int, rounds: int) -> Result:
    from app.demo import tools_server_connection
    from app.metrics_cmd import seed_store
    from graph.mcp_client import open_tools
    from tests.support.fake_openai import FakeOpenAI
    from tools_server.inventory import load_inventory

    with tempfile.TemporaryDirectory(prefix="opswd-graph-bench-") as tmp:
        fleet_dir, work = Path(tmp) / "fleet", Path(tmp) / "work"
        work.mkdir()
        fleet = start_fleet(size, fleet_dir)
        try:
            result = Result(size, [h.name for h in load_inventory(fleet_dir / "inventory.yaml").hosts])
            await seed_store(
                store=f"sqlite:///{work / 'metrics.db'}", scenario="healthy", hosts=size, days=1, interval_minutes=60
            )
            async with fresh_postgres() as checkpoint_url, FakeOpenAI() as fake:
                env = _environment(fleet_dir, work, fake.base_url, checkpoint_url)
                for name in _FOREIGN:
                    os.environ.pop(name, None)
                os.environ.update(env)  # the graph reads its LLM settings from the environment
                connection = tools_server_connection(fleet_dir / "inventory.yaml", fleet_dir / "known_hosts", **env)
                async with open_tools(connection) as tools:
                    await _rounds(result, tools, fake, checkpoint_url, rounds)
        finally:
            fleet.send_signal(signal.SIGTERM)
            fleet.wait(timeout=30)
    return result


def _print(r: Result) -> None:
    # Interference only ever adds time: the fastest round of each variant is the cleanest measurement.
    wall_a, wall_b = min(w for w, _, _ in r.direct), min(w for w, _, _ in r.graph)
    cpu_a, cpu_b = (1000 * min(c for _, c, _ in runs) / r.hosts for runs in (r.direct, r.graph))
    print(
        f"{r.hosts:>5} {wall_a:>8.2f} {wall_b:>7.2f} {wall_b / wall_a:>6.3f} {1000 * (wall_b - wall_a) / r.hosts:>8.2f}"
        f" {cpu_a:>6.1f} {cpu_b:>6.1f} {cpu_b - cpu_a:>8.2f} {r.prompt_tokens:>7} {r.direct_down}/{r.graph_down}"
        f"{' (interrupted)' if r.interrupted else ''}",
        flush=True,
    )
    for i, (da, db) in enumerate(zip(r.direct, r.graph, strict=True)):
        before, fan, after = r.phases[i]
        print(
            f"      round {i + 1}: direct {da[0]:.2f} s (load {da[2]:.1f}), graph {db[0]:.2f} s (load {db[2]:.1f}) ="
            f" {before:.2f} before fan-out + {fan:.2f} fan-out + {after:.2f} after"
        )
    paired = sorted(db[0] / da[0] for da, db in zip(r.direct, r.graph, strict=True))
    if len(paired) > 1:  # each round runs both variants back to back: its ratio shares the round's interference
        listed = ", ".join(f"{x:.3f}" for x in paired)
        print(f"      paired ratio per round: {listed}; median {statistics.median(paired):.3f}")
    wall_c, cpu_c = r.machinery
    print(
        f"      graph machinery alone (c: tool answers replayed, no MCP/SSH; Send + Postgres checkpoints + LLM call):"
        f" {wall_c:.2f} s = {1000 * wall_c / r.hosts:.2f} ms/host wall, {1000 * cpu_c / r.hosts:.2f} ms/host CPU"
    )
    print(f"      LLM calls {r.llm_calls}; prompt tokens recorded in the state {r.state_prompt_tokens}")
    print(f"      tools server cold start (first knowledge_search: model, index; untimed): {r.cold_start:.2f} s")
    for note in r.notes:
        print(f"      note: {note}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[500])
    p.add_argument("--rounds", type=int, default=1, help="measured rounds per size (ABBA order); the best is shown")
    args = p.parse_args()
    print("targets: ratio <= 1.15, overhead <= 2 ms/host, prompt tokens <= 8000 (graph = MCP + Send + Postgres)")
    print(f"CPU = this process's CPU ms per host (MCP client, and in (b) the graph); {os.cpu_count()} CPUs here")
    heads = ("hosts", "direct", "graph", "ratio", "ms/host", "direct", "graph", "overhead", "tokens")
    print(f"{'':>5} {'wall s':^16} {'':>6} {'overhead':>8} {'CPU ms/host':^22} {'prompt':>7}")
    print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (5, 8, 7, 6, 8, 6, 6, 8, 7), strict=True)) + " down a/b")
    for size in args.sizes:
        _print(asyncio.run(_measure(size, max(1, args.rounds))))


if __name__ == "__main__":
    main()
