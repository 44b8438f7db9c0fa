"""Scenario files: pydantic models, loading with clear errors, and the per-host fleet plan."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from simfleet.fault_specs import DEFAULT_POOL, Fault, FaultKind


class HostOverride(BaseModel):
    """Optional per-host hardware choices."""

    model_config = ConfigDict(extra="forbid")
    board: str | None = Field(None, description="board key from simfleet.boards, e.g. dell-r740")
    memory_gib: int | None = Field(None, ge=4, le=512)
    cpus: int | None = Field(None, ge=1, le=512)
    role: Literal["web", "db", "cache", "app", "worker"] | None = None


class Scenario(BaseModel):
    """A simulated fleet: size, naming, groups, per-host overrides and injected faults."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    hosts: int = Field(20, ge=1, le=5000)
    name_prefix: str = Field("node", pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
    user: str = Field("ops", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    hosts_per_rack: int = Field(8, ge=1)
    groups: dict[str, list[str]] = Field(default_factory=dict, description="name -> host names or a..b ranges")
    hosts_overrides: dict[str, HostOverride] = Field(default_factory=dict)
    faults: dict[str, list[Fault]] = Field(default_factory=dict)
    fault_rate: float = Field(0.0, ge=0, le=1, description="chance a host without listed faults gets one")
    fault_pool: list[FaultKind] = Field(default_factory=lambda: list(DEFAULT_POOL))

    @field_validator("faults", mode="before")
    @classmethod
    def _normalise_faults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for host, items in value.items():
            seq = items if isinstance(items, list) else [items]
            out[host] = [{"kind": i} if isinstance(i, str) else i for i in seq]
        return out

    @model_validator(mode="after")
    def _refs_exist(self) -> Scenario:
        refs = [*self.faults, *self.hosts_overrides]
        refs += [r for members in self.groups.values() for r in members]
        for ref in refs:
            for idx in expand_ref(ref, self.name_prefix):
                if idx > self.hosts:
                    msg = f"host {ref!r} is outside the fleet of {self.hosts} hosts"
                    raise ValueError(msg)
        return self


class ScenarioError(ValueError):
    """A scenario file could not be read; the message names the file and the field."""


def expand_ref(ref: str, prefix: str) -> list[int]:
    """Turn 'node-03' or 'node-01..node-05' into 1-based host indexes."""
    parts = ref.split("..")
    if len(parts) > 2:
        msg = f"bad host range {ref!r}: expected NAME or NAME..NAME"
        raise ValueError(msg)
    pat = re.compile(rf"^{re.escape(prefix)}-0*([0-9]+)$")
    nums: list[int] = []
    for p in parts:
        m = pat.fullmatch(p.strip())
        if not m or int(m.group(1)) < 1:
            msg = f"bad host name {p!r}: expected {prefix}-N (N from 1)"
            raise ValueError(msg)
        nums.append(int(m.group(1)))
    return list(range(nums[0], nums[-1] + 1))


BUILTIN = ("demo", "healthy")


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a YAML path or a built-in name (demo, healthy)."""
    if isinstance(source, str) and source in BUILTIN:
        text = resources.files("simfleet").joinpath("scenarios", f"{source}.yaml").read_text()
        where = f"<built-in {source}>"
    else:
        path = Path(source)
        if not path.is_file():
            msg = f"scenario {source}: no such file and not a built-in name ({', '.join(BUILTIN)})"
            raise ScenarioError(msg)
        text, where = path.read_text(), str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        msg = f"{where}: invalid YAML: {exc}"
        raise ScenarioError(msg) from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{where}: {'.'.join(str(p) for p in e['loc']) or '<top>'}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError("\n".join(lines)) from exc


@dataclass
class HostPlan:
    """What one simulated host is: its name, position, groups, overrides and faults."""

    index: int
    name: str
    groups: list[str]
    faults: list[Any]
    override: HostOverride = field(default_factory=HostOverride)
    rack: str = ""
    switch: str = ""


def plan_fleet(scenario: Scenario, hosts: int | None = None) -> list[HostPlan]:
    """Expand a scenario into one plan per host; with `hosts`, refs past the count are dropped."""
    count = hosts or scenario.hosts
    width = len(str(count))
    plans = [HostPlan(i, f"{scenario.name_prefix}-{i:0{width}d}", [], []) for i in range(1, count + 1)]
    for group, members in scenario.groups.items():
        for ref in members:
            for idx in expand_ref(ref, scenario.name_prefix):
                if idx <= count and group not in plans[idx - 1].groups:
                    plans[idx - 1].groups.append(group)
    for ref, over in scenario.hosts_overrides.items():
        for idx in expand_ref(ref, scenario.name_prefix):
            if idx <= count:
                plans[idx - 1].override = over
    for ref, faults in scenario.faults.items():
        for idx in expand_ref(ref, scenario.name_prefix):
            if idx <= count:
                plans[idx - 1].faults.extend(faults)
    pool = list(scenario.fault_pool)
    for p in plans:
        rng = random.Random(f"{scenario.seed}:fault-rate:{p.index}")
        if not p.faults and pool and rng.random() < scenario.fault_rate:
            p.faults.append(_default_fault(rng.choice(pool)))
        rack = (p.index - 1) // scenario.hosts_per_rack
        p.rack, p.switch = f"r{rack + 1:02d}", f"sw-{chr(ord('a') + (rack // 2) % 26)}"
    return plans


def _default_fault(kind: FaultKind) -> Any:
    return _FAULT_ADAPTER.validate_python({"kind": kind.value})


_FAULT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Fault)
