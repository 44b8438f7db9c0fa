"""Benchmark: an alert storm against the webhook service: ack latency, folding into incidents, time to every run.

A simulated fleet (healthy, no services) runs in its own process; `python -m app serve` runs as a subprocess on a
fresh Postgres database (checkpoints and inbox), a seeded metrics store, a pre-built runbook index and no LLM.
`--causes` causes are injected, each behind its own top-of-rack switch, so that by the folding rules (same host,
rack, switch or groupKey within the window) the alerts of one cause fold together and never with another's:

  switch  every host behind the switch (two racks): NodeDown, NodeNetworkReceiveErrs, NodeNetworkTransmitErrs
  rack    the hosts of one rack (a failing PDU): PowerSupplyRedundancyLost, NodeHighTemperature
  disk    one host: filesystem space (two mountpoints), inodes, SMART: several alert names, several groups
  memory  one host: memory high, OOM kills, EDAC corrected errors

Alertmanager's routing is modelled: switch and rack alerts are grouped by [alertname, rack], host alerts by
[alertname, instance]. Each group sends its alerts in growing notifications, then repeats (repeat_interval),
retries of a body already sent (same fingerprint + startsAt) and partial resolutions until `--alerts` alert
entries are planned; one group per cause never resolves, so no incident closes during the storm. A group's
notifications go in order (each waits for the answer to the previous one, like Alertmanager's per-group
pipeline); groups and causes are shuffled together and sent by `--concurrency` clients paced to `--rate`
requests/s. After every BASELINE_EVERY webhooks a `GET /healthz` (no inbox write) is sent: the baseline under
the same load. Everything stops at `--deadline-s` after the first request. Before the storm (unless `--cold`),
untimed, a burst of /healthz and one incident through a whole run warm the service up, so the storm meets a
service that has been up a while; that incident is resolved before the storm and left out of the figures.

Prints the cause design; ack latency p50/p95/p99/max of the webhook and the baseline and their ratio; requests/s
achieved; the inbox's answers against the plan; incidents against injected causes (which cause went where);
alerts per incident; the time until no open incident's run is `pending` any more (run start, not completion;
the service is stopped then). The service's runs start during the storm, in the same process as the webhook.
Targets: webhook p99 < 50 ms, incidents == distinct causes; `--check` exits 1 when one is missed.

    python bench/alert_storm.py [--alerts 1000] [--hosts 300] [--causes 12] [--concurrency 20] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("OPSWD_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-" + uuid.uuid4().hex
BASELINE_EVERY = 4
RETRY_SHARE, RESOLVE_SHARE = 0.2, 0.15  # of the notifications after a group's growing ones
P99_TARGET_MS = 50.0
JSON = {"Content-Type": "application/json"}
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
ROUTES = {"rack": '{}/{team="datacenter"}', "instance": '{}/{team="sre"}'}
# kind -> (the label grouped by besides alertname, its alerts as "alertname:severity[:label=value,value...]")
KINDS = {
    "switch": ("rack", "NodeDown:critical NodeNetworkReceiveErrs:warning NodeNetworkTransmitErrs:warning"),
    "rack": ("rack", "PowerSupplyRedundancyLost:critical NodeHighTemperature:warning"),
    "disk": (
        "instance",
        "NodeFilesystemAlmostOutOfSpace:critical:mountpoint=/,/var NodeFilesystemAlmostOutOfFiles:warning:"
        "mountpoint=/var SmartDeviceFailing:critical:device=/dev/sda",
    ),
    "memory": ("instance", "NodeMemoryHigh:warning NodeOOMKillDetected:critical NodeEdacCorrectableErrors:warning"),
}


@dataclass
class Group:
    """One Alertmanager aggregation group: its key, labels and (firing) alerts in the webhook's shape."""

    cause: int
    key: str
    labels: dict[str, str]
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Cause:
    """One injected cause: where it is and its groups (the first one, the anchor, never resolves)."""

    index: int
    kind: str
    switch: str
    racks: list[str]
    hosts: list[str]
    groups: list[Group] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(len(g.alerts) for g in self.groups)


