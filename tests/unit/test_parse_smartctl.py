"""smartctl parser against the 27 real captures and their ground truth, plus hand-written edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import truth_entries
from tools_server.parsers.errors import ParseError
from tools_server.parsers.smartctl import SmartReport, parse_smartctl
from tools_server.parsers.smartctl_text import first_int, grouped_int

SMARTCTL = truth_entries("smartctl")


def _load(real_dir: Path, name: str) -> SmartReport:
    return parse_smartctl((real_dir / "smartctl" / name).read_text(encoding="utf-8"))


def test_truth_has_every_capture(real_dir: Path, truth: list[dict[str, Any]]) -> None:
    kinds = [e["kind"] for e in truth]
    assert kinds.count("smartctl") == 27
    assert kinds.count("lsblk") == 4
    assert len(SMARTCTL) == 27
    assert all((real_dir / e["file"]).is_file() for e in truth)


@pytest.mark.parametrize("entry", SMARTCTL, ids=lambda e: e["file"])
def test_matches_truth(real_dir: Path, entry: dict[str, Any]) -> None:
    report = parse_smartctl((real_dir / entry["file"]).read_text(encoding="utf-8"))
    health = None if report.health_passed is None else "PASSED" if report.health_passed else "FAILED"
    got = {
        "format": report.source_format,
        "smartctl_version": report.smartctl_version,
        "protocol": report.protocol,
        "device_model": report.model,
        "serial_present": report.serial is not None,
        "health": health,
        "reallocated_sectors": report.reallocated_sectors,
        "pending_sectors": report.pending_sectors,
        "grown_defects": report.grown_defects,
        "nvme_critical_warning": report.nvme_critical_warning,
        "percentage_used": report.percentage_used,
        "capacity_bytes": report.capacity_bytes,
        "temperature_c": report.temperature_c,
        "power_on_hours": report.power_on_hours,
        "exit_status": report.exit_status,
    }
    assert got == {key: entry[key] for key in got}


def test_ata_a_layout_attribute_table(real_dir: Path) -> None:
    report = _load(real_dir, "ata-hdd-hgst-hus724040ale640-megaraid-a.txt")
    attrs = {a.id: a for a in report.attributes}
    assert len(attrs) == 17
    temp = attrs[194]
    assert (temp.name, temp.value, temp.worst, temp.thresh) == ("Temperature_Celsius", 181, 181, 0)
    assert (temp.raw_string, temp.raw_value, temp.when_failed) == ("33 (Min/Max 17/49)", 33, None)
    assert attrs[3].raw_value == 594  # "594 (Average 594)"
    assert report.smart_supported is True and report.smart_available is True


def test_ata_x_layout_fail_now_and_name_variants(real_dir: Path) -> None:
    pm863 = _load(real_dir, "ata-ssd-samsung-pm863-mz7lm240-failed-realloc-x.txt")
    assert pm863.failing_attributes == [
        "Reallocated_Sector_Ct",
        "Used_Rsvd_Blk_Cnt_Tot",
        "Unused_Rsvd_Blk_Cnt_Tot",
        "Runtime_Bad_Block",
    ]
    crucial = _load(real_dir, "ata-ssd-crucial-mx200-failed-lifetime-attr202-x.txt")
    assert crucial.failing_attributes == ["Percent_Lifetime_Remain"]
    assert next(a for a in crucial.attributes if a.id == 5).name == "Reallocate_NAND_Blk_Cnt"
    assert crucial.health_passed is False and crucial.reallocated_sectors == 0


def test_thresh_dashes_and_temperature_190(real_dir: Path) -> None:
    report = _load(real_dir, "ata-ssd-intel-545s-no-health-line-thresh-dashes-x.txt")
    assert all(a.thresh is None for a in report.attributes)
    assert report.health_passed is None and report.smart_available is True
    assert report.temperature_c == 34  # attribute 190, not SCT's 41


def test_json_uses_raw_string_not_packed_value(real_dir: Path) -> None:
    report = _load(real_dir, "ata-hdd-hitachi-usb-jmicron-failed.json")
    temp = next(a for a in report.attributes if a.id == 194)
    assert temp.raw_string == "25 (Min/Max 19/39)" and temp.raw_value == 25
    assert report.failing_attributes == ["Reallocated_Sector_Ct"]
    assert report.device == "/dev/sdc" and report.exit_status == 216


def test_pny_raw_with_slash_and_no_sector_attributes(real_dir: Path) -> None:
    report = _load(real_dir, "ata-ssd-pny-cs900-a-json.json")
    assert next(a for a in report.attributes if a.id == 170).raw_value == 0  # "0/174"
    assert report.reallocated_sectors is None and report.pending_sectors is None


@pytest.mark.parametrize(
    ("name", "capacity", "hours"),
    [
        ("nvme-wd-sn850-ch-locale-apostrophe-a.txt", 2_000_398_934_016, 6433),
        ("nvme-samsung-970evoplus-de-locale-dots-a.txt", 500_107_862_016, 15),
        ("sas-ssd-samsung-mzilt7t6-ru-locale-nnbsp-x.txt", 7_681_501_126_656, 146),
    ],
)
def test_locale_grouping(real_dir: Path, name: str, capacity: int, hours: int) -> None:
    report = _load(real_dir, name)
    assert (report.capacity_bytes, report.power_on_hours) == (capacity, hours)


def test_no_smart_devices_are_not_available(real_dir: Path) -> None:
    for name in (
        "scsi-intel-raid-volume-no-smart.json",
        "scsi-megaraid-virtual-disk-no-smart-a.txt",
        "scsi-qemu-harddisk-vm-no-smart.json",
    ):
        report = _load(real_dir, name)
        assert report.smart_available is False, name
        assert report.health_passed is None, name


def test_nvme_fields(real_dir: Path) -> None:
    report = _load(real_dir, "nvme-samsung-970evoplus-failed-cw0x0d-spare1-x.txt")
    assert report.nvme_critical_warning == 0x0D and report.media_errors == 0
    assert report.firmware == "1B2QEXM7" and report.serial == "--"


def test_scsi_failure_prediction_is_failed() -> None:
    text = """smartctl 7.3 2022-02-28 r5338 [x86_64-linux-5.15.0] (local build)
