"""dmidecode parser against the 36 real captures of ../shared and hand-written excerpts."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import truth_entries
from tools_server.parsers.dmidecode import combine_dmi, parse_dmidecode
from tools_server.parsers.dmidecode_units import infer_generation, parse_size, parse_speed
from tools_server.parsers.errors import ParseError

MIB = 1024**2
DMI_ENTRIES = truth_entries("dmidecode")


def _highest(printed: list[str]) -> int | None:
    numbers = [int(m.group()) for s in printed if (m := re.match(r"\d+", s))]
    return max(numbers, default=None)


def test_all_dmidecode_captures_are_listed(real_dir: Path) -> None:
    assert real_dir.is_dir()
    assert len(truth_entries("dmidecode")) == 36


@pytest.mark.parametrize("entry", DMI_ENTRIES, ids=lambda e: e["file"])
def test_real_capture_matches_truth(real_dir: Path, entry: dict[str, Any]) -> None:
    info = parse_dmidecode((real_dir / entry["file"]).read_text())
    populated = [m for m in info.modules if m.populated]

    expected_max = entry["max_capacity_mib"]
    assert info.array_max_bytes == (None if expected_max is None else expected_max * MIB)
    assert len(info.arrays) == entry["memory_arrays"]
    assert info.slots_total == entry["slots"]
    assert info.slots_declared == entry["slots_declared"]
    assert info.slots_populated == entry["populated_slots"]
    assert info.empty_slots == entry["empty_slots"]
    assert info.total_installed_bytes == entry["total_installed_mib"] * MIB
    if entry.get("volatile_dram_mib") is not None:
        assert info.volatile_installed_bytes == entry["volatile_dram_mib"] * MIB
    assert info.memory_types_printed == sorted(entry["memory_types"])
    assert sorted({m.type for m in populated if m.type}) == sorted(entry["memory_types"])
    assert max((m.speed_mts for m in populated if m.speed_mts), default=None) == _highest(entry["speed_max"])
    assert info.max_module_speed_mts == _highest(entry["speed_max"])
    configured = [m.configured_speed_mts for m in populated if m.configured_speed_mts]
    assert max(configured, default=None) == _highest(entry["speed_configured"])
    assert info.ecc == entry["ecc"]
    assert info.registered == entry["registered"]
    assert info.form_factors == sorted(entry["form_factors"])
    assert info.board_manufacturer == entry["board_manufacturer"]
    assert info.board_product == entry["board_product"]
    assert info.system_manufacturer == entry["system_manufacturer"]
    assert info.system_product == entry["system_product"]
    assert info.dmidecode_version == entry["dmidecode_version"]
    assert info.smbios_version == entry["smbios_version"]
    # speed_mts: highest configured speed, module speed where configured is Unknown.
    if configured:
        assert info.speed_mts is not None and info.speed_mts >= max(configured)
    for module in info.modules:
        assert module.part_number is None or module.part_number == module.part_number.strip()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dell-poweredge-r660xs-ddr5-out-of-spec-dmidecode32.txt", ["DDR5"]),
        ("intel-s2600cw-ddr4-out-of-spec-dmidecode212.txt", ["DDR4"]),
        ("huawei-rh2288h-v3-type-dram.txt", ["DDR4"]),
        ("ibm-system-x3650-m3-type-other.txt", ["DDR3"]),
    ],
)
def test_generation_inferred_from_generic_type(real_dir: Path, name: str, expected: list[str]) -> None:
    info = parse_dmidecode((real_dir / "dmidecode" / name).read_text())
    assert info.memory_types == expected
    assert info.memory_types_inferred is True
    assert all(m.type_inferred == expected[0] for m in info.modules if m.populated)


def test_vm_ram_is_not_given_a_generation(real_dir: Path) -> None:
    info = parse_dmidecode((real_dir / "dmidecode" / "vm-qemu-q35.txt").read_text())
    assert info.memory_types == ["RAM"]
    assert info.memory_types_inferred is False
    assert info.speed_mts is None


def test_optane_is_persistent_and_not_volatile(real_dir: Path) -> None:
    info = parse_dmidecode((real_dir / "dmidecode" / "supermicro-sys-2029u-ddr4-plus-optane-pmem.txt").read_text())
    pmem = [m for m in info.modules if m.persistent]
    assert len(pmem) == 8
    assert all(m.type == "Logical non-volatile device" and m.size_bytes == 129408 * MIB for m in pmem)
    assert info.volatile_installed_bytes == 128 * 1024**3


def test_speed_falls_back_to_module_speed_when_configured_missing(real_dir: Path) -> None:
    info = parse_dmidecode((real_dir / "dmidecode" / "ibm-system-x3650-m3-type-other.txt").read_text())
    assert info.speed_mts == 1333


def test_size_unknown_slot_is_not_populated(real_dir: Path) -> None:
    info = parse_dmidecode((real_dir / "dmidecode" / "supermicro-x11dai-n-ddr4-odd-slot.txt").read_text())
    odd = [m for m in info.modules if m.locator == "P1-DIMMB1"]
    assert len(odd) == 1
    assert odd[0].size_bytes is None and not odd[0].populated
    assert odd[0].part_number == "HMA84GR7JJR4N-WM"


def test_combine_fills_board_from_second_output(real_dir: Path) -> None:
    memory = parse_dmidecode((real_dir / "dmidecode" / "talos-node-t17-only-ddr3-no-type16.txt").read_text())
    board = parse_dmidecode(BOARD_ONLY)
    combined = combine_dmi(memory, board)
    assert (combined.system_manufacturer, combined.system_product) == ("Dell Inc.", "PowerEdge R740")
    assert (combined.board_manufacturer, combined.board_product) == ("Dell Inc.", "01YM03")
    assert combined.total_installed_bytes == memory.total_installed_bytes == 16 * 1024**3
    assert board.slots_total == 0 and board.modules == []


BOARD_ONLY = """# dmidecode 3.4
Getting SMBIOS data from sysfs.
SMBIOS 3.2.0 present.

