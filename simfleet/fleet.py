"""Generate a whole fleet's machines from a scenario (no network): plan, profile, faults, outputs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from simfleet.faults import apply_faults
from simfleet.machine import Machine
from simfleet.profile import build_profile
from simfleet.scenario import HostPlan, Scenario, load_scenario, plan_fleet


@dataclass
class GeneratedHost:
    """A planned host and the machine that answers for it."""

    plan: HostPlan
    machine: Machine

    @property
    def fault_kinds(self) -> list[str]:
        """The kinds of fault injected into this host, in scenario order."""
        return [f.kind for f in self.machine.profile.faults]


def resolve_scenario(scenario: Scenario | str | Path) -> Scenario:
    """Accept a model, a path or a built-in name."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def generate_fleet(
    scenario: Scenario | str | Path, hosts: int | None = None, now: float | None = None, warm: bool = True
) -> list[GeneratedHost]:
    """Build every host's machine; deterministic for a given scenario, host count and `now`."""
    model = resolve_scenario(scenario)
    clock = time.time() if now is None else now
    out = []
    for plan in plan_fleet(model, hosts):
        profile = build_profile(plan, model.seed, clock)
        profile.user = model.user
        try:
            apply_faults(profile, plan.faults)
        except ValueError as exc:
            msg = f"host {plan.name}: {exc}"
            raise ValueError(msg) from exc
        machine = Machine(profile)
        if warm:
            machine.warm()
        out.append(GeneratedHost(plan, machine))
    return out