@dataclass
class Delivery:
    """One webhook body, what it is (first/update/repeat/retry/resolve) and the deliveries it waits for."""

    id: int
    what: str
    alerts: list[dict[str, Any]]
    body: bytes
    deps: tuple[int, ...]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _alert(name: str, severity: str, host: Any, extra: dict[str, str], starts: datetime) -> dict[str, Any]:
    from service.alert_payload import label_fingerprint  # Alertmanager's own fingerprint of a label set

    labels = {"alertname": name, "instance": f"{host.address}:9100", "job": "node", "rack": host.rack or ""}
    labels |= {"severity": severity, **extra}
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": " ".join([name, "on", host.name, *extra.values()])},
        "startsAt": _stamp(starts),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.bench:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D",
        "fingerprint": label_fingerprint(labels),
    }


def design_causes(hosts: list[Any], count: int, rng: random.Random) -> list[Cause]:
    """`count` causes on evenly spaced, distinct switches (so none folds with another); kinds cycle."""
    by_switch: dict[str, list[Any]] = {}
    for host in hosts:
        by_switch.setdefault(host.switch or f"none-{host.name}", []).append(host)
    switches = list(by_switch)
    if count > len(switches):
        raise SystemExit(f"--causes {count} needs as many switches; {len(hosts)} hosts have {len(switches)}")
    now, causes = datetime.now(UTC), []
    for i in range(count):
        switch, kind = switches[i * len(switches) // count], list(KINDS)[i % len(KINDS)]
        behind = by_switch[switch]
        chosen = {"switch": behind, "rack": [h for h in behind if h.rack == behind[0].rack]}.get(kind)
        chosen = chosen or [rng.choice(behind)]
        cause = Cause(i + 1, kind, switch, sorted({h.rack or "" for h in chosen}), [h.name for h in chosen])
        by, specs = KINDS[kind]
        for spec in specs.split():
            name, severity, *extra = spec.split(":")
            label, values = extra[0].split("=") if extra else ("", "")
            groups: dict[str, Group] = {}
            for host, value in ((h, v) for h in chosen for v in values.split(",")):
                starts = now - timedelta(seconds=rng.uniform(30, 300))
                alert = _alert(name, severity, host, {label: value} if label else {}, starts)
                grouped = {"alertname": name, by: alert["labels"][by]}
                key = ROUTES[by] + ":{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(grouped.items())) + "}"
                groups.setdefault(key, Group(cause.index, key, grouped)).alerts.append(alert)
            cause.groups.extend(groups.values())
        causes.append(cause)
    return causes


def _body(group: Group, alerts: list[dict[str, Any]]) -> bytes:
    def common(part: str) -> dict[str, str]:
        return {k: v for k, v in alerts[0][part].items() if all(a[part].get(k) == v for a in alerts)}

    webhook = {
        "receiver": "opswatchdog",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": alerts,
        "groupLabels": group.labels,
        "commonLabels": common("labels"),
        "commonAnnotations": common("annotations"),
        "externalURL": "http://alertmanager.bench:9093",
        "version": "4",
        "groupKey": group.key,
        "truncatedAlerts": 0,
    }
    return json.dumps(webhook).encode()


