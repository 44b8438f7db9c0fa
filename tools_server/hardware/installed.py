"""What is installed, read from dmidecode: DRAM modules, their generation, DIMM kind, ECC, speed and size."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools_server.hardware.models import DimmKind
from tools_server.hardware.specs import SpecTable, decode_part_number, normalise_name
from tools_server.parsers.dmidecode import DmiInfo, MemoryModule

# Hypervisor names as words of the system/board manufacturer or product.
_VM_MARKERS = (
    "qemu",
    "kvm",
    "vmware",
    "bochs",
    "virtualbox",
    "innotek gmbh",
    "xen",
    "hvm domu",
    "virtual machine",
    "openstack nova",
    "openstack compute",
    "google compute engine",
    "bhyve",
    "parallels virtual platform",
    "cloud hypervisor",
)
# Part numbers firmware prints for an empty slot.
_EMPTY_PART_NUMBERS = frozenset(
    {"", "not specified", "no dimm", "unknown", "empty", "none", "0000", "to be filled by o e m", "part number"}
)
_DETAIL_WORDS = re.compile(r"[A-Za-z-]+")


@dataclass(frozen=True)
class Installed:
    """The machine's installed DRAM as the planner needs it; None where dmidecode does not tell."""

    modules: tuple[MemoryModule, ...]
    persistent_count: int
    unreported: tuple[MemoryModule, ...]
    volatile_bytes: int
    type: str | None
    kind: DimmKind | None
    kind_source: str
    ecc: bool | None
    speed_mts: int | None
    speed_source: str
    sizes: tuple[int, ...]
    soldered: bool
    virtual_machine: str | None


def virtual_machine_name(dmi: DmiInfo) -> str | None:
    """The hypervisor-looking identity string ("QEMU", "VMware, Inc."), None on physical hardware."""
    for raw in (dmi.system_manufacturer, dmi.system_product, dmi.board_manufacturer, dmi.board_product):
        padded = f" {normalise_name(raw)} "
        if any(f" {marker} " in padded for marker in _VM_MARKERS):
            return raw
    return None


def _module_kind(module: MemoryModule, table: SpecTable) -> tuple[DimmKind | None, str]:
    if (module.form_factor or "").upper().replace("-", "") == "SODIMM":
        return "SO-DIMM", "form factor"
    words = set(_DETAIL_WORDS.findall(module.type_detail or ""))
    decoded = decode_part_number(module.part_number, table)
    if "LRDIMM" in words:
        return "LRDIMM", "Type Detail"
    if "Registered" in words:
        return ("LRDIMM", "part number") if decoded == "LRDIMM" else ("RDIMM", "Type Detail")
    if "Unbuffered" in words:
        return "UDIMM", "Type Detail"
    if decoded is not None:
        return decoded, f"part number {module.part_number.strip() if module.part_number else ''}"
    # Registered and load-reduced DIMMs are always 72-bit ECC parts, so a 64-bit DIMM is unbuffered.
    if module.total_width and module.data_width and module.total_width == module.data_width:
        return "UDIMM", "64-bit (non-ECC) width"
    return None, "not reported"


def _kind(modules: tuple[MemoryModule, ...], table: SpecTable) -> tuple[DimmKind | None, str]:
    found = [_module_kind(m, table) for m in modules]
    kinds = {kind for kind, _ in found}
    if len(kinds) == 1 and None not in kinds:
        sources = sorted({source for _, source in found})
        return found[0][0], ", ".join(sources) if len(sources) <= 2 else "Type Detail and part numbers"
    if None in kinds:
        return None, "not reported by dmidecode's Type Detail nor by a known part number"
    return None, f"mixed kinds installed: {', '.join(sorted(k for k in kinds if k))}"


def _speed(modules: tuple[MemoryModule, ...]) -> tuple[int | None, str]:
    rated = [m.speed_mts for m in modules if m.speed_mts]
    if rated and len(rated) == len(modules):
        return min(rated), "slowest installed module's rated speed"
    configured = [m.configured_speed_mts for m in modules if m.configured_speed_mts]
    if rated:
        return min(rated), "slowest rated speed among modules that report one"
    if configured:
        return min(configured), "configured speed (modules report no rated speed)"
    return None, "not reported"


def _ecc(dmi: DmiInfo, modules: tuple[MemoryModule, ...], kind: DimmKind | None) -> bool | None:
    if dmi.ecc is not None:
        return dmi.ecc
    if kind in ("RDIMM", "LRDIMM"):
        return True
    widths = [(m.total_width, m.data_width) for m in modules if m.total_width and m.data_width]
    return all(t > d for t, d in widths) if widths else None


def _unreported(dmi: DmiInfo) -> tuple[MemoryModule, ...]:
    # An "empty" slot that still names a part number may hold a module that failed or was disabled.
    return tuple(m for m in dmi.modules if not m.populated and normalise_name(m.part_number) not in _EMPTY_PART_NUMBERS)


def describe_installed(dmi: DmiInfo, table: SpecTable) -> Installed:
    """Summarise the populated DRAM (persistent memory excluded) of a parsed dmidecode."""
    populated = [m for m in dmi.modules if m.populated]
    modules = tuple(m for m in populated if not m.persistent)
    types = {m.type_inferred or m.type for m in modules}
    kind, kind_source = _kind(modules, table)
    speed, speed_source = _speed(modules)
    soldered = bool(modules) and any(
        (m.form_factor or "").lower() == "row of chips" or (m.type or "").upper().startswith("LPDDR") for m in modules
    )
    return Installed(
        modules=modules,
        persistent_count=len(populated) - len(modules),
        unreported=_unreported(dmi),
        volatile_bytes=sum(m.size_bytes or 0 for m in modules),
        type=types.pop() if len(types) == 1 else None,
        kind=kind,
        kind_source=kind_source,
        ecc=_ecc(dmi, modules, kind),
        speed_mts=speed,
        speed_source=speed_source,
        sizes=tuple(sorted({m.size_bytes or 0 for m in modules})),
        soldered=soldered,
        virtual_machine=virtual_machine_name(dmi),
    )
