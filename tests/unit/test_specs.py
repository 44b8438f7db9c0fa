"""The board/chipset spec table: it loads, validates, encodes the module limits, and matches real machines."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import truth_entries
from tools_server.hardware.specs import (
    SpecTable,
    decode_part_number,
    is_placeholder,
    load_spec_table,
    match_board,
    normalise_name,
    parse_spec_table,
)
from tools_server.parsers.dmidecode import DmiInfo, parse_dmidecode

SPECS_YAML = Path(__file__).resolve().parents[2] / "tools_server" / "hardware" / "specs.yaml"
DESKTOP_CHIPSETS = [
    "H310",
    "B360",
    "H370",
    "Z370",
    "Z390",
    "B365",
    "H410",
    "B460",
    "H470",
    "Z490",
    "H510",
    "B560",
    "H570",
    "Z590",
    "H610",
    "B660",
    "H670",
    "Z690",
    "B760",
    "H770",
    "Z790",
    "X299",
    "W480",
    "W580",
    "W680",
    "A320",
    "B350",
    "X370",
    "B450",
    "X470",
    "A520",
    "B550",
    "X570",
    "B650",
    "X670",
    "TRX40",
    "WRX80",
]
SERVER_CHIPSETS = ["C236", "C246", "C256", "C612", "C621", "C622", "C624", "C627", "C741"]
# What each real capture must match in the table (None: not in the table, the planner falls back or says unknown).
EXPECTED_MATCH: dict[str, tuple[str, str] | None] = {
    "asrockrack-b650d4u-ddr5-udimm-no-ecc.txt": None,
    "dell-poweredge-r660xs-ddr5-out-of-spec-dmidecode32.txt": ("dell-poweredge-r660xs", "system_product"),
    "dell-poweredge-r6615-ddr5-rdimm-12of12.txt": ("dell-poweredge-r6615", "system_product"),
    "dell-poweredge-r720-ddr3-rdimm-8of24.txt": ("dell-poweredge-r720", "system_product"),
    "dell-poweredge-r730-dmidecode212-mhz.txt": ("dell-poweredge-r730", "system_product"),
    "dell-poweredge-r740-ddr4-rdimm-16of24.txt": ("dell-poweredge-r740", "system_product"),
    "dell-poweredge-r7525-epyc-ddr4-8of32.txt": ("dell-poweredge-r7525", "system_product"),
    "dell-poweredge-t140-ddr4-udimm-ecc-1of4.txt": ("dell-poweredge-t140", "system_product"),
    "desktop-asus-b650m-ddr5-configured-above-max.txt": ("amd-b650", "chipset"),
    "desktop-gigabyte-x570-ddr4-ecc-udimm.txt": ("amd-x570", "chipset"),
    "desktop-intel-h61-ddr3-speed-unknown.txt": None,
    "fujitsu-primergy-rx2540-m4-ddr4.txt": ("fujitsu-primergy-rx2540-m4", "system_product"),
    "hp-proliant-dl360p-gen8-ddr3-4of24.txt": ("hpe-proliant-dl380p-gen8", "system_product"),
    "hpe-microserver-gen10-ddr4-udimm-ecc.txt": ("hpe-microserver-gen10", "system_product"),
    "hpe-proliant-dl380-gen10-ddr4-24of24-768g.txt": ("hpe-proliant-dl380-gen10", "system_product"),
    "hpe-proliant-dl380-gen11-ddr5-8of32.txt": ("hpe-proliant-dl380-gen11", "system_product"),
    "huawei-1288h-v5-ddr4-12of24.txt": ("huawei-2288h-v5", "system_product"),
    "huawei-rh2288h-v3-type-dram.txt": ("huawei-rh2288h-v3", "system_product"),
    "ibm-system-x3650-m3-type-other.txt": None,
    "inspur-nf5280m6-ddr4-16of32.txt": ("inspur-nf5280m6", "system_product"),
    "intel-s2600cw-ddr4-out-of-spec-dmidecode212.txt": ("intel-s2600cw", "board_product"),
    "laptop-dell-latitude-5420-t-memory-dmidecode37-gib.txt": None,
    "laptop-thinkpad-t470-ddr4-sodimm-1of2.txt": None,
    "laptop-zenbook-lpddr5-row-of-chips.txt": None,
    "lenovo-thinksystem-sr650-ddr4-16of24.txt": ("lenovo-thinksystem-sr650", "system_product"),
    "lenovo-thinksystem-sr650-v2-ddr4-12of32.txt": ("lenovo-thinksystem-sr650-v2", "system_product"),
    "supermicro-h12-epyc-ddr4-6of8.txt": ("supermicro-h12ssl", "board_product"),
    "supermicro-sys-2029u-ddr4-plus-optane-pmem.txt": ("supermicro-x11dpu", "board_product"),
    "supermicro-sys-751a-ddr5-rdimm-16of16.txt": ("supermicro-x13dai-t", "system_product"),
    "supermicro-x11dai-n-ddr4-odd-slot.txt": ("supermicro-x11dai-n", "board_product"),
    "talos-node-t17-only-ddr3-no-type16.txt": None,
    "vm-bochs.txt": None,
    "vm-qemu-q35.txt": None,
    "vm-redhat-kvm-12333mb.txt": None,
    "vm-redhat-kvm-two-devices.txt": None,
    "vm-vmware-128-slots-dangling-array-handle.txt": None,
}


@pytest.fixture(scope="module")
def table() -> SpecTable:
    return load_spec_table()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SPECS_YAML.read_text())
    return data


def _identity(system: str | None = None, board: str | None = None, *, system_maker: str = "Acme") -> DmiInfo:
    lines = ["# dmidecode 3.4", ""]
    if system is not None:
        lines += ["Handle 0x0001, DMI type 1, 27 bytes", "System Information"]
        lines += [f"\tManufacturer: {system_maker}", f"\tProduct Name: {system}", ""]
    if board is not None:
        lines += ["Handle 0x0002, DMI type 2, 15 bytes", "Base Board Information"]
        lines += ["\tManufacturer: Acme", f"\tProduct Name: {board}", ""]
    return parse_dmidecode("\n".join(lines))


def _entry_by_id(data: dict[str, Any], board_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(b for b in data["boards"] if b["id"] == board_id)
    return entry


# ------------------------------------------------------------------ the shipped table


def test_packaged_table_loads_and_is_cached(table: SpecTable) -> None:
    assert load_spec_table() is table
    assert len(table.boards) >= 80
    assert load_spec_table(SPECS_YAML) == table


@pytest.mark.parametrize("chipset", DESKTOP_CHIPSETS + SERVER_CHIPSETS)
def test_every_required_chipset_has_an_entry(table: SpecTable, chipset: str) -> None:
    owners = [b for b in table.boards if chipset in b.match.chipsets]
    assert len(owners) == 1, chipset
    assert owners[0].level in ("chipset", "platform")


def test_server_platforms_and_vendors_present(table: SpecTable) -> None:
    ids = {b.id for b in table.boards}
    assert {"amd-sp3", "amd-sp5", "intel-c620", "intel-c741", "intel-c612"} <= ids
    vendors = {b.vendor for b in table.boards}
    assert {"Dell", "HPE", "Supermicro", "Inspur", "Huawei", "Lenovo"} <= vendors


def test_every_entry_documents_its_source_and_confidence(table: SpecTable) -> None:
    for board in table.boards:
        assert len(board.source) > 20, board.id
        assert board.confidence in ("spec", "typical")
        assert board.memory and all(m.speeds_mts and m.kinds for m in board.memory)


def test_module_limits_are_data(table: SpecTable) -> None:
    limits = {name: t.max_module_gib for name, t in table.memory_types.items()}
    assert limits["DDR3"]["RDIMM"] == 32
    assert limits["DDR3"]["UDIMM"] == 8
    assert limits["DDR4"] == {"UDIMM": 32, "SO-DIMM": 32, "RDIMM": 64, "LRDIMM": 128}
    assert max(limits["DDR5"].values()) == 256
    assert table.standard_sizes_gib == [4, 8, 16, 32, 64, 128, 256]


def test_every_entry_fits_its_own_slots(table: SpecTable) -> None:
    for board in table.boards:
        assert board.board_max_gib <= board.slots * max(m.max_per_slot_gib for m in board.memory), board.id


# ------------------------------------------------------------------ validation


def _invalid(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        SpecTable.model_validate(data)
    return str(info.value)


def test_duplicate_id_is_rejected(raw: dict[str, Any]) -> None:
    raw["boards"].append(copy.deepcopy(_entry_by_id(raw, "intel-b460")))
    assert "duplicate id intel-b460" in _invalid(raw)


def test_duplicate_alias_is_rejected(raw: dict[str, Any]) -> None:
    twin = copy.deepcopy(_entry_by_id(raw, "dell-poweredge-r740"))
    twin["id"] = "dell-poweredge-r740-again"
    raw["boards"].append(twin)
    assert "PowerEdge R740" in _invalid(raw)


def test_non_jedec_speed_is_rejected(raw: dict[str, Any]) -> None:
    _entry_by_id(raw, "intel-z490")["memory"] = [
        {"type": "DDR4", "kinds": ["UDIMM"], "speeds_mts": [2933, 3600], "max_per_slot_gib": 32}
    ]
    assert "not JEDEC bins" in _invalid(raw)


def test_board_max_beyond_slots_is_rejected(raw: dict[str, Any]) -> None:
    _entry_by_id(raw, "intel-h310")["board_max_gib"] = 128
    assert "exceeds 2 slots x 32 GiB" in _invalid(raw)


def test_registered_without_ecc_is_rejected(raw: dict[str, Any]) -> None:
    _entry_by_id(raw, "dell-poweredge-r740")["ecc"] = "optional"
    assert "ecc must be 'required'" in _invalid(raw)


def test_unknown_memory_type_and_non_standard_slot_size_are_rejected(raw: dict[str, Any]) -> None:
    entry = _entry_by_id(raw, "intel-b560")
    entry["memory"] = [{"type": "DDR6", "kinds": ["UDIMM"], "speeds_mts": [8000], "max_per_slot_gib": 32}]
    assert "DDR6 is not in memory_types" in _invalid(raw)
    entry["memory"] = [{"type": "DDR4", "kinds": ["UDIMM"], "speeds_mts": [3200], "max_per_slot_gib": 48}]
    assert "48 is not a standard size" in _invalid(raw)


def test_bad_part_number_pattern_and_unknown_field_are_rejected(raw: dict[str, Any]) -> None:
    raw["part_number_kinds"].append({"pattern": "^M3(93", "kind": "RDIMM", "source": "broken"})
    assert "not a valid regular expression" in _invalid(raw)
    raw["part_number_kinds"].pop()
    _entry_by_id(raw, "amd-b550")["max_memory"] = 128
    assert "max_memory" in _invalid(raw)


def test_entry_without_names_is_rejected(raw: dict[str, Any]) -> None:
    _entry_by_id(raw, "supermicro-h12ssl")["match"] = {}
    assert "needs match.system_products or match.board_products" in _invalid(raw)


def test_load_spec_table_from_a_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["boards"] = [_entry_by_id(raw, "intel-b460")]
    path = tmp_path / "specs.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert [b.id for b in load_spec_table(path).boards] == ["intel-b460"]
    with pytest.raises(ValueError, match="YAML mapping"):
        parse_spec_table("- just\n- a list\n")


# ------------------------------------------------------------------ matching


def test_normalisation_ignores_case_punctuation_and_machine_types() -> None:
    assert normalise_name("ThinkSystem SR650 -[7X06CTO1WW]-") == "thinksystem sr650"
    assert normalise_name("  PowerEdge   R740 ") == "poweredge r740"
    assert normalise_name("-[7X06CTO1WW]-") == ""
    assert is_placeholder("To be filled by O.E.M.")
    assert is_placeholder("System Product Name")
    assert not is_placeholder("PowerEdge R740")


def test_system_product_wins_over_board_product(table: SpecTable) -> None:
    match = match_board(_identity("PowerEdge R740", "01YM03", system_maker="Dell Inc."), table)
    assert match is not None
    assert (match.entry.id, match.matched_by, match.value) == (
        "dell-poweredge-r740",
        "system_product",
        "PowerEdge R740",
    )
    match = match_board(_identity("poweredge r740XD", "X11DAi-N"), table)
    assert match is not None
    assert match.entry.id == "dell-poweredge-r740"


def test_board_product_match_is_case_insensitive(table: SpecTable) -> None:
    match = match_board(_identity("To be filled by O.E.M.", "x11dai-n"), table)
    assert match is not None
    assert (match.entry.id, match.matched_by) == ("supermicro-x11dai-n", "board_product")


@pytest.mark.parametrize(
    ("board", "expected"),
    [
        ("TUF GAMING B650M-PLUS WIFI", "amd-b650"),
        ("ROG STRIX B650E-F GAMING WIFI", "amd-b650"),
        ("X570 AORUS MASTER", "amd-x570"),
        ("H310CM-HDV/M.2", "intel-h310"),
        ("PRIME Z790-A", "intel-z790"),
        ("Pro WS WRX80E-SAGE SE WIFI", "amd-wrx80"),
        ("WS C246 PRO", "intel-c246"),
        ("B650D4U", None),
        ("X11SPi-TF", None),
        ("Standard PC (Q35 + ICH9, 2009)", None),
    ],
)
def test_chipset_is_matched_as_a_word(table: SpecTable, board: str, expected: str | None) -> None:
    match = match_board(_identity("System Product Name", board), table)
    assert (match.entry.id if match else None) == expected
    if match:
        assert match.matched_by == "chipset"


def test_placeholders_never_match(table: SpecTable) -> None:
    assert match_board(_identity("To be filled by O.E.M.", "Default string"), table) is None
    assert match_board(_identity(board="Not Specified"), table) is None


@pytest.mark.parametrize("entry", truth_entries("dmidecode"), ids=lambda e: e["file"])
def test_real_capture_matches_expected_entry(real_dir: Path, table: SpecTable, entry: dict[str, Any]) -> None:
    name = entry["file"].split("/", 1)[1]
    match = match_board(parse_dmidecode((real_dir / entry["file"]).read_text()), table)
    assert ((match.entry.id, match.matched_by) if match else None) == EXPECTED_MATCH[name]


def test_every_real_capture_has_an_expectation(real_dir: Path) -> None:
    assert {p.name for p in (real_dir / "dmidecode").iterdir()} == set(EXPECTED_MATCH)


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ("M393A4K40BB1-CRC", "RDIMM"),
        ("M386AAK40B40-CWD", "LRDIMM"),
        ("M391A1K43BB1-CRC", "UDIMM"),
        ("M471A1K43CB1-CTD", "SO-DIMM"),
        ("M321R4GA3BB6-CQKET", "RDIMM"),
        ("HMA84GR7JJR4N-WM  ", "RDIMM"),
        ("HMT31GR7BFR4A-H9", "RDIMM"),
        ("HMAA8GL7AMR4N-VK", "LRDIMM"),
        ("HMA81GS6CJR8N-VK", "SO-DIMM"),
        ("36ASF4G72PZ-2G6E1", "RDIMM"),
        ("MTA18ASF2G72PDZ-2G9E1", "RDIMM"),
        ("9ASF1G72AZ-2G3B1", "UDIMM"),
        ("36KSF1G72PZ-1G4K1", "RDIMM"),
        ("MTC20F2085S1RC56BG1", "RDIMM"),
        ("809083-091", None),
        ("NT4GC72B4NA1NL-CG", None),
        ("", None),
        (None, None),
    ],
)
def test_part_number_kinds(table: SpecTable, part: str | None, kind: str | None) -> None:
    assert decode_part_number(part, table) == kind