Handle 0x0100, DMI type 1, 27 bytes
System Information
\tManufacturer: Dell Inc.
\tProduct Name: PowerEdge R740
\tSerial Number: --

Handle 0x0200, DMI type 2, 8 bytes
Base Board Information
\tManufacturer: Dell Inc.
\tProduct Name: 01YM03
\tFeatures:
\t\tBoard is a hosting board
"""

# dmidecode 3.2 on a DDR5 box: the type is "<OUT OF SPEC>", speed in MT/s, width 80.
INFER_EXCERPT = """# dmidecode 3.2
# SMBIOS implementations newer than version 3.2.0 are not
# fully supported by this version of dmidecode.
Getting SMBIOS data from sysfs.
SMBIOS 3.3.0 present.

Handle 0x1000, DMI type 16, 23 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: System Memory
\tError Correction Type: Multi-bit ECC
\tMaximum Capacity: 2 TB
\tNumber Of Devices: 2

Handle 0x1100, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x1000
\tTotal Width: 80 bits
\tData Width: 64 bits
\tSize: 32 GB
\tForm Factor: DIMM
\tLocator: A1   
\tBank Locator: Not Specified
\tType: <OUT OF SPEC>
\tType Detail: Synchronous Registered (Buffered)
\tSpeed: 4800 MT/s
\tPart Number: M321R4GA3BB6-CQKET   
\tConfigured Memory Speed: Unknown

