"""Storm folding: which open incident a new alert joins, and the deterministic ids of a new incident. No I/O.

Alertmanager groups alerts by labels (`group_by`), so one cause often reaches us as many groups: a top-of-rack
switch failing fires NodeDown, HostUnreachable and ServiceDown on every host of the rack, each in its own
group. Folding them into one incident means one diagnosis instead of forty. A new alert joins, in order:

1. an open incident that already holds an alert with the same fingerprint (the same alert firing again);
2. an open incident of the same groupKey whose last alert arrived within the window (the group growing);
3. an open incident within the window sharing a topology key (`host:`, `rack:`, `switch:`) with the alert.

Ties go to the most recently active incident (then the smallest id, so the choice is deterministic): it is
the one an operator is looking at. Ids derive from the first alert's groupKey, fingerprint and startsAt, so a
retried or replayed delivery lands on the same incident and LangGraph thread.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from service.alert_payload import Alert, AlertmanagerWebhook
from tools_server.inventory import Host, load_inventory

HOST_LABELS = ("hostname", "host", "nodename", "node", "server", "instance")
"""Alert labels that may name the host, in the order they are tried."""

# Never change: thread ids of existing incidents derive from it.
THREAD_NAMESPACE = uuid.UUID("6f2d1c4e-9b7a-5e3f-8c1d-0a4b5e6f7a8b")

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# The graph's triage reads severities the same way: `page` is critical, anything unknown a warning.
_SEVERITY_ALIASES = {"critical": "critical", "page": "critical", "warning": "warning", "info": "info"}


def host_label_value(value: str) -> str:
    """A host label without scheme, path, port or IPv6 brackets, lower-cased ("10.0.0.5:9100" -> "10.0.0.5")."""
    text = value.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    if text.startswith("["):
        return text[1 : text.find("]")].lower() if "]" in text else text[1:].lower()
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.lower()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Topology:
    """Where inventory hosts sit (rack, switch), looked up by the host labels of an alert."""

    hosts: Mapping[str, Host]
    index: Mapping[str, str]

    @classmethod
    def from_hosts(cls, hosts: Iterable[Host]) -> Topology:
        """Index hosts by name, address and metrics IP (lower-cased)."""
        by_name = {h.name: h for h in hosts}
        index: dict[str, str] = {}
        for host in by_name.values():
            for key in (host.name, host.address.strip("[]"), host.metrics_ip):
                if key:
                    index.setdefault(key.lower(), host.name)
        return cls(by_name, index)

    @classmethod
    def from_inventory(cls, path: Path) -> Topology:
        """The topology of an inventory file (OpsWatchdog or Ansible YAML); the one function here that reads."""
        return cls.from_hosts(load_inventory(path).hosts)

    @classmethod
    def empty(cls) -> Topology:
        """A topology with no hosts: folding by groupKey, fingerprint and alert labels only."""
        return cls({}, {})

    def host_for(self, labels: Mapping[str, str]) -> str | None:
        """The inventory host an alert is about, or None."""
        for value in _host_values(labels):
            name = self.index.get(value)
            if name is None and "." in value and not _is_ip(value):
                name = self.index.get(value.split(".", 1)[0])  # node-07.example.com -> node-07
            if name is not None:
                return name
        return None

    def keys_for(self, labels: Mapping[str, str]) -> set[str]:
        """Folding keys of an alert: its host, rack and switch from the inventory and from its own labels."""
        keys: set[str] = set()
        name = self.host_for(labels)
        if name is not None:
            host = self.hosts[name]
            keys.add(f"host:{name}")
            keys.update(f"{kind}:{value}" for kind, value in (("rack", host.rack), ("switch", host.switch)) if value)
        else:
            # A host outside the inventory still folds with other alerts about the same host.
            keys.update(f"host:{value}" for value in _host_values(labels)[:1])
        keys.update(f"{kind}:{labels[kind]}" for kind in ("rack", "switch") if labels.get(kind))
        return keys


def _host_values(labels: Mapping[str, str]) -> list[str]:
    return [v for v in (host_label_value(labels[k]) for k in HOST_LABELS if labels.get(k)) if v]


def severity_of(labels: Mapping[str, str]) -> str:
    """The alert's severity: critical, warning or info (`page` is critical; missing or unknown is warning)."""
    return _SEVERITY_ALIASES.get(labels.get("severity", "").strip().lower(), "warning")


def max_severity(a: str, b: str) -> str:
    """The more severe of two severities."""
    return a if SEVERITY_RANK.get(a, 1) >= SEVERITY_RANK.get(b, 1) else b


def incident_id_for(group_key: str, fingerprint: str, starts_at: datetime) -> str:
    """The incident id of a group's first alert: "inc-" + 16 hex digits of a sha256."""
    stamp = starts_at.astimezone(UTC).isoformat(timespec="microseconds")
    digest = hashlib.sha256(f"{group_key}\x00{fingerprint}\x00{stamp}".encode()).hexdigest()
    return f"inc-{digest[:16]}"


def thread_id_for(incident_id: str) -> str:
    """The LangGraph thread id (a UUID, as the LangGraph server requires) of an incident."""
    return str(uuid.uuid5(THREAD_NAMESPACE, incident_id))


@dataclass(frozen=True)
class FoldAlert:
    """What folding needs to know about a new alert."""

    fingerprint: str
    group_key: str
    keys: frozenset[str]


@dataclass
class OpenIncident:
    """What folding needs to know about an open incident (`fingerprints` may be only those of interest)."""

    id: str
    group_key: str
    last_alert_at: datetime
    fingerprints: set[str]
    keys: set[str]
    severity: str = "info"
    hosts: set[str] = field(default_factory=set)


