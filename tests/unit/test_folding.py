"""Storm folding: host matching, topology keys, the three rules with their window, deterministic ids, a body's plan."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.alert_payload import AlertmanagerWebhook, parse_webhook
from service.folding import (
    FoldAlert,
    OpenIncident,
    StoredAlert,
    Topology,
    choose_incident,
    host_label_value,
    incident_id_for,
    max_severity,
    plan_delivery,
    severity_of,
    thread_id_for,
)

INVENTORY = """\
hosts:
  - {name: node-01, address: 10.0.1.1, rack: r1, switch: tor-1}
  - {name: node-02, address: 10.0.1.2, rack: r1, switch: tor-1}
  - {name: node-03, address: node-03.dc.example, ip: 10.0.1.3, rack: r1, switch: tor-1}
  - {name: node-11, address: 10.0.2.1, rack: r2, switch: tor-2}
  - {name: node-12, address: "fd00::12", rack: r2, switch: tor-2}
  - {name: node-21, address: 10.0.3.1, rack: r3, switch: tor-1}
  - {name: lonely, address: 10.0.9.9}
"""
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = 900.0


@pytest.fixture
def topology(tmp_path: Path) -> Topology:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    return Topology.from_inventory(path)


@pytest.mark.parametrize(
    ("labels", "host"),
    [
        ({"instance": "10.0.1.1:9100"}, "node-01"),
        ({"instance": "10.0.1.3:9100"}, "node-03"),  # the metrics ip
        ({"hostname": "NODE-02"}, "node-02"),
        ({"host": "node-03.dc.example"}, "node-03"),  # the address
        ({"nodename": "node-11.cluster.local"}, "node-11"),  # FQDN of an inventory name
        ({"node": "[fd00::12]:9100"}, "node-12"),
        ({"server": "fd00::12"}, "node-12"),
        ({"instance": "http://10.0.2.1:8080/healthz"}, "node-11"),  # blackbox exporter target
        ({"instance": "10.9.9.9:9100", "hostname": "lonely"}, "lonely"),  # hostname is tried first
        ({"instance": "10.9.9.9:9100"}, None),
        ({"job": "node"}, None),
    ],
)
def test_host_for(topology: Topology, labels: dict[str, str], host: str | None) -> None:
    assert topology.host_for(labels) == host


def test_host_label_value() -> None:
    assert host_label_value("10.0.0.5:9100") == "10.0.0.5"
    assert host_label_value("[::1]:9100") == "::1"
    assert host_label_value("fe80::1") == "fe80::1"
    assert host_label_value(" Web-1 ") == "web-1"


def test_keys_for(topology: Topology) -> None:
    assert topology.keys_for({"instance": "10.0.1.2:9100"}) == {"host:node-02", "rack:r1", "switch:tor-1"}
    assert topology.keys_for({"hostname": "lonely"}) == {"host:lonely"}
    # A host outside the inventory keeps its own key; rack and switch labels of the alert count too.
    assert topology.keys_for({"instance": "10.7.7.7:9100", "rack": "r9", "switch": "sw9"}) == {
        "host:10.7.7.7",
        "rack:r9",
        "switch:sw9",
    }
    assert topology.keys_for({"alertname": "X"}) == set()
    assert Topology.empty().keys_for({"instance": "10.0.1.2:9100"}) == {"host:10.0.1.2"}


def test_severity() -> None:
    assert severity_of({"severity": "Critical"}) == "critical"
    assert severity_of({"severity": "page"}) == "critical"
    assert severity_of({"severity": "info"}) == "info"
    assert severity_of({}) == "warning"
    assert severity_of({"severity": "P3"}) == "warning"
    assert max_severity("info", "critical") == "critical"
    assert max_severity("critical", "warning") == "critical"
    assert max_severity("warning", "info") == "warning"


def test_ids_are_deterministic() -> None:
    starts = datetime(2026, 3, 1, 11, 59, 30, 123456, tzinfo=UTC)
    first = incident_id_for('{}:{alertname="X"}', "3d8edaac118cc018", starts)
    assert first.startswith("inc-") and len(first) == 20 and int(first[4:], 16) >= 0
    same_instant = starts.astimezone(datetime.now().astimezone().tzinfo)
    assert incident_id_for('{}:{alertname="X"}', "3d8edaac118cc018", same_instant) == first
    assert incident_id_for('{}:{alertname="Y"}', "3d8edaac118cc018", starts) != first
    assert incident_id_for('{}:{alertname="X"}', "3d8edaac118cc019", starts) != first
    assert incident_id_for('{}:{alertname="X"}', "3d8edaac118cc018", starts + timedelta(microseconds=1)) != first
    thread = thread_id_for(first)
    assert thread == thread_id_for(first) and uuid.UUID(thread).version == 5
    assert thread_id_for("inc-0000000000000000") != thread


def _incident(
    id: str, *, group: str = "g", ago_s: float = 0, fps: set[str] | None = None, keys: set[str] | None = None
) -> OpenIncident:
    return OpenIncident(id, group, NOW - timedelta(seconds=ago_s), fps or set(), keys or set())


def _alert(fp: str = "fp-new", group: str = "other", keys: set[str] | None = None) -> FoldAlert:
    return FoldAlert(fp, group, frozenset(keys or set()))


def test_same_fingerprint_joins_even_outside_the_window() -> None:
    old = _incident("inc-old", ago_s=10 * WINDOW, fps={"fp-a"})
    recent = _incident("inc-recent", group="g2", keys={"rack:r1"})
    alert = _alert("fp-a", group="g2", keys={"rack:r1"})
    assert choose_incident(alert, [recent, old], NOW, WINDOW) == "inc-old"


def test_group_key_within_the_window() -> None:
    inc = _incident("inc-g", group="g1", ago_s=WINDOW - 1)
    assert choose_incident(_alert(group="g1"), [inc], NOW, WINDOW) == "inc-g"
    expired = _incident("inc-g", group="g1", ago_s=WINDOW + 1)
    assert choose_incident(_alert(group="g1"), [expired], NOW, WINDOW) is None


@pytest.mark.parametrize(
    ("alert_labels", "joins"),
    [
        ({"instance": "10.0.1.1:9100"}, True),  # same host
        ({"hostname": "node-02"}, True),  # same rack
        ({"hostname": "node-21"}, True),  # other rack, same switch
        ({"hostname": "node-11"}, False),  # other rack and switch
        ({"hostname": "lonely"}, False),  # no rack, no switch
        ({"instance": "10.7.7.7:9100", "rack": "r1"}, True),  # rack label on the alert
    ],
)
def test_topology_within_the_window(topology: Topology, alert_labels: dict[str, str], joins: bool) -> None:
    inc = _incident("inc-t", keys=topology.keys_for({"hostname": "node-01"}), ago_s=60)
    alert = _alert(keys=topology.keys_for(alert_labels))
    assert choose_incident(alert, [inc], NOW, WINDOW) == ("inc-t" if joins else None)
    inc.last_alert_at = NOW - timedelta(seconds=WINDOW + 1)
    assert choose_incident(alert, [inc], NOW, WINDOW) is None


def test_rule_order_then_most_recent() -> None:
    by_topology = _incident("inc-topo", keys={"rack:r1"}, ago_s=1)
    by_group = _incident("inc-group", group="g1", ago_s=600)
    alert = _alert(group="g1", keys={"rack:r1"})
    assert choose_incident(alert, [by_topology, by_group], NOW, WINDOW) == "inc-group"
    older = _incident("inc-a", keys={"rack:r1"}, ago_s=300)
    newer = _incident("inc-b", keys={"switch:tor-1"}, ago_s=30)
    alert = _alert(keys={"rack:r1", "switch:tor-1"})
    assert choose_incident(alert, [older, newer], NOW, WINDOW) == "inc-b"
    twin = _incident("inc-0", keys={"rack:r1"}, ago_s=30)
    assert choose_incident(alert, [older, newer, twin], NOW, WINDOW) == "inc-0"
    assert choose_incident(alert, [], NOW, WINDOW) is None


def _body(group: str, alerts: list[dict[str, Any]], status: str = "firing") -> AlertmanagerWebhook:
    return parse_webhook(
        json.dumps(
            {
                "version": "4",
                "groupKey": group,
                "status": status,
                "receiver": "opswatchdog",
                "alerts": alerts,
            }
        ).encode()
    )


def _am_alert(
    name: str, host: str, *, status: str = "firing", minute: int = 0, severity: str = "warning"
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "hostname": host, "severity": severity},
        "startsAt": f"2026-03-01T11:{minute:02d}:00Z",
        "endsAt": "2026-03-01T11:59:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
    }


def test_plan_folds_a_rack_storm_and_splits_another_rack(topology: Topology) -> None:
    body = _body(
        "g-storm",
        [_am_alert("NodeDown", "node-01"), _am_alert("ServiceDown", "node-02", severity="critical")],
    )
    plan = plan_delivery(body, {}, [], topology, NOW, WINDOW)
    (created,) = plan.created
    assert created.id == incident_id_for("g-storm", body.alerts[0].fingerprint, body.alerts[0].starts_at)
    assert created.severity == "critical" and created.hosts == {"node-01", "node-02"}
    assert plan.added == {created.id: 2}
    # Another group on the same rack joins by topology; another rack gets its own incident.
    later = _body("g-later", [_am_alert("DiskFull", "node-03"), _am_alert("NodeDown", "node-11")])
    plan2 = plan_delivery(later, {}, [created], topology, NOW + timedelta(seconds=60), WINDOW)
    assert plan2.inserts[0].incident_id == created.id
    (other,) = plan2.created
    assert other.hosts == {"node-11"} and plan2.added == {created.id: 1, other.id: 1}
    assert list(plan2.touched) == [created.id, other.id]


def test_plan_duplicates_resolutions_and_late_resolved(topology: Topology) -> None:
    (a,) = _body("g", [_am_alert("A", "node-01")]).alerts
    known = {(a.fingerprint, a.starts_at): StoredAlert("firing", "inc-1")}
    resolved = _body("g", [{**_am_alert("A", "node-01", status="resolved")}, _am_alert("A", "node-01")])
    plan = plan_delivery(resolved, known, [], topology, NOW, WINDOW)
    # The resolution, then a late firing copy of the same alert: kept resolved, counted as a duplicate.
    assert [x.fingerprint for x in plan.resolutions] == [a.fingerprint]
    assert [x.fingerprint for x in plan.duplicates] == [a.fingerprint]
    assert plan.inserts == [] and plan.created == [] and list(plan.touched) == ["inc-1"]
    # A new alert that arrives resolved never opens an incident.
    alone = plan_delivery(_body("g9", [_am_alert("C", "lonely", status="resolved")]), {}, [], topology, NOW, WINDOW)
    assert alone.created == [] and alone.inserts[0].incident_id is None and alone.added == {}
    # ... but joins an open one that matches, without asking for a new run.
    inc = OpenIncident("inc-2", "g9", NOW, set(), set())
    joined = plan_delivery(_body("g9", [_am_alert("C", "lonely", status="resolved")]), {}, [inc], topology, NOW, WINDOW)
    assert joined.inserts[0].incident_id == "inc-2" and joined.added == {} and list(joined.touched) == ["inc-2"]


def test_plan_refire_joins_the_incident_of_its_fingerprint(topology: Topology) -> None:
    first = _body("g", [_am_alert("A", "lonely", minute=0)])
    fp = first.alerts[0].fingerprint
    inc = OpenIncident("inc-1", "g", NOW - timedelta(hours=5), {fp}, {"host:lonely"})
    again = _body("g-new", [_am_alert("A", "lonely", minute=30)])  # same labels, new startsAt
    plan = plan_delivery(again, {}, [inc], topology, NOW, WINDOW)
    assert plan.created == [] and plan.inserts[0].incident_id == "inc-1" and plan.added == {"inc-1": 1}
    assert inc.last_alert_at == NOW