Copyright (C) 2002-22, Bruce Allen, Christian Franke, www.smartmontools.org

=== START OF INFORMATION SECTION ===
Vendor:               SEAGATE
Product:              ST4000NM0023
Revision:             GS0F
User Capacity:        4,000,787,030,016 bytes [4.00 TB]
Serial number:        Z1Z0ABCD
Device type:          disk
Transport protocol:   SAS (SPL-3)
SMART support is:     Available - device has SMART capability.
SMART support is:     Enabled

=== START OF READ SMART DATA SECTION ===
SMART Health Status: FAILURE PREDICTION THRESHOLD EXCEEDED [asc=5d, ascq=0]

Current Drive Temperature:     41 C
Drive Trip Temperature:        60 C

Elements in grown defect list: 3017
    number of hours powered up = 41234.57
"""
    report = parse_smartctl(text, device="/dev/sdc")
    assert report.protocol == "SCSI" and report.model == "SEAGATE ST4000NM0023"
    assert report.health_passed is False and report.smart_available is True
    assert (report.grown_defects, report.temperature_c, report.power_on_hours) == (3017, 41, 41234)
    assert report.device == "/dev/sdc" and report.source_format == "text"


def _nvme_json(**log: int) -> str:
    return json.dumps(
        {
            "json_format_version": [1, 0],
            "smartctl": {"version": [7, 4], "exit_status": 8},
            "device": {"name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
            "model_name": "Example NVMe 1TB",
            "serial_number": "SN1",
            "nvme_namespaces": [{"id": 1, "size": {"blocks": 1953525168, "bytes": 1000204886016}}],
            "smart_status": {"passed": False, "nvme": {"value": log.get("critical_warning", 0)}},
            "nvme_smart_health_information_log": log,
            "temperature": {"current": 52},
            "power_on_time": {"hours": 30000},
        }
    )


def test_nvme_json_reliability_degraded_and_worn() -> None:
    report = parse_smartctl(_nvme_json(critical_warning=4, percentage_used=95, media_errors=12))
    assert report.protocol == "NVMe" and report.health_passed is False
    assert (report.nvme_critical_warning, report.percentage_used, report.media_errors) == (4, 95, 12)
    assert report.capacity_bytes == 1_000_204_886_016  # namespace 1 size: no user_capacity key
    assert report.reallocated_sectors is None and report.exit_status == 8


def test_json_old_scsi_keys_and_inferred_protocol() -> None:
    text = json.dumps(
        {
            "json_format_version": [0, 1],
            "smartctl": {"version": [6, 7], "exit_status": 0},
            "vendor": "HGST",
            "product": "HUC101818CS4200",
            "user_capacity": {"blocks": 3516328368, "bytes": 1800360124416},
            "smart_status": {"passed": True},
            "scsi_grown_defect_list": 0,
        }
    )
    report = parse_smartctl(text, device="/dev/sdd")
    assert (report.protocol, report.model, report.device) == ("SCSI", "HGST HUC101818CS4200", "/dev/sdd")
    assert report.smartctl_version == "6.7"


def test_ata_power_on_minutes_attribute() -> None:
    text = """smartctl 6.6 2016-05-31 r4324 [x86_64-linux-4.9.0] (local build)
