"""The rules every add/replace plan must pass on a machine, run by the planner and by validate_plan on edits."""

from __future__ import annotations

from collections import Counter

from tools_server.hardware.installed import Installed, describe_installed
from tools_server.hardware.limits import BoardLimits, Unresolved, resolve_limits
from tools_server.hardware.models import ModuleOrder, PlanAction, PlanCheck, RemovedModule, UpgradePlan, format_gib
from tools_server.hardware.specs import SpecTable, load_spec_table
from tools_server.parsers.dmidecode import DmiInfo


def _check(name: str, passed: bool, detail: str) -> PlanCheck:
    return PlanCheck(name=name, passed=passed, detail=detail)


def _listing(values: set[str]) -> str:
    return ", ".join(sorted(values)) or "nothing"


def _identity_checks(limits: BoardLimits, orders: list[ModuleOrder]) -> list[PlanCheck]:
    types = {o.type for o in orders}
    kinds = {o.kind for o in orders}
    eccs = {o.ecc for o in orders}
    ecc_ok = eccs <= {limits.ecc} and not (limits.ecc_policy == "none" and True in eccs)
    ecc_ok = ecc_ok and not (limits.ecc_policy == "required" and False in eccs)
    ecc_word = {True: "ECC", False: "non-ECC"}
    return [
        _check(
            "type_matches_installed",
            types <= {limits.type},
            f"ordered {_listing(types)}; installed and supported: {limits.type}",
        ),
        _check(
            "kind_matches_installed",
            kinds <= {limits.kind},
            f"ordered {_listing(set(kinds))}; installed: {limits.kind} (RDIMM, UDIMM and LRDIMM never mix)",
        ),
        _check(
            "ecc_matches_installed",
            ecc_ok,
            f"ordered {_listing({ecc_word[e] for e in eccs})}; installed: {ecc_word[limits.ecc]}, "
            f"board ECC: {limits.ecc_policy or 'unknown (matching the installed modules)'}",
        ),
    ]


def _speed_check(limits: BoardLimits, installed: Installed, orders: list[ModuleOrder]) -> PlanCheck:
    bounds = [b for b in (limits.max_speed_mts, installed.speed_mts) if b is not None]
    fastest = max((o.speed_mts for o in orders), default=0)
    board = f"{limits.max_speed_mts} MT/s" if limits.max_speed_mts else "unknown"
    shown = f"{installed.speed_mts} MT/s" if installed.speed_mts else "unknown"
    return _check(
        "speed_within_limits",
        bool(bounds) and all(fastest <= b for b in bounds),
        f"ordered up to {fastest} MT/s; board maximum {board}; installed {shown} ({installed.speed_source})",
    )


def _size_checks(
    limits: BoardLimits, installed: Installed, orders: list[ModuleOrder], removed: list[RemovedModule], action: str
) -> list[PlanCheck]:
    sizes = {o.size_bytes for o in orders}
    odd = sorted(s for s in sizes if s not in limits.standard_sizes or s > limits.per_slot_bytes)
    kept = Counter(m.size_bytes or 0 for m in installed.modules)
    kept.subtract(Counter(r.size_bytes for r in removed))
    after = {s for s, n in kept.items() if n > 0} | sizes
    already_mixed = action == "add" and sizes <= set(installed.sizes)
    uniform = limits.mixed_sizes or len(after) <= 1 or already_mixed
    return [
        _check(
            "per_slot_maximum",
            not odd,
            f"module sizes {_listing({format_gib(s) for s in sizes})}; largest per slot "
            f"{format_gib(limits.per_slot_bytes)}; standard sizes only"
            + (f"; not allowed: {', '.join(format_gib(s) for s in odd)}" if odd else ""),
        ),
        _check(
            "sizes_match",
            uniform,
            f"module sizes after the change: {_listing({format_gib(s) for s in after})}; "
            + ("the board allows mixed sizes" if limits.mixed_sizes else "matching sizes keep channels balanced"),
        ),
    ]


