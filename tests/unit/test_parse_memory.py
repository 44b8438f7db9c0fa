"""`free -b` and /proc/meminfo parsers against real captures and hand-written layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, truth_entries
from tools_server.parsers.errors import ParseError
from tools_server.parsers.meminfo import parse_free, parse_meminfo

CAPTURES = REPO_ROOT / "simfleet" / "captures"
MEMINFO_ENTRIES = truth_entries("meminfo")


def test_all_meminfo_captures_are_listed(real_dir: Path) -> None:
    assert real_dir.is_dir()
    assert len(truth_entries("meminfo")) == 4


@pytest.mark.parametrize("entry", MEMINFO_ENTRIES, ids=lambda e: e["file"])
def test_real_meminfo_matches_truth(real_dir: Path, entry: dict[str, Any]) -> None:
    text = (real_dir / entry["file"]).read_text()
    info = parse_meminfo(text)
    assert info.source == "meminfo"
    assert info.total_bytes == entry["mem_total_kib"] * 1024
    assert info.swap_total_bytes == entry["swap_total_kib"] * 1024
    assert info.hugepages_total == entry["hugepages_total"]
    if entry["mem_available_kib"] is None:
        assert info.available_estimated is True
        assert "MemAvailable" not in text
        values = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines() if line.strip()}
        estimate = values["MemFree"] + values["Buffers"] + values["Cached"] + values["SReclaimable"]
        assert info.available_bytes == estimate * 1024
    else:
        assert info.available_estimated is False
        assert info.available_bytes == entry["mem_available_kib"] * 1024
    assert info.swap_used_bytes == info.swap_total_bytes - info.swap_free_bytes


def test_own_meminfo_and_free_captures_agree() -> None:
    meminfo = parse_meminfo((CAPTURES / "proc-meminfo.txt").read_text())
    free = parse_free((CAPTURES / "free-b.txt").read_text())
    assert meminfo.total_bytes == 24683584 * 1024 == free.total_bytes
    assert meminfo.available_bytes == 24021196 * 1024
    assert free.available_bytes == 24598011904
    assert free.free_bytes == 23044636672
    assert free.available_estimated is False and free.source == "free"
    assert (free.swap_total_bytes, free.swap_used_bytes, free.swap_free_bytes) == (0, 0, 0)
    # Captured a moment apart, so only roughly equal; both count reclaimable slab.
    assert meminfo.buff_cache_bytes is not None and free.buff_cache_bytes is not None
    assert abs(meminfo.buff_cache_bytes - free.buff_cache_bytes) < 64 * 1024**2


OLD_FREE = """\
             total       used       free     shared    buffers     cached
Mem:    8254025728 7812345856  441679872          0  312426496 5312344064
-/+ buffers/cache: 2187575296 6066450432
Swap:   4294963200   10485760 4284477440
"""

WIDE_FREE = """\
               total        used        free      shared     buffers       cache   available
Mem:     16663375872  4119756800  8471511040   393216000   523763712  3548344320 11842367488
Swap:     2147479552           0  2147479552
"""


def test_old_free_layout_estimates_available() -> None:
    info = parse_free(OLD_FREE)
    assert info.total_bytes == 8254025728
    assert info.available_bytes == 6066450432
    assert info.available_estimated is True
    assert (info.buffers_bytes, info.cached_bytes) == (312426496, 5312344064)
    assert info.free_bytes == 441679872
    assert (info.swap_total_bytes, info.swap_used_bytes, info.swap_free_bytes) == (
        4294963200,
        10485760,
        4284477440,
    )


def test_old_free_layout_without_buffers_line() -> None:
    text = "\n".join(line for line in OLD_FREE.splitlines() if not line.startswith("-/+"))
    info = parse_free(text)
    assert info.available_bytes == 441679872 + 312426496 + 5312344064
    assert info.available_estimated is True


def test_wide_free_layout() -> None:
    info = parse_free(WIDE_FREE)
    assert info.available_bytes == 11842367488 and info.available_estimated is False
    assert (info.buffers_bytes, info.cached_bytes) == (523763712, 3548344320)
    assert info.buff_cache_bytes == 523763712 + 3548344320


OLD_KERNEL_MEMINFO = """\
MemTotal:        2048000 kB
MemFree:          100000 kB
Buffers:           20000 kB
Cached:           300000 kB
SwapTotal:       1024000 kB
SwapFree:         824000 kB
"""


def test_meminfo_without_memavailable_or_sreclaimable() -> None:
    info = parse_meminfo(OLD_KERNEL_MEMINFO)
    assert info.available_bytes == (100000 + 20000 + 300000) * 1024
    assert info.available_estimated is True
    assert info.swap_used_bytes == 200000 * 1024
    assert info.hugepages_total is None


def test_meminfo_hugepages_have_no_unit() -> None:
    info = parse_meminfo(OLD_KERNEL_MEMINFO + "HugePages_Total:     512\nHugepagesize:       2048 kB\n")
    assert info.hugepages_total == 512


GARBAGE = [
    "",
    "\n \n",
    "cat: /proc/meminfo: Permission denied",
    json.dumps({"MemTotal": 1024}),
    bytes(range(256)).decode("latin-1"),
    "MemTotal:       24683584 kB\nMemFree:        22504",
    "MemTotal:       24683584 kB\n",
    "MemTotal:  lots kB\n",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_meminfo_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_meminfo(text)


FREE_GARBAGE = [
    "",
    "bash: free: command not found",
    json.dumps({"total": 1}),
    bytes(range(256)).decode("latin-1"),
    "               total        used        free      shared  buff/cache   available\n",
    "               total        used        free      shared  buff/cache   available\nMem:     25275990016   677",
    "               total        used        free      shared  buff/cache   available\n"
    "Mem:           23Gi       646Mi        21Gi        68Mi       1.8Gi        22Gi\n"
    "Swap:             0B          0B          0B\n",
    "               gesamt      benutzt     frei      gemns.  Puffer/Cache verfügbar\n"
    "Speicher:   25275990016   677978112 23044636672    71651328  1918402560 24598011904\n",
]


@pytest.mark.parametrize("text", FREE_GARBAGE)
def test_free_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_free(text)


def test_free_error_says_what_was_expected() -> None:
    with pytest.raises(ParseError, match=r"free -b.*'bash: free: command not found'"):
        parse_free("bash: free: command not found")
