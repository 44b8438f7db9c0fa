"""The upgrade planner on every real dmidecode capture (read in place) and on hand-made cases for each rule."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.plan_upgrade_cmd import add_plan_upgrade_parser, plan_upgrade_main
from tests.conftest import truth_entries
from tools_server.hardware import ModuleOrder, UpgradePlan, plan_upgrade, validate_plan
from tools_server.hardware.models import GIB
from tools_server.hardware.planner import VM_REASON
from tools_server.hardware.specs import SpecTable
from tools_server.parsers.dmidecode import DmiInfo, parse_dmidecode

DMI_ENTRIES = truth_entries("dmidecode")
SPECS_YAML = Path(__file__).resolve().parents[2] / "tools_server" / "hardware" / "specs.yaml"
_DETAIL = {
    "RDIMM": "Synchronous Registered (Buffered)",
    "LRDIMM": "Synchronous Registered (Buffered) LRDIMM",
    "UDIMM": "Synchronous Unbuffered (Unregistered)",
    "SO-DIMM": "Synchronous Unbuffered (Unregistered)",
    "PMEM": "Synchronous Non-Volatile",
}


@dataclass(frozen=True)
class Dimm:
    """One populated slot of a hand-made dmidecode capture."""

    gib: int
    type: str = "DDR4"
    kind: str = "RDIMM"
    speed: int | None = 2933
    ecc: bool = True
    detail: str | None = None
    part: str = "TEST-PART-1"
    form: str | None = None


def dmidecode_text(
    slots: list[Dimm | None],
    *,
    system: str = "PowerEdge R740",
    board: str = "01YM03",
    maker: str = "Dell Inc.",
    max_capacity: str | None = "3 TB",
    ecc: bool = True,
    empty_part: str = "Not Specified",
) -> str:
    """A small dmidecode dump (types 1, 2, 16, 17) in the layout of dmidecode 3.4."""
    out = ["# dmidecode 3.4", "Getting SMBIOS data from sysfs.", "SMBIOS 3.2.0 present.", ""]
    out += ["Handle 0x0100, DMI type 1, 27 bytes", "System Information", f"\tManufacturer: {maker}"]
    out += [f"\tProduct Name: {system}", "", "Handle 0x0200, DMI type 2, 15 bytes", "Base Board Information"]
    out += [f"\tManufacturer: {maker}", f"\tProduct Name: {board}", ""]
    if max_capacity is not None:
        out += [
            "Handle 0x1000, DMI type 16, 23 bytes",
            "Physical Memory Array",
            "\tLocation: System Board Or Motherboard",
        ]
        out += ["\tUse: System Memory", f"\tError Correction Type: {'Multi-bit ECC' if ecc else 'None'}"]
        out += [f"\tMaximum Capacity: {max_capacity}", f"\tNumber Of Devices: {len(slots)}", ""]
    for index, dimm in enumerate(slots):
        out += [f"Handle 0x{0x1100 + index:04X}, DMI type 17, 40 bytes", "Memory Device", "\tArray Handle: 0x1000"]
        if dimm is None:
            out += ["\tTotal Width: Unknown", "\tData Width: Unknown", "\tSize: No Module Installed"]
            out += ["\tForm Factor: DIMM", f"\tLocator: S{index}", "\tType: Unknown", "\tType Detail: Unknown"]
            out += [f"\tPart Number: {empty_part}", ""]
            continue
        persistent = dimm.kind == "PMEM"
        width = 72 if dimm.ecc else 64
        form = dimm.form or ("SODIMM" if dimm.kind == "SO-DIMM" else "DIMM")
        out += [f"\tTotal Width: {width} bits", "\tData Width: 64 bits", f"\tSize: {dimm.gib} GB"]
        out += [f"\tForm Factor: {form}", f"\tLocator: S{index}"]
        out += [f"\tType: {'Logical non-volatile device' if persistent else dimm.type}"]
        out += [f"\tType Detail: {dimm.detail or _DETAIL[dimm.kind]}"]
        if dimm.speed:
            out += [f"\tSpeed: {dimm.speed} MT/s"]
        out += [f"\tPart Number: {dimm.part}", ""]
    return "\n".join(out) + "\n"


def dmi(slots: list[Dimm | None], **kwargs: Any) -> DmiInfo:
    return parse_dmidecode(dmidecode_text(slots, **kwargs))


def t140(slots: list[Dimm | None], **kwargs: Any) -> DmiInfo:
    kwargs = {"system": "PowerEdge T140", "board": "0C2GT0", "max_capacity": "64 GB", **kwargs}
    return dmi(slots, **kwargs)


UDIMM8 = Dimm(8, kind="UDIMM", speed=2666)
RDIMM16 = Dimm(16)


def assert_sound(plan: UpgradePlan, info: DmiInfo) -> None:
    """Properties every plan must have, whatever the machine."""
    assert plan.summary
    assert plan.reasons
    if plan.action == "unknown_board":
        assert not plan.modules_to_add
        assert plan.resulting_bytes == plan.current_bytes
        return
    assert all(c.passed for c in plan.checks), [c for c in plan.checks if not c.passed]
    if plan.action == "keep":
        assert not plan.modules_to_add
        assert plan.resulting_bytes == plan.current_bytes
        return
    assert plan.board_max_bytes is not None
    assert plan.resulting_bytes <= plan.board_max_bytes
    (order,) = plan.modules_to_add
    populated = [m for m in info.modules if m.populated and not m.persistent]
    assert {order.type} == {m.type_inferred or m.type for m in populated}
    rated = [m.speed_mts or m.configured_speed_mts for m in populated]
    assert all(order.speed_mts <= (r or order.speed_mts) for r in rated)
    details = " ".join(m.type_detail or "" for m in populated)
    if "Unbuffered" in details:
        assert order.kind in ("UDIMM", "SO-DIMM")
    if "Registered" in details:
        assert order.kind in ("RDIMM", "LRDIMM")
    if plan.action == "add":
        assert not plan.modules_to_remove
        assert order.count <= plan.free_slots_before
        assert plan.resulting_bytes == plan.current_bytes + order.count * order.size_bytes
    else:
        assert plan.modules_to_remove
        assert plan.resulting_bytes == order.count * order.size_bytes
    assert plan.free_slots_after == plan.free_slots_before + len(plan.modules_to_remove) - order.count
    assert validate_plan(info, plan) == []


# ------------------------------------------------------------------ every real capture


@pytest.mark.parametrize("used", [95.0, 30.0])
@pytest.mark.parametrize("entry", DMI_ENTRIES, ids=lambda e: e["file"])
def test_real_capture_gives_a_sound_plan_or_explicit_unknown(
    real_dir: Path, entry: dict[str, Any], used: float
) -> None:
    info = parse_dmidecode((real_dir / entry["file"]).read_text())
    plan = plan_upgrade(info, used)
    assert_sound(plan, info)
    if plan.action == "unknown_board":
        assert plan.board_source == "unknown"
        assert plan.reasons[0]
    if used == 30.0:
        assert plan.action in ("keep", "unknown_board")
    assert UpgradePlan.model_validate_json(plan.model_dump_json()) == plan


def _real(real_dir: Path, name: str) -> DmiInfo:
    return parse_dmidecode((real_dir / "dmidecode" / name).read_text())


def test_r740_at_95_percent_adds_rdimms_of_the_installed_size(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "dell-poweredge-r740-ddr4-rdimm-16of24.txt"), 95)
    assert plan.action == "add"
    assert (plan.board, plan.board_source) == ("dell-poweredge-r740", "spec_table")
    (order,) = plan.modules_to_add
    assert (order.type, order.kind, order.ecc, order.size_bytes) == ("DDR4", "RDIMM", True, 16 * GIB)
    assert order.speed_mts == 2933
    assert order.count == 8  # 16 + 8 = 24 DIMMs: a multiple of 6 channels
    assert plan.resulting_bytes == 384 * GIB
    assert plan.summary == "add 8 × 16 GiB DDR4-2933 RDIMM ECC → 384 GiB of 1536 GiB max"
    assert any("7680 GiB" in r for r in plan.reasons)  # dmidecode's array maximum is reported, not used


@pytest.mark.parametrize("used", [71.0, 80.0, 95.0, 100.0])
def test_t140_udimm_ecc_never_gets_rdimms(real_dir: Path, used: float) -> None:
    plan = plan_upgrade(_real(real_dir, "dell-poweredge-t140-ddr4-udimm-ecc-1of4.txt"), used)
    assert plan.action in ("add", "replace")
    assert all((o.kind, o.ecc, o.type) == ("UDIMM", True, "DDR4") for o in plan.modules_to_add)
    assert plan.resulting_bytes <= 64 * GIB


@pytest.mark.parametrize("entry", [e for e in DMI_ENTRIES if "/vm-" in e["file"]], ids=lambda e: e["file"])
def test_virtual_machines_are_unknown_boards(real_dir: Path, entry: dict[str, Any]) -> None:
    plan = plan_upgrade(parse_dmidecode((real_dir / entry["file"]).read_text()), 95)
    assert plan.action == "unknown_board"
    assert plan.reasons[0] == VM_REASON
    assert "virtual machine" in plan.summary


def test_dl380_gen10_full_replaces_with_larger_modules(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "hpe-proliant-dl380-gen10-ddr4-24of24-768g.txt"), 95)
    assert plan.action == "replace"
    assert plan.free_slots_before == 0
    assert len(plan.modules_to_remove) == 24
    (order,) = plan.modules_to_add
    assert order.size_bytes > 32 * GIB
    assert order.kind == "RDIMM"
    assert any("0 free slots" in r for r in plan.reasons)


def test_b650d4u_array_maximum_is_unreliable(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "asrockrack-b650d4u-ddr5-udimm-no-ecc.txt"), 95)
    assert plan.action == "unknown_board"
    assert "array maximum is unreliable" in plan.reasons[0]
    assert "192 GiB installed exceeds the reported maximum 128 GiB" in plan.reasons[0]
    assert plan.needs
    assert [c.name for c in plan.checks if not c.passed] == ["array_maximum_consistent"]


def test_optane_is_excluded_from_capacity(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "supermicro-sys-2029u-ddr4-plus-optane-pmem.txt"), 95)
    assert plan.current_bytes == 128 * GIB
    assert plan.free_slots_before == 8
    assert any("persistent-memory" in r for r in plan.reasons)


def test_unknown_board_falls_back_to_array_maximum(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "desktop-intel-h61-ddr3-speed-unknown.txt"), 95)
    assert (plan.action, plan.board, plan.board_source) == ("add", None, "dmidecode_array_max")
    assert "array maximum 32 GiB" in " ".join(plan.reasons)
    assert plan.resulting_bytes <= 32 * GIB
    assert plan.modules_to_add[0].speed_mts == 1600  # configured speed: the modules report no rated speed


def test_unreported_module_slot_is_not_free(real_dir: Path) -> None:
    info = _real(real_dir, "supermicro-x11dai-n-ddr4-odd-slot.txt")
    plan = plan_upgrade(info, 95)
    assert info.empty_slots == 7
    assert plan.free_slots_before == 6
    assert any("P1-DIMMB1" in r for r in plan.reasons)


def test_kind_from_part_number_when_type_detail_is_silent(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "fujitsu-primergy-rx2540-m4-ddr4.txt"), 95)
    assert plan.modules_to_add[0].kind == "RDIMM"
    assert any("part number 36ASF4G72PZ" in r for r in plan.reasons)


def test_board_that_takes_two_kinds_needs_the_kind(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "intel-s2600cw-ddr4-out-of-spec-dmidecode212.txt"), 95)
    assert (plan.action, plan.board) == ("unknown_board", "intel-s2600cw")
    assert "RDIMM/LRDIMM" in plan.needs[0]


def test_soldered_memory_is_not_upgradeable(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "laptop-zenbook-lpddr5-row-of-chips.txt"), 95)
    assert plan.action == "unknown_board"
    assert "soldered" in plan.reasons[0]


def test_no_identity_and_no_array_maximum_says_what_it_needs(real_dir: Path) -> None:
    plan = plan_upgrade(_real(real_dir, "talos-node-t17-only-ddr3-no-type16.txt"), 95)
    assert plan.action == "unknown_board"
    assert "no array maximum" in plan.reasons[0]
    assert any("board or server model" in n for n in plan.needs)
    assert any("largest module per slot" in n for n in plan.needs)


# ------------------------------------------------------------------ hand-made: one rule each


def test_usage_within_target_keeps() -> None:
    info = dmi([RDIMM16] * 12 + [None] * 12)
    plan = plan_upgrade(info, 70.0)
    assert plan.action == "keep"
    assert plan.needed_bytes == plan.current_bytes == 192 * GIB
    assert plan.checks[0].name == "usage_within_target" and plan.checks[0].passed
    assert plan.board == "dell-poweredge-r740"
    assert "within the 70 % target" in plan.summary
    assert plan_upgrade(info, 0.0).action == "keep"


def test_needed_bytes_follow_the_target() -> None:
    plan = plan_upgrade(dmi([RDIMM16] * 12 + [None] * 12), 75.0, target_used_percent=60.0)
    assert plan.used_bytes == 144 * GIB
    assert plan.needed_bytes == 240 * GIB
    assert plan.resulting_bytes >= plan.needed_bytes
    assert plan.resulting_used_percent is not None and plan.resulting_used_percent <= 60.0


def test_add_rounds_up_to_a_multiple_of_channels() -> None:
    plan = plan_upgrade(dmi([RDIMM16] * 6 + [None] * 18), 80.0)  # needs 110 GiB: one module, rounded to six
    assert plan.action == "add"
    assert plan.modules_to_add[0].count == 6
    assert plan.resulting_bytes == 192 * GIB


def test_add_may_fill_every_slot_instead_of_a_channel_multiple() -> None:
    # Not in the table: pairs, but three slots filled is balanced too.
    info = dmi([UDIMM8, None, None], system="Foo 1", board="Bar 2", max_capacity="64 GB", ecc=False)
    plan = plan_upgrade(info, 100.0, target_used_percent=40.0)
    assert plan.action == "add"
    assert plan.modules_to_add[0].count == 2
    assert any(c.name == "channel_balance" and "all 3" in c.detail for c in plan.checks)


def test_no_free_slots_replaces_with_larger_modules() -> None:
    info = t140([UDIMM8] * 4)
    plan = plan_upgrade(info, 95.0)
    assert plan.action == "replace"
    assert [m.size_bytes for m in plan.modules_to_remove] == [8 * GIB] * 4
    assert plan.modules_to_add == [
        ModuleOrder(count=4, size_bytes=16 * GIB, type="DDR4", speed_mts=2666, kind="UDIMM", ecc=True)
    ]
    assert plan.summary == "replace 4 × 8 GiB with 4 × 16 GiB DDR4-2666 UDIMM ECC → 64 GiB of 64 GiB max"
    assert_sound(plan, info)


def test_board_and_per_slot_maximum_bound_the_plan() -> None:
    plan = plan_upgrade(t140([Dimm(16, kind="UDIMM", speed=2666)] * 4), 95.0)
    assert plan.action == "keep"
    assert "no upgrade fits" in plan.summary
    assert not plan.checks[0].passed


def test_target_out_of_reach_goes_as_far_as_the_board_allows() -> None:
    info = t140([Dimm(16, kind="UDIMM", speed=2666)] * 2 + [None] * 2)
    plan = plan_upgrade(info, 100.0, target_used_percent=40.0)
    assert plan.action == "add"
    assert plan.resulting_bytes == 64 * GIB
    assert any("out of reach" in r for r in plan.reasons)
    assert_sound(plan, info)


def test_type_stays_the_installed_generation() -> None:
    ddr3 = Dimm(8, type="DDR3", speed=1333)
    plan = plan_upgrade(dmi([ddr3] * 8 + [None] * 16, system="PowerEdge R720", max_capacity="1536 GB"), 95.0)
    assert {o.type for o in plan.modules_to_add} == {"DDR3"}
    assert plan.modules_to_add[0].speed_mts == 1333


@pytest.mark.parametrize(("installed", "expected"), [(3200, 2666), (2400, 2400), (2667, 2666)])
def test_speed_is_never_above_board_or_installed(installed: int, expected: int) -> None:
    plan = plan_upgrade(t140([Dimm(8, kind="UDIMM", speed=installed)] + [None] * 3), 95.0)
    assert plan.modules_to_add[0].speed_mts == expected


def test_lrdimm_stays_lrdimm_with_its_own_slot_limit() -> None:
    plan = plan_upgrade(dmi([Dimm(128, kind="LRDIMM")] * 24), 95.0)
    assert plan.action == "keep"  # 24 x 128 GiB is the R740's 3 TiB
    plan = plan_upgrade(dmi([Dimm(64, kind="LRDIMM")] * 24), 95.0)
    assert plan.action == "replace"
    assert plan.modules_to_add[0].kind == "LRDIMM"
    assert plan.modules_to_add[0].size_bytes == 128 * GIB


def test_installed_kind_the_entry_does_not_take_is_a_contradiction() -> None:
    plan = plan_upgrade(t140([RDIMM16] + [None] * 3), 95.0)
    assert plan.action == "unknown_board"
    assert "lists only UDIMM" in plan.reasons[0]


def test_non_ecc_modules_on_an_ecc_only_board_are_a_contradiction() -> None:
    plan = plan_upgrade(t140([Dimm(8, kind="UDIMM", ecc=False, speed=2666)] + [None] * 3, ecc=False), 95.0)
    assert plan.action == "unknown_board"
    assert "ECC required" in plan.reasons[0]


def test_ecc_follows_the_installed_modules_on_optional_boards() -> None:
    plain = Dimm(16, kind="UDIMM", ecc=False, speed=3200)
    plan = plan_upgrade(
        dmi(
            [plain, None, plain, None],
            system="X570 AORUS ELITE",
            board="X570 AORUS ELITE",
            maker="Gigabyte",
            max_capacity="128 GB",
            ecc=False,
        ),
        95.0,
    )
    assert (plan.board, plan.modules_to_add[0].ecc) == ("amd-x570", False)


def test_vmware_guest_is_a_virtual_machine() -> None:
    plan = plan_upgrade(
        dmi(
            [Dimm(4, type="DRAM", speed=None)],
            system="VMware Virtual Platform",
            maker="VMware, Inc.",
            board="440BX Desktop Reference Platform",
        ),
        99.0,
    )
    assert plan.reasons[0] == VM_REASON


def test_persistent_memory_keeps_its_slots_and_is_not_capacity() -> None:
    info = dmi([RDIMM16] * 6 + [Dimm(128, kind="PMEM")] * 6 + [None] * 12)
    plan = plan_upgrade(info, 95.0)
    assert plan.current_bytes == 96 * GIB
    assert plan.free_slots_before == 12
    assert plan.modules_to_add[0].size_bytes == 16 * GIB
    assert_sound(plan, info)


def test_array_maximum_fallback_is_said_and_respected() -> None:
    info = dmi([UDIMM8, None], system="Foo 1", board="Bar 2", max_capacity="16 GB")
    plan = plan_upgrade(info, 100.0, target_used_percent=40.0)
    assert (plan.action, plan.board_source) == ("add", "dmidecode_array_max")
    assert "not in the spec table: using dmidecode's array maximum 16 GiB" in " ".join(plan.reasons)
    assert plan.resulting_bytes == 16 * GIB
    assert any("out of reach" in r for r in plan.reasons)
    assert_sound(plan, info)


def test_no_unbalanced_plan_even_below_the_maximum() -> None:
    # A third 8 GiB DIMM would fit 24 GiB but leave one channel short; two would exceed it.
    info = dmi([UDIMM8] * 2 + [None] * 2, system="Foo 1", board="Bar 2", max_capacity="24 GB")
    plan = plan_upgrade(info, 100.0, target_used_percent=50.0)
    assert plan.action == "keep"
    assert plan.summary.startswith("keep 16 GiB: no upgrade fits")


def test_array_maximum_below_installed_is_unreliable() -> None:
    plan = plan_upgrade(dmi([RDIMM16] * 4, system="Foo 1", board="Bar 2", max_capacity="32 GB"), 95.0)
    assert plan.action == "unknown_board"
    assert "unreliable" in plan.reasons[0]


def test_unknown_board_without_array_maximum_needs_the_model() -> None:
    plan = plan_upgrade(dmi([RDIMM16] * 4, system="Foo 1", board="Bar 2", max_capacity=None), 95.0)
    assert plan.action == "unknown_board"
    assert len(plan.needs) == 4


def test_kind_unknown_on_a_board_that_takes_one_kind_uses_it() -> None:
    silent = Dimm(8, kind="UDIMM", speed=2666, detail="Synchronous", part="Not Specified")
    plan = plan_upgrade(t140([silent] + [None] * 3), 95.0)
    assert plan.modules_to_add[0].kind == "UDIMM"
    assert any("takes only UDIMM" in r for r in plan.reasons)


def test_non_power_of_two_modules_are_replaced_not_matched() -> None:
    plan = plan_upgrade(dmi([Dimm(24)] * 12 + [None] * 12), 95.0)
    assert plan.action == "replace"
    assert plan.modules_to_add[0].size_bytes in (32 * GIB, 64 * GIB)


def _table_with(change: dict[str, Any]) -> SpecTable:
    data: dict[str, Any] = yaml.safe_load(SPECS_YAML.read_text())
    for board in data["boards"]:
        if board["id"] == "dell-poweredge-t140":
            board.update(change)
    return SpecTable.model_validate(data)


def test_mixed_sizes_only_when_the_entry_allows_them() -> None:
    info = t140([UDIMM8] * 3 + [None])
    default = plan_upgrade(info, 95.0, target_used_percent=60.0)  # 38 GiB needed, one free slot
    assert default.action == "replace"
    table = _table_with({"mixed_sizes": True})
    mixed = plan_upgrade(info, 95.0, target_used_percent=60.0, table=table)
    assert mixed.action == "add"
    assert mixed.modules_to_add[0].size_bytes == 16 * GIB
    assert validate_plan(info, mixed, table=table) == []
    assert any(p.startswith("sizes_match") for p in validate_plan(info, mixed))


def test_module_size_limits_come_from_the_data_file() -> None:
    info = dmi([UDIMM8] * 2, system="Foo 1", board="Bar 2", max_capacity="64 GB")
    plan = plan_upgrade(info, 100.0, target_used_percent=30.0)
    assert plan.modules_to_add[0].size_bytes == 32 * GIB  # the largest DDR4 UDIMM in specs.yaml
    data: dict[str, Any] = yaml.safe_load(SPECS_YAML.read_text())
    data["memory_types"]["DDR4"]["max_module_gib"]["UDIMM"] = 16
    table = SpecTable.model_validate(data)
    plan = plan_upgrade(info, 100.0, target_used_percent=30.0, table=table)
    assert plan.modules_to_add[0].size_bytes == 16 * GIB
    assert plan.resulting_bytes == 32 * GIB


def test_percentages_are_validated() -> None:
    info = t140([UDIMM8])
    for used, target in ((101.0, 70.0), (-1.0, 70.0), (float("nan"), 70.0), (50.0, 0.0)):
        with pytest.raises(ValueError, match="percentage"):
            plan_upgrade(info, used, target_used_percent=target)


# ------------------------------------------------------------------ validate_plan on edited plans


@pytest.fixture
def r740() -> tuple[DmiInfo, UpgradePlan]:
    info = dmi([RDIMM16] * 12 + [None] * 12)
    return info, plan_upgrade(info, 95.0)


def _edit(plan: UpgradePlan, **order: Any) -> UpgradePlan:
    new = plan.modules_to_add[0].model_copy(update=order)
    added = new.count * new.size_bytes
    return plan.model_copy(
        update={
            "modules_to_add": [new],
            "resulting_bytes": plan.current_bytes + added,
            "free_slots_after": plan.free_slots_before - new.count,
        }
    )


def test_planner_output_validates(r740: tuple[DmiInfo, UpgradePlan]) -> None:
    info, plan = r740
    assert plan.action == "add" and plan.modules_to_add[0].count == 6
    assert validate_plan(info, plan) == []
    assert validate_plan(info, _edit(plan, count=12)) == []  # a human filling every slot is fine


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"count": 13}, "free_slots"),
        ({"count": 7}, "channel_balance"),
        ({"kind": "UDIMM"}, "kind_matches_installed"),
        ({"kind": "LRDIMM"}, "kind_matches_installed"),
        ({"type": "DDR5"}, "type_matches_installed"),
        ({"ecc": False}, "ecc_matches_installed"),
        ({"speed_mts": 3200}, "speed_within_limits"),
        ({"size_bytes": 128 * GIB}, "per_slot_maximum"),
        ({"size_bytes": 48 * GIB}, "per_slot_maximum"),
        ({"size_bytes": 32 * GIB}, "sizes_match"),
    ],
)
def test_edited_plan_problems(r740: tuple[DmiInfo, UpgradePlan], edit: dict[str, Any], problem: str) -> None:
    info, plan = r740
    problems = validate_plan(info, _edit(plan, **edit))
    assert any(p.startswith(problem) for p in problems), problems


def test_edited_plan_with_wrong_arithmetic(r740: tuple[DmiInfo, UpgradePlan]) -> None:
    info, plan = r740
    problems = validate_plan(info, plan.model_copy(update={"resulting_bytes": plan.resulting_bytes + GIB}))
    assert any(p.startswith("capacity_arithmetic") for p in problems)
    problems = validate_plan(info, plan.model_copy(update={"free_slots_after": 0}))
    assert any(p.startswith("free_slots_after") for p in problems)
    problems = validate_plan(info, plan.model_copy(update={"board": "dell-poweredge-r640"}))
    assert any("machine matches dell-poweredge-r740" in p for p in problems)


def test_keep_and_unknown_plans_order_nothing(r740: tuple[DmiInfo, UpgradePlan]) -> None:
    info, plan = r740
    keep = plan.model_copy(update={"action": "keep"})
    assert any("must not add or remove" in p for p in validate_plan(info, keep))
    kept = plan_upgrade(info, 10.0)
    assert validate_plan(info, kept) == []


def test_replace_must_remove_installed_modules() -> None:
    info = t140([UDIMM8] * 4)
    plan = plan_upgrade(info, 95.0)
    bogus = plan.modules_to_remove[0].model_copy(update={"locator": "Z9"})
    problems = validate_plan(info, plan.model_copy(update={"modules_to_remove": [bogus, *plan.modules_to_remove[1:]]}))
    assert any(p.startswith("removed_modules_installed") for p in problems)
    add_shaped = plan.model_copy(update={"action": "add"})
    assert any(p.startswith("plan_shape") for p in validate_plan(info, add_shaped))


# ------------------------------------------------------------------ CLI


def test_cli_prints_the_plan_as_json(real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="opswatchdog")
    add_plan_upgrade_parser(parser.add_subparsers(dest="command", required=True))
    capture = real_dir / "dmidecode" / "dell-poweredge-r740-ddr4-rdimm-16of24.txt"
    args = parser.parse_args(["plan-upgrade", "--dmidecode", str(capture), "--memory-used-percent", "95"])
    assert args.func is plan_upgrade_main
    assert plan_upgrade_main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "add"
    assert out["board"] == "dell-poweredge-r740"
    assert UpgradePlan.model_validate(out).modules_to_add[0].kind == "RDIMM"


def test_cli_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.txt"
    assert plan_upgrade_main(argparse.Namespace(dmidecode=str(missing), memory_used_percent=90.0)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"cannot read dmidecode file {missing}: No such file or directory" in captured.err


def test_cli_non_dmidecode_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("total used free\n")
    assert plan_upgrade_main(argparse.Namespace(dmidecode=str(garbage), memory_used_percent=90.0)) == 2
    assert f"{garbage} is not dmidecode output" in capsys.readouterr().err


def test_cli_invalid_spec_table_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "specs.yaml"
    specs.write_text("schema_version: 1\n")
    capture = tmp_path / "t140.txt"
    capture.write_text(dmidecode_text([UDIMM8], system="PowerEdge T140", max_capacity="64 GB"))
    args = argparse.Namespace(dmidecode=str(capture), memory_used_percent=90.0, specs=specs)
    assert plan_upgrade_main(args) == 2
    assert f"spec table {specs} is invalid" in capsys.readouterr().err


def test_cli_rejects_percentages_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="opswatchdog")
    add_plan_upgrade_parser(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["plan-upgrade", "--dmidecode", "x", "--memory-used-percent", "140"])
    assert info.value.code == 2
    assert "percentage from 0 to 100" in capsys.readouterr().err