def plan_storm(causes: list[Cause], budget: int, rng: random.Random) -> list[Delivery]:
    """Each group's growing notifications, then repeats, retries and partial resolutions up to `budget` entries."""
    groups = [g for c in causes for g in c.groups]
    anchors = {id(c.groups[0]) for c in causes}
    distinct = sum(len(g.alerts) for g in groups)
    if distinct > budget:
        raise SystemExit(f"--alerts {budget} is fewer than the {distinct} distinct alerts of the causes")
    staged = sum(len(g.alerts) * (j + 1) // min(3, len(g.alerts)) for g in groups for j in range(min(3, len(g.alerts))))
    out: list[Delivery] = []
    firing: dict[int, list[dict[str, Any]]] = {}
    last: dict[int, Delivery] = {}
    anchor_first: dict[int, int] = {}

    def add(group: Group, what: str, alerts: list[dict[str, Any]], deps: tuple[int, ...]) -> None:
        out.append(Delivery(len(out), what, alerts, _body(group, alerts), deps))
        if what != "retry":  # a retry is sent beside the group's sequence, not in it
            last[id(group)] = out[-1]

    for g in groups:
        arrival, waves = rng.sample(g.alerts, len(g.alerts)), min(3, len(g.alerts)) if staged <= budget else 1
        for j in range(waves):
            deps = (last[id(g)].id,) if j else ()
            add(g, "update" if j else "first", arrival[: len(arrival) * (j + 1) // waves], deps)
        firing[id(g)] = arrival
        if id(g) in anchors:
            anchor_first[g.cause] = out[-waves].id
    total = sum(len(d.alerts) for d in out)
    while total < budget:
        g = rng.choice([g for g in groups if firing[id(g)]])  # never empty: anchors keep firing
        prior, roll, left, now_firing = last[id(g)], rng.random(), budget - total, firing[id(g)]
        if roll < RETRY_SHARE and len(prior.alerts) <= left:
            add(g, "retry", prior.alerts, (prior.id,))
        elif roll < RETRY_SHARE + RESOLVE_SHARE and id(g) not in anchors and len(now_firing) <= left:
            # Resolutions wait for the anchor's first notification: the incident never runs out of firing alerts.
            gone = rng.sample(now_firing, max(1, len(now_firing) // 2))
            firing[id(g)] = [a for a in now_firing if a not in gone]
            ended = _stamp(datetime.now(UTC))
            resolved = [{**a, "status": "resolved", "endsAt": ended} for a in gone]
            add(g, "resolve", firing[id(g)] + resolved, (prior.id, anchor_first[g.cause]))
        else:
            add(g, "repeat", now_firing[:left], (prior.id,))
        total += len(out[-1].alerts)
    return out


def shuffled(deliveries: list[Delivery], rng: random.Random) -> list[Delivery]:
    """A random order in which every delivery comes after the ones it waits for."""
    waiting = {d.id: set(d.deps) for d in deliveries}
    children: dict[int, list[Delivery]] = {}
    for d in deliveries:
        for dep in d.deps:
            children.setdefault(dep, []).append(d)
    ready, order = [d for d in deliveries if not d.deps], []
    while ready:
        order.append(ready.pop(rng.randrange(len(ready))))
        for child in children.get(order[-1].id, []):
            waiting[child.id].discard(order[-1].id)
            if not waiting[child.id]:
                ready.append(child)
    return order


@dataclass
class Storm:
    """What the senders saw: latencies (s) by route, summed answers, errors, and the storm's first/last instant."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {"webhook": [], "healthz": []})
    answers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unsent: int = 0
    first: float = 0.0
    last: float = 0.0


async def send_storm(client: httpx.AsyncClient, order: list[Delivery], args: argparse.Namespace, end: float) -> Storm:
    """Send `order` with a /healthz after every BASELINE_EVERY, paced to --rate by --concurrency senders."""
    schedule: list[Delivery | None] = []
    for i, d in enumerate(order):
        schedule += [d, None] if i % BASELINE_EVERY == BASELINE_EVERY - 1 else [d]
    done = {d.id: asyncio.Event() for d in order}
    storm, items = Storm(), iter(enumerate(schedule))
    storm.first = time.perf_counter()

    async def sender() -> None:
        for i, item in items:
            slot = storm.first + i / args.rate
            if slot > end:
                storm.unsent += item is not None
                continue
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            if item is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*(done[p].wait() for p in item.deps)), end - slot)
            sent = time.perf_counter()
            try:
                if item is None:
                    response = await client.get("/healthz")
                else:
                    response = await client.post("/webhooks/alertmanager", content=item.body, headers=JSON)
            except httpx.HTTPError as exc:
                storm.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                acked = time.perf_counter()
                storm.last = max(storm.last, acked)
                if item is not None:
                    done[item.id].set()
            storm.latency["healthz" if item is None else "webhook"].append(acked - sent)
            if response.status_code != 200:
                storm.errors.append(f"{response.request.url.path}: {response.status_code} {response.text[:200]}")
            elif item is not None:
                answer = response.json()
                storm.answers.update({k: int(answer.get(k, 0)) for k in ("new", "duplicates", "resolved")})
                storm.answers["entries"] += len(item.alerts)

    await asyncio.gather(*(sender() for _ in range(args.concurrency)))
    return storm


async def _post(client: httpx.AsyncClient, group: Group, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/webhooks/alertmanager", content=_body(group, alerts), headers=JSON)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def warm_up(client: httpx.AsyncClient, concurrency: int, host: Any) -> tuple[float, float, str]:
    """Untimed, so the storm meets a service that has been up a while: (burst max s, whole run s, its incident).

    A burst of /healthz opens the client's connections and the inbox pool; then one alert on `host` goes through
    a whole run (the tools server starts and inspects over SSH) and is resolved: nothing of the storm folds into it.
    """

    async def probe() -> float:
        sent = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        return time.perf_counter() - sent

    burst = max(await asyncio.gather(*(probe() for _ in range(3 * concurrency))))
    started, alert = time.perf_counter(), _alert("BenchWarmUp", "info", host, {}, datetime.now(UTC))
    group = Group(0, '{}:{alertname="BenchWarmUp"}', {"alertname": "BenchWarmUp"})
    incident = str((await _post(client, group, [alert]))["incidents"][0])
    while (await client.get(f"/incidents/{incident}")).json()["run_state"] in ("pending", "running"):
        if time.perf_counter() - started > 300:
            raise SystemExit(f"the warm-up incident {incident} did not finish its run within 300 s")
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    await _post(client, group, [alert | {"status": "resolved", "endsAt": _stamp(datetime.now(UTC))}])
    return burst, elapsed, incident


async def wait_for_runs(client: httpx.AsyncClient, end: float) -> tuple[float | None, list[dict[str, Any]]]:
    """Poll GET /incidents until no open incident's run is pending: (when, rows), or (None, rows) at `end`."""
    while True:
        response = await client.get("/incidents", params={"limit": "1000"})
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()["incidents"]
        if rows and all(r["run_state"] != "pending" or r["status"] != "open" for r in rows):
            return time.perf_counter(), rows
        if time.perf_counter() > end:
            return None, rows
        await asyncio.sleep(0.2)


def _start_fleet(hosts: int, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "simfleet", "--hosts", str(hosts), "--scenario", "healthy", "--no-services"]
    proc = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "simfleet ready" not in line:
        proc.kill()
        raise SystemExit(f"simfleet did not start: {line!r}")
    return proc


@contextlib.asynccontextmanager
async def _fresh_postgres() -> AsyncIterator[str]:
    import psycopg

    name = f"opswd_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"Postgres not reachable at {PG_ADMIN_URL}: {exc}") from exc
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def service_environment(fleet: Path, work: Path, db_url: str, max_runs: int) -> dict[str, str]:
    """os.environ without the caller's OPSWD_* (no LLM, no remote MCP server) plus this run's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPSWD_")} | {
        "PYTHONPATH": str(ROOT),
        "OPSWD_INVENTORY": str(fleet / "inventory.yaml"),
        "OPSWD_SSH__KNOWN_HOSTS": str(fleet / "known_hosts"),
        "OPSWD_SSH__CONNECT_TIMEOUT_S": "10",
        "OPSWD_SSH__COMMAND_TIMEOUT_S": "30",
        "OPSWD_METRICS__URL": f"sqlite:///{work / 'metrics.db'}",
        "OPSWD_NOTIFY__OUTBOX_DB": str(work / "outbox.db"),
        "OPSWD_NOTIFY__OUTBOX_FILE": str(work / "notifications.jsonl"),
        "OPSWD_KNOWLEDGE__INDEX_PATH": str(work / "knowledge-index"),
        "OPSWD_CHECKPOINTS__URL": db_url,
        "OPSWD_SERVICE__TOKEN": TOKEN,
        "OPSWD_SERVICE__INBOX_URL": db_url,
        "OPSWD_SERVICE__FOLD_WINDOW_S": "900",
        "OPSWD_SERVICE__LEASE_S": "30",
        "OPSWD_SERVICE__POLL_S": "0.5",
        "OPSWD_SERVICE__MAX_CONCURRENT_RUNS": str(max_runs),
    }


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[tuple[str, int]]:
    """`python -m app serve` on a free port until /healthz answers 200: (URL, pid); SIGTERM at the end."""
    from tests.support.alertmanager import free_port

    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as probe:
            for _ in range(240):
                if proc.poll() is not None:
                    raise SystemExit(f"the service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.25)
            else:
                raise SystemExit(f"the service was not healthy within 60 s:\n{log.read_text()[-3000:]}")
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the service and its tools server only
            proc.wait()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tally(words: Iterable[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(words).items()))


def report_storm(storm: Storm, plan: list[Delivery], rate: float, say: Any) -> dict[str, Any]:
    """The latency table, the ratio to the baseline, the rate and the inbox's answers against the plan."""
    lat = {
        k: {q: 1000 * sorted(v)[min(len(v) - 1, int(p * len(v)))] for q, p in QUANTILES}
        for k, v in storm.latency.items()
        if v
    }
    wall, requests = storm.last - storm.first, sum(len(v) for v in storm.latency.values())
    say(f"{'':>8} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for kind, row in lat.items():
        say(f"{kind:>8} {len(storm.latency[kind]):>5} " + " ".join(f"{row[q]:>7.1f}" for q, _ in QUANTILES))
    ratio = {q: lat["webhook"][q] / lat["healthz"][q] for q, _ in QUANTILES} if len(lat) == 2 else {}
    say(f"{'ratio':>8} {'':>5} " + " ".join(f"{r:>7.2f}" for r in ratio.values()) + "   (webhook / healthz)")
    say(f"requests/s achieved {requests / wall:.1f} (target {rate:g}) over {wall:.2f} s")
    seen = {(a["fingerprint"], a["startsAt"]) for d in plan for a in d.alerts}
    gone = {(a["fingerprint"], a["startsAt"]) for d in plan for a in d.alerts if a["status"] == "resolved"}
    entries = sum(len(d.alerts) for d in plan)
    planned = {
        "entries": entries,
        "new": len(seen),
        "duplicates": entries - len(seen) - len(gone),
        "resolved": len(gone),
    }
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
    warm_host: Any,
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
    load, cpu = os.getloadavg()[0], (_cpu_s(pid), time.process_time())
    end = time.perf_counter() + args.deadline_s
    storm = await send_storm(client, plan, args, end)
    cpu = (_cpu_s(pid) - cpu[0], time.process_time() - cpu[1])
    started, rows = await wait_for_runs(client, end)
    figures |= report_storm(storm, plan, args.rate, say)
    say(
        f"CPU in the storm: service {cpu[0]:.2f} s, this client {cpu[1]:.2f} s (not the service's tools server);",
        end="",
    )
    say(f" {os.cpu_count()} CPUs, 1-min load before {load:.2f}")
    figures |= report_incidents(causes, [r for r in rows if r["id"] != figures.get("warm_up_incident")], say)
    if started is None:
        say(f"NOT every open incident's run started within --deadline-s {args.deadline_s:g}")
    else:
        say(f"every incident's run started {started - storm.first:.2f} s after the first request", end="")
        say(f", {started - storm.last:.2f} s after the last ack")
    figures["runs_started_s"] = None if started is None else started - storm.first
    return figures | {"service_cpu_s": cpu[0], "client_cpu_s": cpu[1], "load_before": load}


async def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    """Fleet, metrics, database, index and service up; measure; everything down again."""
    from app.metrics_cmd import seed_store
    from tools_server.inventory import load_inventory

    with tempfile.TemporaryDirectory(prefix="opswd-storm-bench-") as tmp:
        fleet_dir, work = Path(tmp) / "fleet", Path(tmp) / "work"
        work.mkdir()
        fleet = _start_fleet(args.hosts, fleet_dir)
        try:
            hosts = load_inventory(fleet_dir / "inventory.yaml").hosts
            rng = random.Random(args.seed)
            causes = design_causes(hosts, args.causes, rng)
            plan = shuffled(plan_storm(causes, args.alerts, rng), rng)
            print_design(causes, plan, len(hosts), say)
            warm_host = next(h for h in hosts if h.name not in {n for c in causes for n in c.hosts})
            clock = time.perf_counter()
            metrics = f"sqlite:///{work / 'metrics.db'}"
            await seed_store(store=metrics, scenario="healthy", hosts=args.hosts, days=1, interval_minutes=60)
            async with _fresh_postgres() as db_url:
                env = service_environment(fleet_dir, work, db_url, args.max_runs)
                ingest = [sys.executable, "-m", "app", "knowledge", "ingest"]
                subprocess.run(ingest, env=env, cwd=ROOT, check=True, capture_output=True)
                say(f"setup (untimed): metrics seeded, runbook index built in {time.perf_counter() - clock:.1f} s")
                async with serving(env, work / "service.log") as (url, pid):
                    limits = httpx.Limits(max_connections=args.concurrency + 2)
                    auth = {"Authorization": f"Bearer {TOKEN}"}
                    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=10, limits=limits) as client:
                        figures = await measure(client, pid, args, causes, plan, warm_host, say)
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
