"""`opswatchdog parse KIND FILE` agrees with truth.json on every real capture (the stable JSON contract)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from tests.conftest import truth_entries

MIB = 1024 * 1024
KINDS = {"dmidecode": "dmidecode", "smartctl": "smartctl", "lsblk": "lsblk", "meminfo": "meminfo"}


def _run(capsys: pytest.CaptureFixture[str], kind: str, path: Path) -> dict[str, Any]:
    assert main(["parse", kind, str(path)]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _first_number(values: list[str] | None) -> int | None:
    nums = [int(v.split()[0]) for v in values or [] if v.split()[0].isdigit()]
    return max(nums) if nums else None


@pytest.mark.parametrize("entry", truth_entries("dmidecode"), ids=lambda e: e["file"])
def test_dmidecode_contract(entry: dict[str, Any], real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "dmidecode", real_dir / entry["file"])
    expected_max = None if entry["max_capacity_mib"] is None else entry["max_capacity_mib"] * MIB
    assert out["array_max_bytes"] == expected_max
    assert out["slots_total"] == entry["slots"]
    assert out["slots_populated"] == entry["populated_slots"]
    assert out["total_installed_bytes"] == entry["total_installed_mib"] * MIB
    assert out["ecc"] == entry["ecc"]
    assert sorted(out["form_factors"]) == sorted(entry["form_factors"])
    assert out["board_manufacturer"] == entry["board_manufacturer"]
    assert out["board_product"] == entry["board_product"]
    assert isinstance(out["memory_types"], list) and isinstance(out["modules"], list)
    configured = _first_number(entry["speed_configured"]) or _first_number(entry["speed_max"])
    assert out["speed_mts"] == configured


@pytest.mark.parametrize("entry", truth_entries("smartctl"), ids=lambda e: e["file"])
def test_smartctl_contract(entry: dict[str, Any], real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "smartctl", real_dir / entry["file"])
    health = {"PASSED": True, "FAILED": False, None: None}[entry["health"]]
    assert out["protocol"] == entry["protocol"]
    assert out["health_passed"] is health
    for key in (
        "reallocated_sectors",
        "pending_sectors",
        "nvme_critical_warning",
        "percentage_used",
        "capacity_bytes",
        "temperature_c",
        "power_on_hours",
    ):
        assert out[key] == entry[key], key
    assert (out["model"] or None) == ((entry["device_model"] or "").strip() or None)


@pytest.mark.parametrize("entry", truth_entries("meminfo"), ids=lambda e: e["file"])
def test_meminfo_contract(entry: dict[str, Any], real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "meminfo", real_dir / entry["file"])
    assert out["total_bytes"] == entry["mem_total_kib"] * 1024
    assert out["swap_total_bytes"] == entry["swap_total_kib"] * 1024
    if entry.get("mem_available_kib") is not None:
        assert out["available_bytes"] == entry["mem_available_kib"] * 1024
    assert "swap_used_bytes" in out


@pytest.mark.parametrize("entry", truth_entries("lsblk"), ids=lambda e: e["file"])
def test_lsblk_contract(entry: dict[str, Any], real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "lsblk", real_dir / entry["file"])
    top = [d["name"] for d in out["devices"] if d["type"] in ("disk", "rom")]
    assert top == [d["name"] for d in entry["disks"]]


def test_df_contract_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    capture = Path(__file__).resolve().parents[2] / "simfleet" / "captures" / "df-PB1.txt"
    out = _run(capsys, "df", capture)
    root = next(f for f in out["filesystems"] if f["mount"] == "/")
    assert set(root) >= {"mount", "size_bytes", "used_bytes", "avail_bytes", "used_percent"}


def test_garbage_is_a_clear_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\xffnot dmidecode at all\n")
    assert main(["parse", "dmidecode", str(bad)]) == 1
    assert "not readable as dmidecode" in capsys.readouterr().err
    assert main(["parse", "free", str(tmp_path / "missing.txt")]) == 2


def test_entry_point_runs_as_a_process(tmp_path: Path) -> None:
    src = tmp_path / "nproc.txt"
    src.write_text("16\n")
    done = subprocess.run(
        [sys.executable, "-m", "app", "parse", "nproc", str(src)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {"cpus": 16}