=== START OF INFORMATION SECTION ===
Device Model:     Maxtor 6L250S0
User Capacity:    251,000,193,024 bytes [251 GB]
=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: PASSED
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  9 Power_On_Minutes        0x0032   224   224   000    Old_age   Always   In_the_past {raw}
"""
    printed = parse_smartctl(text.format(raw="600h+30m"))  # smartctl's own minutes-to-hours rendering
    assert printed.power_on_hours == 600
    assert printed.attributes[0].when_failed == "past" and printed.failing_attributes == []
    assert parse_smartctl(text.format(raw="36030")).power_on_hours == 600


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("29 (Min/Max 19/46)", 29), ("0/174", 0), ("33 (0 19 0 0 0)", 33), ("1,303", 1303), ("", None)],
)
def test_first_int(raw: str, expected: int | None) -> None:
    assert first_int(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7\u202f681\u202f501\u202f126\u202f656 bytes [7,68 TB]", 7_681_501_126_656),
        ("2’000’398’934’016 [2.00 TB]", 2_000_398_934_016),
        ("500.107.862.016 [500 GB]", 500_107_862_016),
        ("43 Celsius", 43),
        ("<not available>", None),
    ],
)
def test_grouped_int(value: str, expected: int | None) -> None:
    assert grouped_int(value) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty input"),
        ("   \n\n", "empty input"),
        ("the quick brown fox\njumps over", "first line found: 'the quick brown fox'"),
        ("sh: 1: smartctl: not found", "first line found: 'sh: 1: smartctl: not found'"),
        ("Permission denied", "first line found: 'Permission denied'"),
        ('{"smartctl": {"version": [7, 3], "exit_st', "could not be decoded"),
        ('{"blockdevices": []}', "another shape"),
        ("[1, 2, 3]", "another shape"),
        (
            '{"smartctl": {"exit_status": 2, "messages": [{"string": "Smartctl open device: /dev/sdz failed: '
            'No such device", "severity": "error"}]}}',
            "No such device",
        ),
        (
            "smartctl 7.2 2020-12-30 r5155 [x86_64-linux-5.10.0] (local build)\n"
            "Copyright (C) 2002-20, Bruce Allen, Christian Franke, www.smartmontools.org\n\n"
            "Smartctl open device: /dev/sda failed: Permission denied\n",
            "Permission denied",
        ),
    ],
)
def test_not_smartctl_raises_parse_error(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_smartctl(text)
    assert fragment in str(info.value)


def test_truncated_real_json_raises_parse_error(real_dir: Path) -> None:
    text = (real_dir / "smartctl" / "nvme-intel-660p-all-json.json").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="could not be decoded"):
        parse_smartctl(text[: len(text) // 2])


def test_long_garbage_line_is_truncated_in_message() -> None:
    with pytest.raises(ParseError) as info:
        parse_smartctl("x" * 5000)
    assert len(str(info.value)) < 300
