"""The limits a plan must respect on one machine: from its spec-table entry, else from dmidecode's array maximum."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tools_server.hardware.installed import Installed
from tools_server.hardware.models import GIB, BoardSource, DimmKind, PlanCheck, format_gib
from tools_server.hardware.specs import BoardMatch, SpecTable, is_placeholder, match_board
from tools_server.parsers.dmidecode import DmiInfo

EccPolicy = Literal["none", "optional", "required"]
# Without a table entry the planner only knows that modules go in pairs (dual-channel at least).
_DEFAULT_CHANNEL_STEP = 2

NEEDS_BOARD = (
    "the board or server model (`dmidecode -t baseboard -t system`), added to tools_server/hardware/specs.yaml",
    "the board's maximum memory and largest module per slot, from the vendor's spec sheet",
    "the number of DIMM slots and memory channels per CPU",
    "the DIMM kinds (UDIMM/RDIMM/LRDIMM/SO-DIMM), ECC and speeds the board supports",
)


@dataclass(frozen=True)
class BoardLimits:
    """Everything a plan is checked against on this machine."""

    board_id: str | None
    board_name: str
    source: BoardSource
    type: str
    kind: DimmKind
    ecc: bool
    ecc_policy: EccPolicy | None
    slots_total: int
    dram_slots: int
    free_slots: int
    max_bytes: int
    per_slot_bytes: int
    channel_step: int
    max_speed_mts: int | None
    jedec_speeds: tuple[int, ...]
    standard_sizes: tuple[int, ...]
    mixed_sizes: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unresolved:
    """Why no plan can be made for this machine, and what information would allow one."""

    reasons: tuple[str, ...]
    needs: tuple[str, ...]
    board_id: str | None = None
    board_name: str | None = None
    checks: tuple[PlanCheck, ...] = field(default_factory=tuple)


def identity(dmi: DmiInfo) -> str:
    """How dmidecode names the machine, for reasons: "system 'Dell Inc. PowerEdge R740', board '01YM03'"."""
    parts = []
    for label, maker, product in (
        ("system", dmi.system_manufacturer, dmi.system_product),
        ("board", dmi.board_manufacturer, dmi.board_product),
    ):
        named = [s for s in (maker, product) if s and not is_placeholder(s)]
        if named:
            parts.append(f"{label} '{' '.join(named)}'")
    return ", ".join(parts) if parts else "a machine with no system or board identity in the dmidecode output"


def _slot_counts(installed: Installed, slots_total: int) -> tuple[int, int]:
    occupied_by_others = installed.persistent_count + len(installed.unreported)
    dram_slots = max(slots_total - occupied_by_others, len(installed.modules))
    return dram_slots, max(dram_slots - len(installed.modules), 0)


def _per_slot(table: SpecTable, installed: Installed, memory_type: str, kind: DimmKind, board_gib: int | None) -> int:
    sold = table.memory_types[memory_type].max_module_gib[kind] * GIB
    # A module that is installed exists, whatever the catalogue limit says.
    largest = max(max(installed.sizes, default=0), sold)
    return min(largest, board_gib * GIB) if board_gib is not None else largest


def _kind_from_entry(installed: Installed, kinds: list[DimmKind]) -> tuple[DimmKind | None, str]:
    if installed.kind is not None:
        return installed.kind, f"installed modules are {installed.kind} ({installed.kind_source})"
    if len(kinds) == 1:
        return kinds[0], f"dmidecode does not say the DIMM kind; the board takes only {kinds[0]}"
    return None, f"the DIMM kind is {installed.kind_source} and the board takes {'/'.join(kinds)}"


def _from_entry(dmi: DmiInfo, installed: Installed, table: SpecTable, match: BoardMatch) -> BoardLimits | Unresolved:
    entry = match.entry
    memory_type = installed.type or ""

    def unresolved(reason: str, need: str = f"a corrected spec entry for {identity(dmi)}") -> Unresolved:
        return Unresolved((reason,), (need,), board_id=entry.id, board_name=entry.name)

    support = entry.memory_for(memory_type)
    if support is None:
        listed = "/".join(m.type for m in entry.memory)
        msg = f"spec entry {entry.id} lists {listed} but {memory_type} modules are installed: entry or match is wrong"
        return unresolved(msg)
    kind, kind_reason = _kind_from_entry(installed, support.kinds)
    if kind is None:
        need = f"whether the installed DIMMs are {'/'.join(support.kinds)} (module label or BMC inventory)"
        return unresolved(kind_reason, need)
    if kind not in support.kinds:
        msg = f"installed modules are {kind} but spec entry {entry.id} lists only {'/'.join(support.kinds)}"
        return unresolved(msg)
    ecc = installed.ecc if installed.ecc is not None else (True if entry.ecc == "required" else None)
    if ecc is None:
        return unresolved("dmidecode does not say whether the modules have ECC", "ECC or not")
    if (ecc and entry.ecc == "none") or (not ecc and entry.ecc == "required"):
        msg = f"installed modules are {'ECC' if ecc else 'non-ECC'} but spec entry {entry.id} says ECC {entry.ecc}"
        return unresolved(msg)
    board_level = entry.level in ("board", "system")
    slots_total = min(entry.slots, dmi.slots_total or entry.slots) if board_level else dmi.slots_total
    per_slot = _per_slot(table, installed, memory_type, kind, support.max_per_slot_gib)
    max_bytes = min(entry.board_max_gib * GIB, slots_total * per_slot)
    dram_slots, free = _slot_counts(installed, slots_total)
    reasons = [f"matched spec entry {entry.id} ({entry.name}) by {match.matched_by.replace('_', ' ')} '{match.value}'"]
    reasons.append(f"board limit: {format_gib(max_bytes)} with {format_gib(per_slot)} {kind}s in {slots_total} slots")
    if not board_level:
        reasons.append(f"{entry.level} entry: the slot count ({slots_total}) is dmidecode's")
    elif dmi.slots_total and dmi.slots_total != entry.slots:
        reasons.append(f"dmidecode lists {dmi.slots_total} slots, the spec entry {entry.slots}: using {slots_total}")
    if entry.confidence == "typical":
        reasons.append(f"spec entry confidence is 'typical' (source: {entry.source}); verify before buying")
    if entry.notes:
        reasons.append(f"board notes: {entry.notes}")
    if dmi.array_max_bytes is not None and dmi.array_max_bytes != entry.board_max_gib * GIB:
        reasons.append(
            f"dmidecode reports an array maximum of {format_gib(dmi.array_max_bytes)}; "
            f"the spec table's {format_gib(entry.board_max_gib * GIB)} is used"
        )
    if installed.volatile_bytes > max_bytes:
        msg = (
            f"{format_gib(installed.volatile_bytes)} installed exceeds spec entry {entry.id}'s {format_gib(max_bytes)}"
        )
        return unresolved(msg)
    return BoardLimits(
        board_id=entry.id,
        board_name=entry.name,
        source="spec_table",
        type=memory_type,
        kind=kind,
        ecc=ecc,
        ecc_policy=entry.ecc,
        slots_total=slots_total,
        dram_slots=dram_slots,
        free_slots=free,
        max_bytes=max_bytes,
        per_slot_bytes=per_slot,
        channel_step=entry.channels_per_socket,
        max_speed_mts=max(support.speeds_mts),
        jedec_speeds=tuple(table.memory_types[memory_type].speeds_mts),
        standard_sizes=tuple(s * GIB for s in table.standard_sizes_gib),
        mixed_sizes=entry.mixed_sizes,
        reasons=(*reasons, kind_reason),
    )


def _from_array_max(dmi: DmiInfo, installed: Installed, table: SpecTable) -> BoardLimits | Unresolved:
    who = identity(dmi)
    array_max = dmi.array_max_bytes
    if array_max is None:
        msg = f"{who} is not in the spec table and dmidecode reports no array maximum (no type-16 record)"
        return Unresolved((msg,), NEEDS_BOARD)
    if dmi.total_installed_bytes > array_max:
        msg = (
            f"{who} is not in the spec table and dmidecode's array maximum is unreliable: "
            f"{format_gib(dmi.total_installed_bytes)} installed exceeds the reported maximum {format_gib(array_max)}"
        )
        check = PlanCheck(name="array_maximum_consistent", passed=False, detail=msg)
        return Unresolved((msg,), NEEDS_BOARD, checks=(check,))
    if installed.kind is None:
        need = "whether the installed DIMMs are UDIMM, RDIMM or LRDIMM (module label or BMC inventory)"
        return Unresolved((f"{who} is not in the spec table and the DIMM kind is {installed.kind_source}",), (need,))
    if installed.ecc is None:
        return Unresolved((f"{who} is not in the spec table and ECC is not reported",), ("ECC or not",))
    memory_type = installed.type or ""
    per_slot = _per_slot(table, installed, memory_type, installed.kind, None)
    max_bytes = min(array_max, dmi.slots_total * per_slot)
    dram_slots, free = _slot_counts(installed, dmi.slots_total)
    reason = (
        f"{who} is not in the spec table: using dmidecode's array maximum {format_gib(array_max)} as the board "
        f"maximum and its {dmi.slots_total} slots; the per-slot maximum is the largest {memory_type} "
        f"{installed.kind} sold ({format_gib(per_slot)}); the speed limit is the installed modules'"
    )
    return BoardLimits(
        board_id=None,
        board_name=who,
        source="dmidecode_array_max",
        type=memory_type,
        kind=installed.kind,
        ecc=installed.ecc,
        ecc_policy=None,
        slots_total=dmi.slots_total,
        dram_slots=dram_slots,
        free_slots=free,
        max_bytes=max_bytes,
        per_slot_bytes=per_slot,
        channel_step=_DEFAULT_CHANNEL_STEP,
        max_speed_mts=None,
        jedec_speeds=tuple(table.memory_types[memory_type].speeds_mts),
        standard_sizes=tuple(s * GIB for s in table.standard_sizes_gib),
        mixed_sizes=False,
        reasons=(reason, f"installed modules are {installed.kind} ({installed.kind_source})"),
    )


def resolve_limits(dmi: DmiInfo, installed: Installed, table: SpecTable) -> BoardLimits | Unresolved:
    """The machine's limits from its spec entry, else from dmidecode's array maximum, else why neither works."""
    if installed.type not in table.memory_types:
        shown = installed.type or "mixed or unreported"
        msg = f"installed memory type is {shown}; the spec table plans {'/'.join(table.memory_types)} only"
        return Unresolved((msg,), ("the DDR generation of the installed modules",))
    match = match_board(dmi, table)
    return _from_entry(dmi, installed, table, match) if match else _from_array_max(dmi, installed, table)