Handle 0x1101, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x1000
\tTotal Width: Unknown
\tData Width: Unknown
\tSize: No Module Installed
\tForm Factor: Unknown
\tLocator: A2
\tType: Unknown
"""


def test_hand_written_excerpt_infers_ddr5() -> None:
    info = parse_dmidecode(INFER_EXCERPT)
    assert info.memory_types == ["DDR5"]
    assert info.memory_types_printed == ["<OUT OF SPEC>"]
    assert info.memory_types_inferred is True
    module = info.modules[0]
    assert (module.type, module.type_inferred) == ("<OUT OF SPEC>", "DDR5")
    assert module.locator == "A1"
    assert module.part_number == "M321R4GA3BB6-CQKET"
    assert module.registered and not module.persistent
    assert info.speed_mts == 4800  # configured is Unknown: module speed
    assert info.array_max_bytes == 2 * 1024**4
    assert (info.slots_total, info.slots_populated, info.empty_slots) == (2, 1, 1)
    assert info.ecc is True and info.registered is True
    assert info.dmidecode_version == "3.2" and info.smbios_version == "3.3.0"


def test_crlf_and_space_indentation_are_accepted() -> None:
    text = INFER_EXCERPT.replace("\t", "    ").replace("\n", "\r\n")
    assert parse_dmidecode(text).total_installed_bytes == 32 * 1024**3


def test_unregistered_is_not_registered() -> None:
    text = INFER_EXCERPT.replace("Registered (Buffered)", "Unbuffered (Unregistered)")
    assert parse_dmidecode(text).registered is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8192 MB", 8192 * MIB),
        ("32 GB", 32 * 1024**3),
        ("8 GiB", 8 * 1024**3),
        ("3 TB", 3 * 1024**4),
        ("2 TiB", 2 * 1024**4),
        ("512 KiB", 512 * 1024),
        ("64 kB", 64 * 1024),
        ("12333 MB", 12333 * MIB),
        ("No Module Installed", None),
        ("Unknown", None),
        ("Not Installed", None),
        (None, None),
    ],
)
def test_parse_size(value: str | None, expected: int | None) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2666 MT/s", 2666), ("2133 MHz", 2133), ("Unknown", None), ("0 MT/s", None), (None, None)],
)
def test_parse_speed(value: str | None, expected: int | None) -> None:
    assert parse_speed(value) == expected


@pytest.mark.parametrize(
    ("printed", "speed", "width", "expected"),
    [
        ("<OUT OF SPEC>", 4800, 80, "DDR5"),
        ("Other", None, 80, "DDR5"),
        ("DRAM", 5600, 64, "DDR5"),
        ("<OUT OF SPEC>", 2133, 72, "DDR4"),
        ("DRAM", 3200, 64, "DDR4"),
        ("Other", 1333, 72, "DDR3"),
        ("RAM", None, None, None),
        ("Unknown", 1866, 72, None),
        ("DDR4", 4800, 80, None),
        ("Logical non-volatile device", 2666, 72, None),
    ],
)
def test_infer_generation(printed: str, speed: int | None, width: int | None, expected: str | None) -> None:
    assert infer_generation(printed, speed, width) == expected


GARBAGE = [
    "",
    "   \n\n",
    "/dev/mem: Permission denied\n",
    "# dmidecode 3.3\n# No SMBIOS nor DMI entry point found, sorry.\n",
    "# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.2.0 present.\n",
    json.dumps({"Handle": "0x1000", "type": 17}),
    bytes(range(256)).decode("latin-1"),
    "sudo: dmidecode: command not found",
    "Handle 0x1100, DMI type 17, 92 bytes\nMemory Device\n\tArray Handle: 0x1000\n\tTotal Wid",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_dmidecode(text)


def test_parse_error_names_what_was_found() -> None:
    with pytest.raises(ParseError, match=r"DMI type.*'/dev/mem: Permission denied'"):
        parse_dmidecode("/dev/mem: Permission denied\n")


@pytest.mark.parametrize(
    "name", ["vm-vmware-128-slots-dangling-array-handle.txt", "dell-poweredge-r740-ddr4-rdimm-16of24.txt"]
)
def test_truncated_capture_parses_or_raises_parse_error(real_dir: Path, name: str) -> None:
    text = (real_dir / "dmidecode" / name).read_text()
    for cut in range(0, len(text), max(1, len(text) // 60)):
        with contextlib.suppress(ParseError):
            parse_dmidecode(text[:cut])
