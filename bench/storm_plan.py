"""The alert storm's Alertmanager model: injected causes, their aggregation groups, the notification plan, bodies.

Pure: no clock, no I/O. The caller passes the moment the storm is planned for and a seeded `random.Random`, so
a seed and a moment give the same plan byte for byte.

  switch  every host behind the switch (two racks): NodeDown, NodeNetworkReceiveErrs, NodeNetworkTransmitErrs
  rack    the hosts of one rack (a failing PDU): PowerSupplyRedundancyLost, NodeHighTemperature
  disk    one host: filesystem space (two mountpoints), inodes, SMART: several alert names, several groups
  memory  one host: memory high, OOM kills, EDAC corrected errors

Switch and rack alerts are grouped by [alertname, rack], host alerts by [alertname, instance], as Alertmanager's
routes would. Each group sends its alerts in growing notifications, then repeats (repeat_interval), retries of a
body already sent (same fingerprint + startsAt) and partial resolutions until the budget of alert entries is
planned; the first group of each cause (its anchor) never resolves, so no incident closes during the storm.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from service.alert_payload import label_fingerprint  # Alertmanager's own fingerprint of a label set

if TYPE_CHECKING:
    from tools_server.inventory import Host

RETRY_SHARE, RESOLVE_SHARE = 0.2, 0.15  # of the notifications after a group's growing ones
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
        """Distinct alerts of the cause over all its groups."""
        return sum(len(g.alerts) for g in self.groups)


@dataclass
class Delivery:
    """One webhook body, what it is (first/update/repeat/retry/resolve) and the deliveries it waits for."""

    id: int
    what: str
    alerts: list[dict[str, Any]]
    body: bytes
    deps: tuple[int, ...]


def stamp(moment: datetime) -> str:
    """An instant as Alertmanager writes it (UTC, microseconds, Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def firing_alert(name: str, severity: str, host: Host, extra: dict[str, str], starts: datetime) -> dict[str, Any]:
    """One firing alert on `host` as Alertmanager's webhook carries it, fingerprint included."""
    labels = {"alertname": name, "instance": f"{host.address}:9100", "job": "node", "rack": host.rack or ""}
    labels |= {"severity": severity, **extra}
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": " ".join([name, "on", host.name, *extra.values()])},
        "startsAt": stamp(starts),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.bench:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D",
        "fingerprint": label_fingerprint(labels),
    }


def design_causes(hosts: list[Host], count: int, rng: random.Random, now: datetime) -> list[Cause]:
    """`count` causes on evenly spaced, distinct switches (so none folds with another); kinds cycle."""
    by_switch: dict[str, list[Host]] = {}
    for host in hosts:
        by_switch.setdefault(host.switch or f"none-{host.name}", []).append(host)
    switches = list(by_switch)
    if count > len(switches):
        msg = f"--causes {count} needs as many switches; {len(hosts)} hosts have {len(switches)}"
        raise ValueError(msg)
    causes = []
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
                alert = firing_alert(name, severity, host, {label: value} if label else {}, starts)
                grouped = {"alertname": name, by: alert["labels"][by]}
                key = ROUTES[by] + ":{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(grouped.items())) + "}"
                groups.setdefault(key, Group(cause.index, key, grouped)).alerts.append(alert)
            cause.groups.extend(groups.values())
        causes.append(cause)
    return causes


def webhook_body(group: Group, alerts: list[dict[str, Any]]) -> bytes:
    """The JSON body Alertmanager posts for `group` carrying `alerts` (webhook version 4)."""

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


def plan_storm(causes: list[Cause], budget: int, rng: random.Random, now: datetime) -> list[Delivery]:
    """Each group's growing notifications, then repeats, retries and partial resolutions up to `budget` entries."""
    groups = [g for c in causes for g in c.groups]
    anchors = {id(c.groups[0]) for c in causes}
    distinct = sum(len(g.alerts) for g in groups)
    if distinct > budget:
        msg = f"--alerts {budget} is fewer than the {distinct} distinct alerts of the causes"
        raise ValueError(msg)
    staged = sum(len(g.alerts) * (j + 1) // min(3, len(g.alerts)) for g in groups for j in range(min(3, len(g.alerts))))
    out: list[Delivery] = []
    firing: dict[int, list[dict[str, Any]]] = {}
    last: dict[int, Delivery] = {}
    anchor_first: dict[int, int] = {}

    def add(group: Group, what: str, alerts: list[dict[str, Any]], deps: tuple[int, ...]) -> None:
        out.append(Delivery(len(out), what, alerts, webhook_body(group, alerts), deps))
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
            resolved = [{**a, "status": "resolved", "endsAt": stamp(now)} for a in gone]
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


def planned_answers(plan: list[Delivery]) -> dict[str, int]:
    """What the inbox should answer over the whole plan: entries, new alerts, duplicates, resolutions."""
    seen = {(a["fingerprint"], a["startsAt"]) for d in plan for a in d.alerts}
    gone = {(a["fingerprint"], a["startsAt"]) for d in plan for a in d.alerts if a["status"] == "resolved"}
    entries = sum(len(d.alerts) for d in plan)
    return {"entries": entries, "new": len(seen), "duplicates": entries - len(seen) - len(gone), "resolved": len(gone)}
