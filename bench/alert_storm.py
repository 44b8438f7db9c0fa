"""Benchmark: an alert storm against the webhook service: ack latency, folding into incidents, time to every run.

A simulated fleet (healthy, no services) runs in its own process; `python -m app serve` runs as a subprocess on a
fresh Postgres database (checkpoints and inbox), a seeded metrics store, a pre-built runbook index and no LLM.
The service answers webhooks in its own process and runs investigations in its worker child (`python -m app
worker`, started by serve), which starts the MCP tools server (`python -m tools_server`).

`--causes` causes are injected, each behind its own top-of-rack switch, so that by the folding rules (same host,
rack, switch or groupKey within the window) the alerts of one cause fold together and never with another's.
Alertmanager's grouping and notifications are modelled (bench/storm_plan.py: switch, rack, disk and memory
causes; growing notifications, repeats, retries of a body already sent and partial resolutions until `--alerts`
alert entries are planned; one group per cause never resolves, so no incident closes during the storm). A group's
notifications go in order (each waits for the answer to the previous one, like Alertmanager's per-group
pipeline); groups and causes are shuffled together and sent by `--concurrency` clients paced to `--rate`
requests/s. After every BASELINE_EVERY webhooks a `GET /healthz` (no inbox write) is sent: the baseline under
the same load. Everything stops at `--deadline-s` after the first request. Before the storm (unless `--cold`),
untimed, a burst of /healthz and one incident through a whole run warm the service up, so the storm meets a
service that has been up a while; that incident is resolved before the storm and left out of the figures.

Prints the cause design; ack latency p50/p95/p99/max of the webhook as the client saw it, of the handler as the
service timed it (its `Server-Timing: inbox;dur=` header: the rest of the client's figure is queueing and
transport) and of the baseline, and the webhook/baseline ratio; requests/s achieved; the inbox's answers against
the plan; CPU seconds in the storm of the service process, of its children (worker, tools server; a child that
appeared during the storm counts in full, one that started and exited within it is not seen) and of this client;
incidents against injected causes (which cause went where); alerts per incident; the time until no open
incident's run is `pending` any more (run start, not completion; the service is stopped then). That time
includes the service's settle time: a run starts once its incident had no new alert for OPSWD_SERVICE__SETTLE_S
(default 3 s), at the latest OPSWD_SERVICE__SETTLE_MAX_S (default 30 s) after it opened; the bench keeps the
service's defaults and prints them. Targets: webhook p99 (client-observed) < 50 ms, incidents == distinct
causes; `--check` exits 1 when one is missed.

    python bench/alert_storm.py [--alerts 1000] [--hosts 300] [--causes 12] [--concurrency 20] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, when run as a script

from bench.process_cpu import CpuUsed, cpu_used_since, mark_cpu
from bench.processes import ROOT, fresh_postgres, service_environment, serving, settle_setting, start_fleet
from bench.storm_client import BASELINE_EVERY, Storm, send_storm, wait_for_runs, warm_up
from bench.storm_plan import Cause, Delivery, design_causes, plan_storm, planned_answers, shuffled

if TYPE_CHECKING:
    from tools_server.inventory import Host

TOKEN = "bench-" + uuid.uuid4().hex
P99_TARGET_MS = 50.0
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))


def _tally(words: Iterable[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(words).items()))


def _quantiles_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {q: 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))] for q, p in QUANTILES}


def report_storm(storm: Storm, plan: list[Delivery], rate: float, say: Any) -> dict[str, Any]:
    """The latency table (client, server, baseline), the ratio, the rate and the inbox's answers against the plan."""
    rows = {"webhook": storm.latency["webhook"], "server": storm.server, "healthz": storm.latency["healthz"]}
    lat = {k: _quantiles_ms(v) for k, v in rows.items() if v}
    notes = {"server": "   (Server-Timing inbox: the webhook handler alone)"}
    wall, requests = storm.last - storm.first, sum(len(v) for v in storm.latency.values())
    say(f"{'':>8} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for kind, row in lat.items():
        cells = " ".join(f"{row[q]:>7.1f}" for q, _ in QUANTILES)
        say(f"{kind:>8} {len(rows[kind]):>5} {cells}{notes.get(kind, '')}")
    both = {"webhook", "healthz"} <= set(lat)
    ratio = {q: lat["webhook"][q] / lat["healthz"][q] for q, _ in QUANTILES} if both else {}
    say(f"{'ratio':>8} {'':>5} " + " ".join(f"{r:>7.2f}" for r in ratio.values()) + "   (webhook / healthz)")
    if storm.untimed:
        say(f"  {storm.untimed} accepted webhooks had no Server-Timing inbox header")
    say(f"requests/s achieved {requests / wall:.1f} (target {rate:g}) over {wall:.2f} s")
    planned = planned_answers(plan)
    say("inbox answers: " + ", ".join(f"{k} {storm.answers[k]} (planned {v})" for k, v in planned.items()))
    for error in storm.errors[:5]:
        say(f"  error: {error}")
    if storm.errors or storm.unsent:
        say(f"  {len(storm.errors)} requests failed, {storm.unsent} webhooks not sent before the deadline")
    figures = {"latency_ms": lat, "ratio": ratio, "requests_per_s": requests / wall, "storm_s": wall}
    return figures | {
        "answers": dict(storm.answers),
        "planned": planned,
        "errors": len(storm.errors),
        "unsent": storm.unsent,
    }


def report_cpu(service: CpuUsed, client_s: float, load: float, say: Any) -> dict[str, Any]:
    """CPU seconds in the storm: the service process, its children (by command), this client."""
    by_child = ", ".join(f"{name} {s:.2f}" for name, s in sorted(service.by_child.items())) or "none"
    say(f"CPU in the storm: service {service.own_s:.2f} s, its children {service.children_s:.2f} s", end="")
    say(f" ({by_child}),", end="")
    say(f" this client {client_s:.2f} s; {os.cpu_count()} CPUs, 1-min load before {load:.2f}")
    if service.children_gone:
        gone = service.children_gone
        say(f"  {gone} of the service's children exited during the storm: their CPU since its start is not counted")
    return {
        "service_cpu_s": service.own_s,
        "children_cpu_s": service.children_s,
        "children_cpu_by_command_s": service.by_child,
        "client_cpu_s": client_s,
        "load_before": load,
    }


def report_incidents(causes: list[Cause], rows: list[dict[str, Any]], say: Any) -> dict[str, Any]:
    """Which cause went to which incident, alerts per incident, run states and errors."""
    owner = {h: c.index for c in causes for h in c.hosts}
    homes: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        for i in {owner.get(h, 0) for h in r["hosts"]}:
            homes.setdefault(i, []).append(r)
    pure = all(len({owner.get(h, 0) for h in r["hosts"]}) == 1 for r in rows)
    say(f"incidents {len(rows)}, distinct injected causes {len(causes)}; every incident holds one cause: {pure}")
    for c in causes:
        found = ", ".join(f"{r['id']} ({r['alerts_total']} alerts)" for r in homes.get(c.index, [])) or "NO INCIDENT"
        say(f"  c{c.index:02d} ({c.alerts} alerts) -> {found}")
    per = [int(r["alerts_total"]) for r in rows]
    if per:
        say(f"alerts per incident: mean {sum(per) / len(per):.1f}, min {min(per)}, max {max(per)}")
    say("incidents by status/run state: " + _tally(f"{r['status']}/{r['run_state']}" for r in rows))
    for error in sorted({str(r["last_error"]) for r in rows if r.get("last_error")})[:5]:
        say(f"  run error: {error[:300]}")
    return {"incidents": len(rows), "causes": len(causes), "pure": pure, "alerts_per_incident": per}


def print_design(causes: list[Cause], plan: list[Delivery], hosts: int, say: Any) -> None:
    """The causes and the storm plan."""
    say(f"cause design: {len(causes)} causes behind distinct switches of {hosts} hosts")
    for c in causes:
        names = ", ".join(sorted({g.labels["alertname"] for g in c.groups}))
        where = f"{c.switch:<6} {','.join(c.racks):<8} {len(c.hosts):>3} hosts"
        say(f"  c{c.index:02d} {c.kind:<6} {where} {c.alerts:>3} alerts {len(c.groups):>2} groups: {names}")
    say(f"storm plan: {sum(len(d.alerts) for d in plan)} alert entries in {len(plan)} webhooks (", end="")
    say(_tally(d.what for d in plan) + f"), a GET /healthz after every {BASELINE_EVERY}")


async def measure(
    client: httpx.AsyncClient,
    pid: int,
    args: argparse.Namespace,
    causes: list[Cause],
    plan: list[Delivery],
    warm_host: Host,
    settle: tuple[float, float],
    say: Any,
) -> dict[str, Any]:
    """Warm up (unless --cold), send the storm, wait for every run to start, print and return the figures."""
    figures: dict[str, Any] = {}
    if not args.cold:
        burst, whole_run, figures["warm_up_incident"] = await warm_up(client, args.concurrency, warm_host)
        say(
            f"warm-up (untimed): {3 * args.concurrency} /healthz on the fresh service, max {1000 * burst:.1f} ms;",
            end="",
        )
        say(f" one incident on {warm_host.name} through a whole run {whole_run:.1f} s, then resolved")
    load, service_cpu, client_cpu = os.getloadavg()[0], mark_cpu(pid), time.process_time()
    end = time.perf_counter() + args.deadline_s
    storm = await send_storm(client, plan, args.concurrency, args.rate, end)
    service_used, client_used = cpu_used_since(service_cpu), time.process_time() - client_cpu
    started, rows = await wait_for_runs(client, end)
    figures |= report_storm(storm, plan, args.rate, say)
    figures |= report_cpu(service_used, client_used, load, say)
    figures |= report_incidents(causes, [r for r in rows if r["id"] != figures.get("warm_up_incident")], say)
    settle_note = f" (settle included: {settle[0]:g} s without a new alert, at most {settle[1]:g} s)"
    if started is None:
        say(f"NOT every open incident's run started within --deadline-s {args.deadline_s:g}{settle_note}")
    else:
        say(f"every incident's run started {started - storm.first:.2f} s after the first request", end="")
        say(f", {started - storm.last:.2f} s after the last ack{settle_note}")
    figures["runs_started_s"] = None if started is None else started - storm.first
    return figures | {"settle_s": settle[0], "settle_max_s": settle[1]}


def _plan(hosts: list[Host], args: argparse.Namespace) -> tuple[list[Cause], list[Delivery]]:
    rng, now = random.Random(args.seed), datetime.now(UTC)
    try:
        causes = design_causes(hosts, args.causes, rng, now)
        return causes, shuffled(plan_storm(causes, args.alerts, rng, now), rng)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc


async def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    """Fleet, metrics, database, index and service up; measure; everything down again."""
    from app.metrics_cmd import seed_store
    from tools_server.inventory import load_inventory

    with tempfile.TemporaryDirectory(prefix="opswd-storm-bench-") as tmp:
        fleet_dir, work = Path(tmp) / "fleet", Path(tmp) / "work"
        work.mkdir()
        fleet = start_fleet(args.hosts, fleet_dir)
        try:
            hosts = load_inventory(fleet_dir / "inventory.yaml").hosts
            causes, plan = _plan(hosts, args)
            print_design(causes, plan, len(hosts), say)
            warm_host = next(h for h in hosts if h.name not in {n for c in causes for n in c.hosts})
            clock = time.perf_counter()
            metrics = f"sqlite:///{work / 'metrics.db'}"
            await seed_store(store=metrics, scenario="healthy", hosts=args.hosts, days=1, interval_minutes=60)
            async with fresh_postgres() as db_url:
                env = service_environment(fleet_dir, work, db_url, TOKEN, args.max_runs)
                if args.settle_s is not None:  # 0: runs start during the storm, next to the webhooks
                    env["OPSWD_SERVICE__SETTLE_S"] = str(args.settle_s)
                env["OPSWD_SERVICE__RUNS"] = args.runs
                say(f"service: runs {args.runs}, settle {settle_setting(env)[0]:g} s")
                ingest = [sys.executable, "-m", "app", "knowledge", "ingest"]
                subprocess.run(ingest, env=env, cwd=ROOT, check=True, capture_output=True)
                say(f"setup (untimed): metrics seeded, runbook index built in {time.perf_counter() - clock:.1f} s")
                async with serving(env, work / "service.log") as (url, pid):
                    limits = httpx.Limits(max_connections=args.concurrency + 2)
                    auth = {"Authorization": f"Bearer {TOKEN}"}
                    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=10, limits=limits) as client:
                        settle = settle_setting(env)
                        figures = await measure(client, pid, args, causes, plan, warm_host, settle, say)
                log = (work / "service.log").read_text(errors="replace")
                if "Traceback" in log:
                    say("the service logged tracebacks (up to its shutdown); the last lines:\n" + log[-1500:])
        finally:
            fleet.send_signal(signal.SIGTERM)
            fleet.wait(timeout=30)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alerts", type=int, default=1000, help="alert entries in all bodies (repeats included)")
    p.add_argument("--hosts", type=int, default=300)
    p.add_argument("--causes", type=int, default=12)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rate", type=float, default=200.0, help="target requests/s (webhooks and /healthz)")
    p.add_argument("--deadline-s", type=float, default=180.0, help="stop sending and waiting this long after start")
    p.add_argument("--max-runs", type=int, default=4, help="OPSWD_SERVICE__MAX_CONCURRENT_RUNS of the service")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--settle-s", type=float, help="OPSWD_SERVICE__SETTLE_S (default: the service's, 3 s)")
    p.add_argument(
        "--runs", choices=["worker", "inline"], default="worker", help="OPSWD_SERVICE__RUNS: where runs execute"
    )
    p.add_argument("--cold", action="store_true", help="no warm-up: the storm hits a service that just started")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--json", action="store_true", help="the figures as JSON on stdout (the text on stderr)")
    args = p.parse_args()

    def say(*parts: Any, end: str = "\n") -> None:
        print(*parts, end=end, file=sys.stderr if args.json else sys.stdout, flush=True)

    figures = asyncio.run(run(args, say))
    p99 = figures["latency_ms"].get("webhook", {}).get("p99", float("inf"))
    figures["p99_ok"] = p99 < P99_TARGET_MS and not figures["errors"] and not figures["unsent"]
    figures["incidents_ok"] = figures["incidents"] == figures["causes"] and figures["pure"]
    say(
        f"targets: webhook p99 < {P99_TARGET_MS:g} ms: {'OK' if figures['p99_ok'] else 'MISSED'} ({p99:.1f} ms);",
        end="",
    )
    say(f" incidents == causes: {'OK' if figures['incidents_ok'] else 'MISSED'}")
    if args.json:
        print(json.dumps(figures))
    if args.check and not (figures["p99_ok"] and figures["incidents_ok"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