def _slot_checks(
    limits: BoardLimits,
    installed: Installed,
    orders: list[ModuleOrder],
    removed: list[RemovedModule],
    resulting_bytes: int,
) -> list[PlanCheck]:
    added = sum(o.count for o in orders)
    dram_after = len(installed.modules) - len(removed) + added
    free_for_new = limits.free_slots + len(removed)
    step = limits.channel_step
    balanced = dram_after % step == 0 or dram_after == limits.dram_slots
    expected = (
        installed.volatile_bytes + sum(o.count * o.size_bytes for o in orders) - sum(r.size_bytes for r in removed)
    )
    pulled = Counter((r.locator, r.size_bytes) for r in removed)
    present = Counter((m.locator, m.size_bytes or 0) for m in installed.modules)
    return [
        _check(
            "free_slots",
            added <= free_for_new,
            f"{added} modules into {limits.free_slots} free slots"
            + (f" plus {len(removed)} emptied by removals" if removed else ""),
        ),
        _check(
            "board_maximum",
            resulting_bytes <= limits.max_bytes,
            f"{format_gib(resulting_bytes)} after the change; board maximum {format_gib(limits.max_bytes)}",
        ),
        _check(
            "channel_balance",
            balanced,
            f"{dram_after} DIMMs after the change: a multiple of {step} "
            f"({'channels per CPU' if limits.board_id else 'pairs'}) or all {limits.dram_slots} DRAM slots",
        ),
        _check(
            "capacity_arithmetic",
            resulting_bytes == expected,
            f"resulting {format_gib(resulting_bytes)}; installed {format_gib(installed.volatile_bytes)} "
            f"plus added minus removed is {format_gib(expected)}",
        ),
        _check(
            "removed_modules_installed",
            not (pulled - present),
            f"{len(removed)} modules removed, each one of the installed modules (by locator and size)",
        ),
    ]


def check_plan(
    limits: BoardLimits,
    installed: Installed,
    action: PlanAction,
    orders: list[ModuleOrder],
    removed: list[RemovedModule],
    resulting_bytes: int,
) -> list[PlanCheck]:
    """Every rule of an add/replace plan on this machine, passed or not, with what was compared."""
    shape_ok = bool(orders) and (action == "replace") == bool(removed)
    shape = _check(
        "plan_shape",
        shape_ok,
        f"{action} with {len(orders)} module orders and {len(removed)} removals "
        "(add removes nothing, replace removes modules, both order modules)",
    )
    return [
        shape,
        *_identity_checks(limits, orders),
        _speed_check(limits, installed, orders),
        *_size_checks(limits, installed, orders, removed, action),
        *_slot_checks(limits, installed, orders, removed, resulting_bytes),
    ]


def validate_plan(dmi: DmiInfo, plan: UpgradePlan, *, table: SpecTable | None = None) -> list[str]:
    """Problems of a (possibly human-edited) plan on this machine; an empty list means it passes every rule."""
    table = table or load_spec_table()
    installed = describe_installed(dmi, table)
    problems = []
    if plan.current_bytes != installed.volatile_bytes:
        problems.append(
            f"plan assumes {format_gib(plan.current_bytes)} installed, dmidecode shows "
            f"{format_gib(installed.volatile_bytes)}"
        )
    if plan.action in ("keep", "unknown_board"):
        if plan.modules_to_add or plan.modules_to_remove:
            problems.append(f"a {plan.action} plan must not add or remove modules")
        if plan.resulting_bytes != plan.current_bytes:
            problems.append(f"a {plan.action} plan must leave capacity at {format_gib(plan.current_bytes)}")
        return problems
    if installed.virtual_machine or installed.soldered:
        return [*problems, "this machine has no DIMMs to buy (virtual machine or soldered memory)"]
    limits = resolve_limits(dmi, installed, table)
    if isinstance(limits, Unresolved):
        return [*problems, *(f"board cannot be checked: {r}" for r in limits.reasons)]
    if plan.board != limits.board_id:
        problems.append(f"plan is for board {plan.board}, the machine matches {limits.board_id}")
    added = sum(o.count for o in plan.modules_to_add)
    checks = check_plan(
        limits, installed, plan.action, list(plan.modules_to_add), list(plan.modules_to_remove), plan.resulting_bytes
    )
    problems += [f"{c.name}: {c.detail}" for c in checks if not c.passed]
    expected_free = limits.free_slots + len(plan.modules_to_remove) - added
    if plan.free_slots_after != expected_free:
        problems.append(f"free_slots_after is {plan.free_slots_after}, the change leaves {expected_free}")
    return problems
