"""Parse dmidecode text (types 1, 2, 16, 17) into a typed summary of the machine's memory and board."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from tools_server.parsers.dmidecode_units import infer_generation, parse_size, parse_speed, parse_width
from tools_server.parsers.errors import ParseError

_HANDLE_RE = re.compile(r"^Handle (0x[0-9A-Fa-f]+), DMI type (\d+)\b")
_HEX_RE = re.compile(r"^0x[0-9A-Fa-f]+$")
_VERSION_RE = re.compile(r"^# dmidecode (\S+)")
_SMBIOS_RE = re.compile(r"^SMBIOS (\S+) present")
_ECC_KINDS = frozenset({"Single-bit ECC", "Multi-bit ECC", "CRC"})
# "Unbuffered (Unregistered)" must not count, so Type Detail is compared word by word.
_REGISTERED_WORDS = frozenset({"Registered", "LRDIMM"})
_PERSISTENT_TYPE = "Logical non-volatile device"


class MemoryArray(BaseModel):
    """One type-16 Physical Memory Array record."""

    model_config = ConfigDict(frozen=True)

    handle: str
    use: str | None
    location: str | None
    ecc_type: str | None
    max_bytes: int | None
    slots_declared: int | None


class MemoryModule(BaseModel):
    """One type-17 Memory Device record (a slot, populated or not)."""

    model_config = ConfigDict(frozen=True)

    handle: str
    array_handle: str | None
    locator: str | None
    bank_locator: str | None
    size_bytes: int | None
    populated: bool
    type: str | None
    type_inferred: str | None
    type_detail: str | None
    memory_technology: str | None
    speed_mts: int | None
    configured_speed_mts: int | None
    form_factor: str | None
    manufacturer: str | None
    part_number: str | None
    total_width: int | None
    data_width: int | None
    registered: bool
    persistent: bool


class DmiInfo(BaseModel):
    """Memory layout, board and system identity read from dmidecode; field meanings follow MANIFEST.md."""

    model_config = ConfigDict(frozen=True)

    dmidecode_version: str | None
    smbios_version: str | None
    system_manufacturer: str | None
    system_product: str | None
    board_manufacturer: str | None
    board_product: str | None
    arrays: list[MemoryArray]
    array_max_bytes: int | None
    slots_declared: int
    slots_total: int
    slots_populated: int
    empty_slots: int
    total_installed_bytes: int
    volatile_installed_bytes: int
    memory_types: list[str]
    memory_types_printed: list[str]
    memory_types_inferred: bool
    speed_mts: int | None
    max_module_speed_mts: int | None
    ecc: bool | None
    registered: bool | None
    form_factors: list[str]
    modules: list[MemoryModule]


@dataclass
class _Record:
    handle: str
    dmi_type: int
    fields: dict[str, str] = field(default_factory=dict)
    indent: int | None = None


def _normalise_handle(raw: str) -> str:
    # Upper-case, zero-padded, so "0x1a" in one record matches "0x001A" in another.
    return f"0x{int(raw, 16):04X}" if _HEX_RE.match(raw) else raw


def _split_records(text: str) -> tuple[list[_Record], str | None, str | None]:
    records: list[_Record] = []
    version: str | None = None
    smbios: str | None = None
    current: _Record | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        handle = _HANDLE_RE.match(line)
        if handle:
            current = _Record(_normalise_handle(handle.group(1)), int(handle.group(2)))
            records.append(current)
            continue
        if current is None:
            version = version or _group(_VERSION_RE, line)
            smbios = smbios or _group(_SMBIOS_RE, line)
            continue
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if indent == 0:
            continue  # the record's title line, e.g. "Memory Device"
        if current.indent is None:
            current.indent = indent
        # Deeper lines are list items ("Characteristics:") or hex dumps, never the fields read here.
        if indent != current.indent:
            continue
        key, sep, value = stripped.partition(":")
        if sep:
            current.fields.setdefault(key.strip(), value.strip())
    return records, version, smbios


def _group(pattern: re.Pattern[str], line: str) -> str | None:
    match = pattern.match(line)
    return match.group(1) if match else None


def _text(fields: dict[str, str], key: str) -> str | None:
    value = fields.get(key)
    return value if value else None


def _to_int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdecimal() else None


def _array(record: _Record) -> MemoryArray:
    f = record.fields
    return MemoryArray(
        handle=record.handle,
        use=_text(f, "Use"),
        location=_text(f, "Location"),
        ecc_type=_text(f, "Error Correction Type"),
        max_bytes=parse_size(f.get("Maximum Capacity")),
        slots_declared=_to_int(f.get("Number Of Devices")),
    )


def _module(record: _Record) -> MemoryModule:
    f = record.fields
    if "Size" not in f:
        msg = (
            f"dmidecode type-17 record {record.handle} has no 'Size' line: the output looks truncated "
            "or undecoded (-u); run plain `dmidecode -t memory`"
        )
        raise ParseError(msg)
    size = parse_size(f["Size"])
    printed_type = _text(f, "Type")
    detail = _text(f, "Type Detail")
    detail_words = set(re.findall(r"[A-Za-z-]+", detail or ""))
    technology = _text(f, "Memory Technology")
    speed = parse_speed(f.get("Speed"))
    # dmidecode 2.x calls it "Configured Clock Speed" (and prints MHz); later versions "Configured Memory Speed".
    configured = parse_speed(f.get("Configured Memory Speed") or f.get("Configured Clock Speed"))
    total_width = parse_width(f.get("Total Width"))
    persistent = printed_type == _PERSISTENT_TYPE or "Non-Volatile" in detail_words
    if technology is not None:
        persistent = persistent or "persistent" in technology.lower() or technology.startswith("NVDIMM")
    array_handle = _text(f, "Array Handle")
    return MemoryModule(
        handle=record.handle,
        array_handle=_normalise_handle(array_handle) if array_handle else None,
        locator=_text(f, "Locator"),
        bank_locator=_text(f, "Bank Locator"),
        size_bytes=size,
        populated=bool(size),
        type=printed_type,
        type_inferred=infer_generation(printed_type, speed or configured, total_width),
        type_detail=detail,
        memory_technology=technology,
        speed_mts=speed,
        configured_speed_mts=configured,
        form_factor=_text(f, "Form Factor"),
        manufacturer=_text(f, "Manufacturer"),
        part_number=_text(f, "Part Number"),
        total_width=total_width,
        data_width=parse_width(f.get("Data Width")),
        registered=bool(detail_words & _REGISTERED_WORDS),
        persistent=persistent,
    )


def _ecc(system_arrays: list[MemoryArray], populated: list[MemoryModule]) -> bool | None:
    kinds = {a.ecc_type for a in system_arrays}
    if kinds & _ECC_KINDS:
        return True
    if "None" in kinds:
        return False
    # Without an array record (e.g. `dmidecode -t 17`), extra check bits are the only ECC evidence.
    widths = [(m.total_width, m.data_width) for m in populated if m.total_width and m.data_width]
    if not widths:
        return None
    return all(total > data for total, data in widths)


def _first(records: list[_Record], dmi_type: int, key: str) -> str | None:
    for record in records:
        if record.dmi_type == dmi_type:
            return _text(record.fields, key)
    return None


def _describe_start(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return "empty input"
    return repr(first[:80] + ("..." if len(first) > 80 else ""))


def parse_dmidecode(text: str) -> DmiInfo:
    """Parse `dmidecode` text (full dump, `-t memory`, `-t 17`, `-t baseboard -t system`) into DmiInfo."""
    records, version, smbios = _split_records(text)
    if not records:
        msg = (
            "expected dmidecode output with at least one 'Handle 0x..., DMI type N' record, "
            f"found {_describe_start(text)}"
        )
        raise ParseError(msg)
    arrays = [_array(r) for r in records if r.dmi_type == 16]
    all_array_handles = {a.handle for a in arrays}
    system_arrays = [a for a in arrays if (a.use or "").lower() == "system memory"]
    system_handles = {a.handle for a in system_arrays}
    # A slot belongs to a System Memory array, or to no array in the output (VMware, `-t 17`).
    modules = [
        m
        for m in (_module(r) for r in records if r.dmi_type == 17)
        if m.array_handle in system_handles or m.array_handle not in all_array_handles
    ]
    populated = [m for m in modules if m.populated]
    known_max = [a.max_bytes for a in system_arrays if a.max_bytes is not None]
    effective_speeds = [s for m in populated if (s := m.configured_speed_mts or m.speed_mts)]
    module_speeds = [m.speed_mts for m in populated if m.speed_mts]
    return DmiInfo(
        dmidecode_version=version,
        smbios_version=smbios,
        system_manufacturer=_first(records, 1, "Manufacturer"),
        system_product=_first(records, 1, "Product Name"),
        board_manufacturer=_first(records, 2, "Manufacturer"),
        board_product=_first(records, 2, "Product Name"),
        arrays=arrays,
        array_max_bytes=sum(known_max) if known_max else None,
        slots_declared=sum(a.slots_declared or 0 for a in system_arrays),
        slots_total=len(modules),
        slots_populated=len(populated),
        empty_slots=len(modules) - len(populated),
        total_installed_bytes=sum(m.size_bytes or 0 for m in populated),
        volatile_installed_bytes=sum(m.size_bytes or 0 for m in populated if not m.persistent),
        memory_types=sorted({m.type_inferred or m.type for m in populated if m.type}),
        memory_types_printed=sorted({m.type for m in populated if m.type}),
        memory_types_inferred=any(m.type_inferred for m in populated),
        speed_mts=max(effective_speeds, default=None),
        max_module_speed_mts=max(module_speeds, default=None),
        ecc=_ecc(system_arrays, populated),
        registered=any(m.registered for m in populated) if populated else None,
        form_factors=sorted({m.form_factor for m in populated if m.form_factor}),
        modules=modules,
    )


def combine_dmi(memory: DmiInfo, board: DmiInfo) -> DmiInfo:
    """Memory facts from `memory` with system and board identity taken from `board` where it has them."""
    names = (
        "system_manufacturer",
        "system_product",
        "board_manufacturer",
        "board_product",
        "dmidecode_version",
        "smbios_version",
    )
    update = {name: getattr(board, name) for name in names if getattr(board, name) is not None}
    return memory.model_copy(update=update)
