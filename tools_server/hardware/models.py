"""Typed results of the upgrade planner: the plan, the modules it orders or removes, the checks it made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DimmKind = Literal["UDIMM", "RDIMM", "LRDIMM", "SO-DIMM"]
PlanAction = Literal["keep", "add", "replace", "unknown_board"]
BoardSource = Literal["spec_table", "dmidecode_array_max", "unknown"]

GIB = 1024**3


class ModuleOrder(BaseModel):
    """A group of identical modules to buy and install."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=1, description="number of identical modules")
    size_bytes: int = Field(gt=0, description="size of one module in bytes")
    type: str = Field(description="DDR generation, e.g. DDR4")
    speed_mts: int = Field(gt=0, description="rated data rate in MT/s")
    kind: DimmKind
    ecc: bool


class RemovedModule(BaseModel):
    """An installed module a replace plan takes out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    locator: str | None
    size_bytes: int
    part_number: str | None = None


class PlanCheck(BaseModel):
    """One rule the planner checked, with what it compared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    passed: bool
    detail: str


class UpgradePlan(BaseModel):
    """A memory upgrade plan computed from dmidecode and usage: keep, add, replace, or an explicit unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: PlanAction
    board: str | None = Field(description="id of the matched spec-table entry, None when not matched")
    board_name: str | None = Field(default=None, description="human name of the board, system or chipset")
    board_source: BoardSource
    board_max_bytes: int | None = Field(default=None, description="most memory the board takes with this DIMM kind")
    memory_used_percent: float
    target_used_percent: float
    current_bytes: int = Field(description="installed volatile memory (persistent memory excluded)")
    used_bytes: int = Field(description="memory in use: used percent of the installed volatile memory")
    needed_bytes: int = Field(description="total capacity at which usage would be at or below the target")
    resulting_bytes: int
    resulting_used_percent: float | None
    modules_to_add: list[ModuleOrder] = Field(default_factory=list)
    modules_to_remove: list[RemovedModule] = Field(default_factory=list)
    free_slots_before: int
    free_slots_after: int
    reasons: list[str] = Field(default_factory=list)
    checks: list[PlanCheck] = Field(default_factory=list)
    summary: str
    needs: list[str] = Field(default_factory=list, description="what would be needed to plan an unknown board")


def format_gib(size_bytes: int) -> str:
    """A byte count as GiB for people: "32 GiB", "12.04 GiB"."""
    gib = size_bytes / GIB
    return f"{gib:.0f} GiB" if gib == int(gib) else f"{gib:.2f} GiB"
