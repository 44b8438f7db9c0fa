"""The memory upgrade planner: dmidecode + usage -> keep / add / replace / unknown board, every number computed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from tools_server.hardware.checks import check_plan, validate_plan
from tools_server.hardware.installed import Installed, describe_installed
from tools_server.hardware.limits import BoardLimits, Unresolved, resolve_limits
from tools_server.hardware.models import ModuleOrder, PlanCheck, RemovedModule, UpgradePlan, format_gib
from tools_server.hardware.specs import SpecTable, load_spec_table
from tools_server.parsers.dmidecode import DmiInfo

__all__ = ["VM_REASON", "plan_upgrade", "validate_plan"]

VM_REASON = "virtual machine: resize the VM, no DIMMs to buy"


@dataclass(frozen=True)
class _Option:
    action: Literal["add", "replace"]
    count: int
    size: int
    resulting: int


def _percent(name: str, value: float, *, allow_zero: bool) -> Fraction:
    if not math.isfinite(value) or value < 0 or value > 100 or (value == 0 and not allow_zero):
        msg = f"{name} must be a percentage {'from 0' if allow_zero else 'above 0'} to 100, got {value}"
        raise ValueError(msg)
    return Fraction(value)


def _used_percent(used: int, total: int) -> float | None:
    return round(100 * used / total, 1) if total else None


def _balanced(total: int, limits: BoardLimits) -> bool:
    return total % limits.channel_step == 0 or total == limits.dram_slots


def _add_sizes(limits: BoardLimits, installed: Installed) -> list[int]:
    allowed = [s for s in limits.standard_sizes if s <= limits.per_slot_bytes]
    if limits.mixed_sizes:  # never smaller than what is installed: small modules of a new generation may not exist
        return [s for s in allowed if s >= min(installed.sizes)]
    largest = max(installed.sizes)
    return [largest] if largest in allowed else []


def _options(limits: BoardLimits, installed: Installed) -> list[_Option]:
    current = installed.volatile_bytes
    present = len(installed.modules)
    options = [
        _Option("add", count, size, current + count * size)
        for size in _add_sizes(limits, installed)
        for count in range(1, limits.free_slots + 1)
        if _balanced(present + count, limits) and current + count * size <= limits.max_bytes
    ]
    options += [
        _Option("replace", count, size, count * size)
        for size in limits.standard_sizes
        if size <= limits.per_slot_bytes
        for count in range(1, limits.dram_slots + 1)
        if _balanced(count, limits) and current < count * size <= limits.max_bytes
    ]
    return options


def _choose(options: list[_Option], needed: int, present: int) -> tuple[_Option | None, bool]:
    """The cheapest option reaching `needed` (adding before replacing), else the largest; and whether it reaches."""
    adds = [o for o in options if o.action == "add" and o.resulting >= needed]
    if adds:
        return min(adds, key=lambda o: (o.resulting, o.count)), True
    replaces = [o for o in options if o.resulting >= needed]
    if replaces:
        return min(replaces, key=lambda o: (o.resulting, abs(o.count - present), o.count)), True
    if not options:
        return None, False
    return max(options, key=lambda o: (o.resulting, o.action == "add", -o.count)), False


def _speed(limits: BoardLimits, installed: Installed) -> tuple[int | None, str]:
    bounds = [b for b in (limits.max_speed_mts, installed.speed_mts) if b is not None]
    if not bounds:
        return None, "neither the board's nor the installed modules' speed is known"
    bound = min(bounds)
    speed = max((s for s in limits.jedec_speeds if s <= bound), default=bound)
    board = f"board maximum {limits.max_speed_mts} MT/s" if limits.max_speed_mts else "board maximum unknown"
    shown = f"{installed.speed_mts} MT/s, {installed.speed_source}" if installed.speed_mts else "unknown"
    return speed, f"speed {limits.type}-{speed}: not above the {board} nor the installed modules ({shown})"


def _removed(installed: Installed) -> list[RemovedModule]:
    return [
        RemovedModule(
            locator=m.locator,
            size_bytes=m.size_bytes or 0,
            part_number=m.part_number.strip() if m.part_number else None,
        )
        for m in installed.modules
    ]


def _context_reasons(installed: Installed) -> list[str]:
    reasons = []
    if installed.persistent_count:
        reasons.append(
            f"{installed.persistent_count} persistent-memory modules (e.g. Optane) are not counted as capacity "
            "and keep their slots"
        )
    reasons += [
        f"slot {m.locator} reports part number {(m.part_number or '').strip()} but no size: a module may be present "
        "but failed or disabled; the slot is not counted as free — check it before buying"
        for m in installed.unreported
    ]
    if len(installed.sizes) > 1:
        sizes = ", ".join(format_gib(s) for s in installed.sizes)
        reasons.append(f"installed module sizes are mixed ({sizes}); new modules match the largest")
    return reasons


def _order_text(order: ModuleOrder) -> str:
    ecc = "ECC" if order.ecc else "non-ECC"
    return f"{order.count} × {format_gib(order.size_bytes)} {order.type}-{order.speed_mts} {order.kind} {ecc}"


def _summary(plan: dict[str, Any], limits: BoardLimits) -> str:
    order = plan["modules_to_add"][0]
    tail = f"→ {format_gib(plan['resulting_bytes'])} of {format_gib(limits.max_bytes)} max"
    if plan["action"] == "add":
        return f"add {_order_text(order)} {tail}"
    removed = plan["modules_to_remove"]
    sizes = "/".join(sorted({format_gib(r.size_bytes) for r in removed}))
    return f"replace {len(removed)} × {sizes} with {_order_text(order)} {tail}"


def _unknown(base: dict[str, Any], free: int, unresolved: Unresolved) -> UpgradePlan:
    return UpgradePlan(
        **base,
        action="unknown_board",
        board=unresolved.board_id,
        board_name=unresolved.board_name,
        board_source="unknown",
        resulting_bytes=base["current_bytes"],
        resulting_used_percent=base["memory_used_percent"],
        free_slots_before=free,
        free_slots_after=free,
        reasons=list(unresolved.reasons),
        checks=list(unresolved.checks),
        needs=list(unresolved.needs),
        summary=f"unknown board: {unresolved.reasons[0]}",
    )


def _keep(
    base: dict[str, Any], free: int, reasons: list[str], summary: str, *, within: bool, **extra: Any
) -> UpgradePlan:
    check = PlanCheck(name="usage_within_target", passed=within, detail=reasons[0])
    fields = dict(
        action="keep",
        board=None,
        board_source="unknown",
        resulting_bytes=base["current_bytes"],
        resulting_used_percent=base["memory_used_percent"],
        free_slots_before=free,
        free_slots_after=free,
        reasons=reasons,
        checks=[check],
        summary=summary,
    )
    return UpgradePlan(**(base | fields | extra))


def _board_fields(limits: BoardLimits) -> dict[str, Any]:
    return dict(
        board=limits.board_id,
        board_name=limits.board_name,
        board_source=limits.source,
        board_max_bytes=limits.max_bytes,
    )


def plan_upgrade(
    dmi: DmiInfo,
    memory_used_percent: float,
    *,
    target_used_percent: float = 70.0,
    table: SpecTable | None = None,
) -> UpgradePlan:
    """Plan a memory upgrade so usage falls to the target, checked against the board; unknown boards say so."""
    used = _percent("memory_used_percent", memory_used_percent, allow_zero=True)
    target = _percent("target_used_percent", target_used_percent, allow_zero=False)
    table = table or load_spec_table()
    installed = describe_installed(dmi, table)
    current = installed.volatile_bytes
    needed = math.ceil(current * used / target)
    base: dict[str, Any] = dict(
        memory_used_percent=memory_used_percent,
        target_used_percent=target_used_percent,
        current_bytes=current,
        used_bytes=math.ceil(current * used / 100),
        needed_bytes=needed,
    )
    usage = (
        f"{memory_used_percent:g} % of {format_gib(current)} used; "
        f"a {target_used_percent:g} % target needs {format_gib(needed)}"
    )
    free = dmi.empty_slots
    if current == 0:
        return _unknown(base, free, Unresolved(("dmidecode lists no populated DRAM module",), ("`dmidecode` as root",)))
    physical = not (installed.virtual_machine or installed.soldered)
    limits = resolve_limits(dmi, installed, table) if physical else None
    if needed <= current:
        summary = (
            f"keep {format_gib(current)}: {memory_used_percent:g} % used is within the {target_used_percent:g} % target"
        )
        if isinstance(limits, BoardLimits):
            return _keep(base, limits.free_slots, [usage], summary, within=True, **_board_fields(limits))
        return _keep(base, free, [usage], summary, within=True)
    if installed.virtual_machine:
        why = (VM_REASON, f"the guest reports '{installed.virtual_machine}'; {usage}")
        return _unknown(base, free, Unresolved(why, ()))
    if installed.soldered or limits is None:
        why = ("memory is soldered (LPDDR / Row Of Chips): no DIMM can be added or replaced", usage)
        return _unknown(base, free, Unresolved(why, ()))
    if isinstance(limits, Unresolved):
        unresolved = Unresolved(
            (*limits.reasons, usage), limits.needs, limits.board_id, limits.board_name, limits.checks
        )
        return _unknown(base, free, unresolved)
    return _plan_on_board(base, usage, limits, installed, needed)


def _plan_on_board(
    base: dict[str, Any], usage: str, limits: BoardLimits, installed: Installed, needed: int
) -> UpgradePlan:
    current = installed.volatile_bytes
    board = _board_fields(limits)
    reasons = [usage, *limits.reasons, *_context_reasons(installed)]
    speed, speed_reason = _speed(limits, installed)
    if speed is None:
        unresolved = Unresolved((speed_reason, usage), ("the rated speed of the installed modules",), limits.board_id)
        return _unknown(base, limits.free_slots, unresolved)
    option, reaches = _choose(_options(limits, installed), needed, len(installed.modules))
    if option is None:
        why = (
            f"no upgrade fits: {format_gib(current)} installed, board maximum {format_gib(limits.max_bytes)}, "
            f"{limits.free_slots} free slots, {format_gib(limits.per_slot_bytes)} per slot"
        )
        summary = f"keep {format_gib(current)}: {why}"
        return _keep(base, limits.free_slots, [usage, why, *reasons[1:]], summary, within=False, **board)
    if not reaches:
        reasons.append(
            f"the target is out of reach: {format_gib(needed)} needed, the most this board takes with "
            f"{limits.kind}s is {format_gib(option.resulting)}; the plan goes as far as it can"
        )
    order = ModuleOrder(
        count=option.count, size_bytes=option.size, type=limits.type, speed_mts=speed, kind=limits.kind, ecc=limits.ecc
    )
    removed = _removed(installed) if option.action == "replace" else []
    if option.action == "add":
        why_size = "the installed size" if option.size in installed.sizes else "the board allows mixed sizes"
        reasons.append(
            f"adding {format_gib(option.size)} modules ({why_size}) to {limits.free_slots} free "
            f"slots in steps that keep {limits.channel_step}-channel balance"
        )
    else:
        reasons.append(
            f"adding to the {limits.free_slots} free slots cannot reach {format_gib(needed)}: replacing "
            f"the {len(removed)} installed modules with larger ones"
        )
    reasons.append(speed_reason)
    checks = check_plan(limits, installed, option.action, [order], removed, option.resulting)
    failed = [c for c in checks if not c.passed]
    if failed:  # a table entry that contradicts the machine; never hand out a plan that breaks a rule
        fails = tuple(f"computed plan fails {c.name}: {c.detail}" for c in failed)
        unresolved = Unresolved(fails, ("a corrected spec entry",), limits.board_id, limits.board_name, tuple(checks))
        return _unknown(base, limits.free_slots, unresolved)
    plan = (
        base
        | board
        | dict(
            action=option.action,
            resulting_bytes=option.resulting,
            resulting_used_percent=_used_percent(base["used_bytes"], option.resulting),
            modules_to_add=[order],
            modules_to_remove=removed,
            free_slots_before=limits.free_slots,
            free_slots_after=limits.free_slots + len(removed) - option.count,
            reasons=reasons,
            checks=checks,
        )
    )
    return UpgradePlan(**plan, summary=_summary(plan, limits))