def choose_incident(
    alert: FoldAlert, open_incidents: Iterable[OpenIncident], now: datetime, window_s: float
) -> str | None:
    """The id of the open incident the alert joins (rules in the module docstring), or None for a new one."""
    candidates = sorted(open_incidents, key=lambda i: (-i.last_alert_at.timestamp(), i.id))
    recent = [i for i in candidates if (now - i.last_alert_at).total_seconds() <= window_s]
    rules = (
        (i for i in candidates if alert.fingerprint in i.fingerprints),
        (i for i in recent if i.group_key == alert.group_key),
        (i for i in recent if alert.keys & i.keys),
    )
    for matches in rules:
        found = next(matches, None)
        if found is not None:
            return found.id
    return None


@dataclass(frozen=True)
class StoredAlert:
    """An alert the inbox already holds, keyed by (fingerprint, starts_at)."""

    status: str
    incident_id: str | None


@dataclass(frozen=True)
class NewAlert:
    """An alert to store, with the incident it joins (None: a resolved alert nothing open matched)."""

    alert: Alert
    incident_id: str | None
    host: str | None


@dataclass
class DeliveryPlan:
    """What one delivery changes, decided in memory before anything is written."""

    inserts: list[NewAlert] = field(default_factory=list)
    duplicates: list[Alert] = field(default_factory=list)
    resolutions: list[Alert] = field(default_factory=list)
    created: list[OpenIncident] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=dict)
    """Firing alerts each incident gained (its alert_revision grows by as much)."""
    touched: dict[str, None] = field(default_factory=dict)
    """Incidents the delivery concerns, in order of first mention."""


class _Folder:
    """The open incidents indexed by fingerprint, groupKey and topology key, so each alert looks at few."""

    def __init__(self, incidents: Iterable[OpenIncident], now: datetime, window_s: float) -> None:
        self.now, self.window_s = now, window_s
        self.incidents: dict[str, OpenIncident] = {}
        self.index: dict[str, set[str]] = {}
        for incident in incidents:
            self.add(incident)

    def add(self, incident: OpenIncident) -> None:
        self.incidents[incident.id] = incident
        self.remember(incident, incident.fingerprints, incident.keys)

    def remember(self, incident: OpenIncident, fingerprints: Iterable[str], keys: Iterable[str]) -> None:
        for term in (*(f"fp:{f}" for f in fingerprints), f"group:{incident.group_key}", *(f"key:{k}" for k in keys)):
            self.index.setdefault(term, set()).add(incident.id)

    def choose(self, alert: FoldAlert) -> OpenIncident | None:
        terms = (f"fp:{alert.fingerprint}", f"group:{alert.group_key}", *(f"key:{k}" for k in alert.keys))
        ids = set().union(*(self.index.get(t, set()) for t in terms))
        chosen = choose_incident(alert, (self.incidents[i] for i in ids), self.now, self.window_s)
        return None if chosen is None else self.incidents[chosen]


def plan_delivery(
    webhook: AlertmanagerWebhook,
    known: Mapping[tuple[str, datetime], StoredAlert],
    open_incidents: Iterable[OpenIncident],
    topology: Topology,
    now: datetime,
    window_s: float,
) -> DeliveryPlan:
    """Fold a delivery's alerts into `open_incidents` (mutated: they grow) and say what to write."""
    plan, folder, seen = DeliveryPlan(), _Folder(open_incidents, now, window_s), dict(known)
    for alert in webhook.alerts:
        key = (alert.fingerprint, alert.starts_at)
        stored = seen.get(key)
        if stored is not None:
            if stored.status == "firing" and alert.status == "resolved":
                plan.resolutions.append(alert)
                stored = StoredAlert("resolved", stored.incident_id)
            else:
                # A firing copy of a resolved alert is an older notification retried late: keep it resolved.
                plan.duplicates.append(alert)
            if stored.incident_id is not None:
                plan.touched[stored.incident_id] = None
        else:
            stored = _fold_new(plan, folder, webhook, alert, topology)
        seen[key] = stored
    return plan


def _fold_new(
    plan: DeliveryPlan, folder: _Folder, webhook: AlertmanagerWebhook, alert: Alert, topology: Topology
) -> StoredAlert:
    keys = topology.keys_for(alert.labels)
    host = topology.host_for(alert.labels)
    incident = folder.choose(FoldAlert(alert.fingerprint, webhook.group_key, frozenset(keys)))
    if incident is None and alert.status == "firing":
        incident_id = incident_id_for(webhook.group_key, alert.fingerprint, alert.starts_at)
        incident = OpenIncident(incident_id, webhook.group_key, folder.now, set(), set(), severity_of(alert.labels))
        plan.created.append(incident)
        folder.add(incident)
    if incident is not None:
        plan.touched[incident.id] = None
        incident.fingerprints.add(alert.fingerprint)
        if alert.status == "firing":
            _grow(plan, folder, incident, alert, keys, host)
        else:
            folder.remember(incident, [alert.fingerprint], [])
    plan.inserts.append(NewAlert(alert, None if incident is None else incident.id, host))
    return StoredAlert(alert.status, None if incident is None else incident.id)


def _grow(
    plan: DeliveryPlan, folder: _Folder, incident: OpenIncident, alert: Alert, keys: set[str], host: str | None
) -> None:
    incident.keys |= keys
    if host is not None:
        incident.hosts.add(host)
    incident.severity = max_severity(incident.severity, severity_of(alert.labels))
    incident.last_alert_at = max(incident.last_alert_at, folder.now)
    plan.added[incident.id] = plan.added.get(incident.id, 0) + 1
    folder.remember(incident, [alert.fingerprint], keys)
