"""Parse `free -b` and /proc/meminfo into one MemoryInfo model."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tools_server.parsers.errors import ParseError

_MEMINFO_LINE = re.compile(r"^([^:\s]+):\s+(\d+)(?:\s+(kB))?\s*$")


class MemoryInfo(BaseModel):
    """RAM and swap totals in bytes, from either `free -b` or /proc/meminfo."""

    model_config = ConfigDict(frozen=True)

    total_bytes: int
    available_bytes: int | None
    # True when the kernel gave no MemAvailable (< 3.14, or old `free`) and
    # available_bytes is MemFree + Buffers + Cached (+ SReclaimable): an optimistic estimate.
    available_estimated: bool
    free_bytes: int | None
    buffers_bytes: int | None
    cached_bytes: int | None
    # buffers + cache + reclaimable slab, as in procps-ng's buff/cache column.
    buff_cache_bytes: int | None = None
    swap_total_bytes: int
    swap_used_bytes: int
    swap_free_bytes: int
    hugepages_total: int | None
    source: Literal["free", "meminfo"]


def _snippet(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(first[:80] + ("..." if len(first) > 80 else "")) if first else "empty input"


def _free_rows(text: str) -> tuple[list[str], dict[str, list[int]]]:
    lines = [line for line in text.splitlines() if line.strip()]
    header_index = next((i for i, line in enumerate(lines) if "total" in line.split()), None)
    if header_index is None:
        msg = f"expected `free -b` output with a header line naming 'total', found {_snippet(text)}"
        raise ParseError(msg)
    columns = lines[header_index].split()
    rows: dict[str, list[int]] = {}
    for line in lines[header_index + 1 :]:
        label, sep, rest = line.partition(":")
        if not sep:
            msg = f"expected a `free -b` row like 'Mem: <numbers>', found {line.strip()[:80]!r}"
            raise ParseError(msg)
        values = rest.split()
        if not all(v.isdecimal() for v in values):
            msg = (
                f"expected integer byte counts in `free -b` row {label.strip()!r}, "
                f"found {rest.strip()[:80]!r} (was it run without -b, e.g. -h?)"
            )
            raise ParseError(msg)
        rows[label.strip()] = [int(v) for v in values]
    return columns, rows


def parse_free(text: str) -> MemoryInfo:
    """Parse `free -b` output: procps-ng >= 3.3.10 (with `available`) or older (`-/+ buffers/cache`)."""
    columns, rows = _free_rows(text)
    mem, swap = rows.get("Mem"), rows.get("Swap")
    if mem is None or swap is None or len(swap) < 3:
        msg = f"expected 'Mem:' and 'Swap:' rows in `free -b` output (LC_ALL=C), found rows {sorted(rows)}"
        raise ParseError(msg)
    if len(mem) != len(columns):
        msg = f"`free -b` Mem row has {len(mem)} values for the {len(columns)} columns {columns}: truncated?"
        raise ParseError(msg)
    values = dict(zip(columns, mem, strict=True))
    free = values.get("free")
    buffers = values.get("buffers")
    cached = values.get("cached", values.get("cache"))
    buff_cache = values.get("buff/cache")
    if buff_cache is None and buffers is not None and cached is not None:
        buff_cache = buffers + cached
    available = values.get("available")
    estimated = False
    if available is None:
        # Old procps: the "-/+ buffers/cache" free figure is free + buffers + cached.
        legacy = rows.get("-/+ buffers/cache")
        if legacy is not None and len(legacy) == 2:
            available = legacy[1]
        elif free is not None and buff_cache is not None:
            available = free + buff_cache
        estimated = available is not None
    return MemoryInfo(
        total_bytes=values["total"],
        available_bytes=available,
        available_estimated=estimated,
        free_bytes=free,
        buffers_bytes=buffers,
        cached_bytes=cached,
        buff_cache_bytes=buff_cache,
        swap_total_bytes=swap[0],
        swap_used_bytes=swap[1],
        swap_free_bytes=swap[2],
        hugepages_total=None,
        source="free",
    )


def _meminfo_values(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _MEMINFO_LINE.match(line.strip())
        if match is None:
            msg = f"expected /proc/meminfo lines like 'MemTotal:  16384 kB', found {line.strip()[:80]!r}"
            raise ParseError(msg)
        key, number, unit = match.groups()
        # Only HugePages_* counters come without "kB"; everything else is KiB.
        values[key] = int(number) * (1024 if unit else 1)
    return values


def parse_meminfo(text: str) -> MemoryInfo:
    """Parse /proc/meminfo (kB = KiB); estimates available memory on kernels without MemAvailable."""
    values = _meminfo_values(text)
    missing = [k for k in ("MemTotal", "MemFree", "SwapTotal", "SwapFree") if k not in values]
    if missing:
        msg = f"expected /proc/meminfo with {', '.join(missing)}, found {_snippet(text)}"
        raise ParseError(msg)
    buffers, cached = values.get("Buffers"), values.get("Cached")
    available = values.get("MemAvailable")
    estimated = False
    if available is None and cached is not None:
        # The pre-3.14 rule of thumb; it overstates what is reclaimable (dirty and shared pages count too).
        available = values["MemFree"] + (buffers or 0) + cached + values.get("SReclaimable", 0)
        estimated = True
    swap_total, swap_free = values["SwapTotal"], values["SwapFree"]
    # Same sum as procps-ng's buff/cache column, so both sources agree.
    buff_cache = (buffers or 0) + cached + values.get("SReclaimable", 0) if cached is not None else None
    return MemoryInfo(
        total_bytes=values["MemTotal"],
        available_bytes=available,
        available_estimated=estimated,
        free_bytes=values["MemFree"],
        buffers_bytes=buffers,
        cached_bytes=cached,
        buff_cache_bytes=buff_cache,
        swap_total_bytes=swap_total,
        swap_used_bytes=swap_total - swap_free,
        swap_free_bytes=swap_free,
        hugepages_total=values.get("HugePages_Total"),
        source="meminfo",
    )
