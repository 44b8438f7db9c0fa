"""Value readers for dmidecode fields: sizes, speeds, widths, and the DDR generation inferred from them."""

from __future__ import annotations

import re

# dmidecode only ever meant powers of 1024, whatever prefix style its version printed.
_SIZE_UNITS: dict[str, int] = {
    "bytes": 1,
    "kb": 1024,
    "kib": 1024,
    "mb": 1024**2,
    "mib": 1024**2,
    "gb": 1024**3,
    "gib": 1024**3,
    "tb": 1024**4,
    "tib": 1024**4,
    "pb": 1024**5,
    "pib": 1024**5,
}
_SIZE_RE = re.compile(r"^(\d+)\s*([A-Za-z]+)$")
# 2.12 prints "MHz" for what later versions call "MT/s"; the number is the same data rate.
_SPEED_RE = re.compile(r"^(\d+)\s*(?:MT/s|MHz)\b", re.IGNORECASE)
_WIDTH_RE = re.compile(r"^(\d+)\s*bits?$")

# Printed types that name no DDR generation, so one may be inferred from speed and width.
GENERIC_TYPES = frozenset({"<OUT OF SPEC>", "Other", "Unknown", "DRAM", "RAM"})


def parse_size(value: str | None) -> int | None:
    """Bytes of a dmidecode size such as "8192 MB", "32 GB" or "8 GiB"; None for "No Module Installed" etc."""
    if value is None:
        return None
    match = _SIZE_RE.match(value.strip())
    if match is None:
        return None
    factor = _SIZE_UNITS.get(match.group(2).lower())
    if factor is None:
        return None
    return int(match.group(1)) * factor


def parse_speed(value: str | None) -> int | None:
    """Data rate in MT/s of "2666 MT/s" or "2133 MHz"; None for "Unknown" or a missing key."""
    if value is None:
        return None
    match = _SPEED_RE.match(value.strip())
    if match is None:
        return None
    speed = int(match.group(1))
    return speed or None


def parse_width(value: str | None) -> int | None:
    """Bit width of "72 bits"; None for "Unknown"."""
    if value is None:
        return None
    match = _WIDTH_RE.match(value.strip())
    return int(match.group(1)) if match else None


def infer_generation(printed_type: str | None, speed_mts: int | None, total_width: int | None) -> str | None:
    """DDR generation guessed from speed and width when the printed type names none; None if unsure."""
    if printed_type is not None and printed_type not in GENERIC_TYPES:
        return None
    # 80 bits (2 x 40-bit sub-channels) only exists on DDR5 ECC modules.
    if total_width == 80:
        return "DDR5"
    if speed_mts is None:
        return None
    # JEDEC DDR4 stops at 3200 and DDR5 starts at 4000 (4800 in practice); SPD "Speed" is the JEDEC rating.
    if speed_mts >= 4800:
        return "DDR5"
    if 2133 <= speed_mts <= 3200:
        return "DDR4"
    # 1866 is sold as both DDR3 and DDR4, so it stays undecided.
    if 1066 <= speed_mts <= 1600:
        return "DDR3"
    return None
