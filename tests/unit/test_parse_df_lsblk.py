"""df and lsblk parsers against this machine's captures, the real lsblk set and hand-written edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, truth_entries
from tools_server.parsers.df import parse_df, parse_df_inodes
from tools_server.parsers.errors import ParseError
from tools_server.parsers.lsblk import parse_lsblk

CAPTURES = REPO_ROOT / "simfleet" / "captures"
LSBLK = truth_entries("lsblk")
_BINARY = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _printed_to_bytes(size: str | int) -> int:
    if isinstance(size, int):
        return size
    return round(float(size[:-1]) * _BINARY[size[-1]])


# --- df -PB1 / df -P --------------------------------------------------------------------------


def test_df_capture_of_this_machine() -> None:
    usage = parse_df((CAPTURES / "df-PB1.txt").read_text())
    assert [fs.mount for fs in usage.filesystems] == [
        "/dev",
        "/dev/shm",
        "/",
        "/mnt/sandboxing/model_tools_env/v1/python",
        "/sys/fs/cgroup",
    ]
    root = usage.filesystems[2]
    assert (root.filesystem, root.size_bytes, root.used_bytes, root.avail_bytes) == (
        "/dev/vda",
        270553174016,
        24543633408,
        84400660480,
    )
    assert root.used_percent == 23.0
    for fs in usage.filesystems:
        # The printed Capacity is df's used / (used + avail), rounded up.
        expected = math.ceil(fs.used_bytes * 100 / (fs.used_bytes + fs.avail_bytes))
        assert fs.used_percent == expected
    assert usage.warnings == []


def test_df_mount_with_spaces_and_1024_blocks() -> None:
    text = (
        "Filesystem     1024-blocks      Used Available Capacity Mounted on\n"
        "/dev/sda1         10255636   9723132    532504      95% /\n"
        "/dev/sdb1        103081248  51540624  51540624      50% /mnt/My Backups 2024\n"
        "//nas/share one  1000         500       500         50% /media/nas share\n"
    )
    usage = parse_df(text)
    backups = usage.filesystems[1]
    assert backups.mount == "/mnt/My Backups 2024"
    assert backups.size_bytes == 103081248 * 1024 and backups.used_percent == 50.0
    assert (usage.filesystems[2].filesystem, usage.filesystems[2].mount) == (
        "//nas/share one",
        "/media/nas share",
    )
    assert usage.filesystems[0].avail_bytes == 532504 * 1024


def test_df_keeps_stderr_warnings_apart() -> None:
    text = (
        "df: /run/user/1000/doc: Operation not permitted\n"
        "Filesystem 1-blocks Used Available Capacity Mounted on\n"
        "/dev/vda 1000 990 10 99% /\n"
    )
    usage = parse_df(text)
    assert usage.warnings == ["df: /run/user/1000/doc: Operation not permitted"]
    assert usage.filesystems[0].used_percent == 99.0


def test_df_inodes_capture_of_this_machine() -> None:
    usage = parse_df_inodes((CAPTURES / "df-Pi.txt").read_text())
    root = next(fs for fs in usage.filesystems if fs.mount == "/")
    assert (root.filesystem, root.inodes, root.iused, root.ifree, root.iused_percent) == (
        "/dev/vda",
        16777216,
        432229,
        16344987,
        3.0,
    )
    assert len(usage.filesystems) == 5


def test_df_inodes_dash_means_no_inodes() -> None:
    text = (
        "Filesystem      Inodes  IUsed   IFree IUse% Mounted on\n"
        "/dev/nvme0n1p2       0      0       0     - /\n"
        "/dev/nvme0n1p1       0      0       0     - /boot/efi\n"
        "/dev/sdb1            -      -       -     - /mnt/odd fs\n"
        "/dev/sda1      6553600 655360 5898240   10% /data\n"
    )
    usage = parse_df_inodes(text)
    assert [fs.iused_percent for fs in usage.filesystems] == [None, None, None, 10.0]
    assert usage.filesystems[2].mount == "/mnt/odd fs" and usage.filesystems[2].inodes == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no output lines"),
        ("sh: 1: df: not found", "first line found: 'sh: 1: df: not found'"),
        ("Filesystem Inodes IUsed IFree IUse% Mounted on\n", "first line found"),
        ("Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/vda lots of space /\n", "six columns"),
    ],
)
def test_df_garbage_raises_parse_error(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_df(text)
    assert fragment in str(info.value)


def test_df_inodes_rejects_space_output() -> None:
    with pytest.raises(ParseError, match="df -Pi"):
        parse_df_inodes((CAPTURES / "df-PB1.txt").read_text())


# --- lsblk -J ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", LSBLK, ids=lambda e: e["file"])
def test_lsblk_matches_truth(real_dir: Path, entry: dict[str, Any]) -> None:
    devices = parse_lsblk((real_dir / entry["file"]).read_text(encoding="utf-8"))
    assert len(devices.flatten()) == entry["device_count"]
    assert devices.layout in entry["lsblk_layout"].replace(" ", "")
    assert all(d.size_exact for d in devices.flatten()) is entry["sizes_in_bytes"]
    # truth's "disks" are the top-level disks and optical drives (loop devices left out).
    top = {d.name: d for d in devices.devices if d.type in ("disk", "rom")}
    assert list(top) == [disk["name"] for disk in entry["disks"]]
    for disk in entry["disks"]:
        dev = top[disk["name"]]
        assert dev.type == disk["type"]
        assert dev.tran == disk["tran"]
        assert dev.model == (disk["model"].strip() if disk["model"] else None)
        assert dev.size_bytes == _printed_to_bytes(disk["size"])
        assert sum(c.type == "part" for c in dev.children) == disk["partitions"]


def test_lsblk_smart_candidates_on_real_sets(real_dir: Path) -> None:
    def candidates(name: str) -> list[str]:
        return parse_lsblk((real_dir / "lsblk" / name).read_text(encoding="utf-8")).smart_candidates()

    assert candidates("talos-node-J-human-sizes-longhorn.json") == ["/dev/sda", "/dev/sdb"]  # no iSCSI, sr0
    assert candidates("talos-node-J-human-sizes-iscsi.json") == ["/dev/sda", "/dev/sdb"]
    assert candidates("desktop-nvme-zram-J-b-selected-columns.json") == ["/dev/nvme0n1"]  # no zram
    assert candidates("azure-vm-J-util-linux-2.3x-human-sizes.json") == ["/dev/sda", "/dev/sdb"]


def test_lsblk_mountpoints_in_both_spellings(real_dir: Path) -> None:
    azure = parse_lsblk((real_dir / "lsblk" / "azure-vm-J-util-linux-2.3x-human-sizes.json").read_text())
    sda = azure.devices[0]
    assert [c.mountpoints for c in sda.children] == [[], ["/boot/efi"], ["/boot"], ["/"]]
    assert sda.children[3].size_bytes == round(28.5 * 1024**3) and not sda.children[3].size_exact
    assert azure.devices[2].size_bytes == 628 * 1024  # sr0 "628K"


@pytest.mark.parametrize("name", ["lsblk-J-b-columns.json", "lsblk-J-b.json"])
def test_lsblk_captures_of_this_machine(name: str) -> None:
    devices = parse_lsblk((CAPTURES / name).read_text())
    assert devices.layout == ">=2.37"
    vda = devices.devices[1]
    assert (vda.name, vda.type, vda.size_bytes, vda.size_exact, vda.mountpoints) == (
        "vda",
        "disk",
        274877906944,
        True,
        ["/"],
    )
    assert devices.devices[0].mountpoints == []  # zram0: [null] or null
    assert [d.name for d in devices.disks()] == ["zram0", "vda"]
    assert devices.smart_candidates() == ["/dev/vda"]


def test_lsblk_our_own_columns() -> None:
    devices = parse_lsblk((CAPTURES / "lsblk-J-b-columns.json").read_text())
    vda = devices.devices[1]
    assert (vda.kname, vda.rota, vda.tran, vda.model, vda.serial) == ("vda", True, None, None, None)


def test_lsblk_util_linux_232_strings() -> None:
    text = """{
   "blockdevices": [
      {"name": "sda", "kname": "sda", "type": "disk", "size": "1000204886016", "rota": "1", "tran": "sata", "model": "WDC WD10EZEX-08W", "serial": "WD-WCC6Y0000000", "mountpoint": null,
         "children": [
            {"name": "sda1", "kname": "sda1", "type": "part", "size": "1000203837440", "rota": "1", "tran": null, "model": null, "serial": null, "mountpoint": "/srv"}
         ]
      },
      {"name": "md0", "kname": "md0", "type": "raid1", "size": "999", "rota": "0", "tran": null, "model": null, "serial": null, "mountpoint": null},
      {"name": "sr0", "kname": "sr0", "type": "rom", "size": "1073741312", "rota": "1", "tran": "sata", "model": "DVD RW  ", "serial": null, "mountpoint": null}
   ]
}
"""  # noqa: E501
    devices = parse_lsblk(text)
    assert devices.layout == "<=2.32"
    sda = devices.devices[0]
    assert (sda.size_bytes, sda.size_exact, sda.rota, sda.model) == (
        1000204886016,
        True,
        True,
        "WDC WD10EZEX-08W",
    )
    assert sda.children[0].mountpoints == ["/srv"]
    assert devices.devices[2].model == "DVD RW"
    assert devices.smart_candidates() == ["/dev/sda"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [("28.5G", round(28.5 * 1024**3)), ("628K", 643072), ("100M", 104857600), ("1,5T", round(1.5 * 1024**4))],
)
def test_lsblk_human_sizes(size: str, expected: int) -> None:
    text = json.dumps({"blockdevices": [{"name": "sdz", "type": "disk", "size": size}]})
    device = parse_lsblk(text).devices[0]
    assert (device.size_bytes, device.size_exact) == (expected, False)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty input"),
        ("lsblk: unknown column: FOO", "first line found: 'lsblk: unknown column: FOO'"),
        ('{"blockdevices": [{"name": "sda", "type": "disk"', "first line found"),
        ('{"smartctl": {}}', "another shape"),
        ('{"blockdevices": [{"size": 1}]}', "lacks name or type"),
        ('{"blockdevices": [{"name": "sda", "type": "disk", "size": "lots"}]}', "unreadable size"),
        ('{"blockdevices": ["sda"]}', "not an object"),
    ],
)
def test_lsblk_garbage_raises_parse_error(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_lsblk(text)
    assert fragment in str(info.value)
