"""The alert storm's Alertmanager model (bench/storm_plan.py) on simfleet's own 300-host topology."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.storm_plan import Cause, Delivery, design_causes, plan_storm, planned_answers, shuffled
from simfleet.addresses import host_address
from simfleet.scenario import load_scenario, plan_fleet
from tools_server.inventory import Host

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOSTS = [
    Host(name=p.name, address=host_address(p.index), rack=p.rack, switch=p.switch)
    for p in plan_fleet(load_scenario("healthy"), 300)
]


def storm(seed: int = 1, causes: int = 12, alerts: int = 1000) -> tuple[list[Cause], list[Delivery]]:
    """The bench's own sequence: one rng for the design, the plan and the order."""
    rng = random.Random(seed)
    designed = design_causes(HOSTS, causes, rng, NOW)
    return designed, shuffled(plan_storm(designed, alerts, rng, NOW), rng)


def group_key(delivery: Delivery) -> str:
    key: str = json.loads(delivery.body)["groupKey"]
    return key


def identities(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["fingerprint"], a["startsAt"]) for a in alerts]


@pytest.mark.parametrize(("seed", "alerts"), [(1, 1000), (2, 1000), (3, 400), (4, 2500)])
def test_the_planned_entries_equal_the_budget(seed: int, alerts: int) -> None:
    causes, plan = storm(seed, alerts=alerts)
    assert sum(len(d.alerts) for d in plan) == alerts
    assert all(len(json.loads(d.body)["alerts"]) == len(d.alerts) for d in plan)
    answers = planned_answers(plan)
    assert answers["entries"] == alerts
    assert answers["new"] == sum(c.alerts for c in causes)


def test_a_budget_of_exactly_the_distinct_alerts_sends_each_once() -> None:
    distinct = sum(c.alerts for c in storm()[0])
    _, plan = storm(alerts=distinct)
    assert sum(len(d.alerts) for d in plan) == distinct
    assert planned_answers(plan)["duplicates"] == 0


def test_a_budget_below_the_distinct_alerts_is_refused() -> None:
    with pytest.raises(ValueError, match="fewer than the 213 distinct alerts"):
        storm(alerts=212)


def test_causes_sit_behind_distinct_switches_and_share_no_host() -> None:
    causes, _ = storm()
    assert len(causes) == 12
    assert len({c.switch for c in causes}) == 12
    by_name = {h.name: h for h in HOSTS}
    assert all(by_name[h].switch == c.switch for c in causes for h in c.hosts)
    every = [h for c in causes for h in c.hosts]
    assert len(every) == len(set(every))
    assert {c.kind for c in causes} == {"switch", "rack", "disk", "memory"}


def test_more_causes_than_switches_are_refused() -> None:
    switches = len({h.switch for h in HOSTS})
    with pytest.raises(ValueError, match=f"--causes {switches + 1} needs as many switches"):
        storm(causes=switches + 1)


def test_every_retry_repeats_an_earlier_body_exactly() -> None:
    _, plan = storm()
    position = {d.id: i for i, d in enumerate(plan)}
    by_id = {d.id: d for d in plan}
    retries = [d for d in plan if d.what == "retry"]
    assert retries
    for retry in retries:
        (original,) = (by_id[p] for p in retry.deps)
        assert position[original.id] < position[retry.id]
        assert retry.body == original.body
        assert identities(retry.alerts) == identities(original.alerts)


def test_one_group_per_cause_never_resolves() -> None:
    causes, plan = storm()
    assert any(d.what == "resolve" for d in plan)  # other groups do resolve
    for cause in causes:
        anchor = [d for d in plan if group_key(d) == cause.groups[0].key]
        assert anchor
        assert all(a["status"] == "firing" for d in anchor for a in d.alerts)


def test_resolutions_come_after_their_causes_first_anchor_notification() -> None:
    causes, plan = storm()
    position = {d.id: i for i, d in enumerate(plan)}
    anchors = {c.groups[0].key for c in causes}
    for resolve in (d for d in plan if d.what == "resolve"):
        waited = [p for p in resolve.deps if group_key(next(d for d in plan if d.id == p)) in anchors]
        assert waited
        assert all(position[p] < position[resolve.id] for p in resolve.deps)


def test_every_delivery_comes_after_what_it_waits_for() -> None:
    _, plan = storm()
    position = {d.id: i for i, d in enumerate(plan)}
    assert sorted(position) == list(range(len(plan)))
    assert all(position[p] < position[d.id] for d in plan for p in d.deps)


def test_the_plan_is_deterministic_for_a_seed() -> None:
    first, again, other = storm(7), storm(7), storm(8)
    assert [(d.id, d.what, d.deps, d.body) for d in first[1]] == [(d.id, d.what, d.deps, d.body) for d in again[1]]
    assert [(c.switch, c.hosts) for c in first[0]] == [(c.switch, c.hosts) for c in again[0]]
    assert [d.body for d in first[1]] != [d.body for d in other[1]]
