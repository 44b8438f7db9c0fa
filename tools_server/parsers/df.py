"""Parse POSIX-format `df -PB1` (or `df -P`) space and `df -Pi` inode output."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tools_server.parsers.errors import ParseError

_EXCERPT = 120
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SPACE_HEADER_RE = re.compile(
    r"^Filesystem\s+(\d+)([KMGTP]?)(?:i?B)?-blocks\s+Used\s+Avail(?:able)?\s+(?:Capacity|Use%)"
)
_INODE_HEADER_RE = re.compile(r"^Filesystem\s+Inodes\s+IUsed\s+IFree\s+IUse%")
# The filesystem name may hold spaces too: the first run of four numeric columns ends it, and the
# mount point is the rest of the line after the percentage, spaces included.
_ROW_RE = re.compile(r"^(?P<fs>\S.*?)\s+(?P<a>\d+|-)\s+(?P<b>\d+|-)\s+(?P<c>\d+|-)\s+(?P<pct>\d+%|-)\s+(?P<mount>.+)$")


class FilesystemUsage(BaseModel):
    """Space on one mounted filesystem, in bytes."""

    filesystem: str
    mount: str
    size_bytes: int = Field(description='Total size; a "-" column (no block counts) reads as 0')
    used_bytes: int
    avail_bytes: int
    used_percent: float = Field(
        description="df's printed Capacity: used/(used+avail) rounded up, so root's reserve counts as full"
    )


class DiskUsage(BaseModel):
    """Every filesystem `df -PB1` listed, plus any `df:` warnings mixed into the output."""

    filesystems: list[FilesystemUsage]
    warnings: list[str] = Field(default_factory=list, description='"df: ..." lines such as permission errors')


class FilesystemInodes(BaseModel):
    """Inode use of one mounted filesystem."""

    filesystem: str
    mount: str
    inodes: int
    iused: int
    ifree: int
    iused_percent: float | None = Field(description='None when df prints "-" (btrfs, vfat: no fixed inodes)')


class InodeUsage(BaseModel):
    """Every filesystem `df -Pi` listed, plus any `df:` warnings mixed into the output."""

    filesystems: list[FilesystemInodes]
    warnings: list[str] = Field(default_factory=list, description='"df: ..." lines such as permission errors')


def _excerpt(line: str) -> str:
    return repr(line if len(line) <= _EXCERPT else line[:_EXCERPT] + "...")


def _split(
    text: str, command: str, header_re: re.Pattern[str], header_example: str
) -> tuple[re.Match[str], list[str], list[str]]:
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    # stderr may be merged into stdout: df's own complaints are kept as warnings, not rows.
    warnings = [line for line in lines if line.startswith("df: ")]
    rows = [line for line in lines if not line.startswith("df: ")]
    if not rows:
        msg = f"expected `{command}` output starting with {header_example!r}, got no output lines"
        raise ParseError(msg)
    header = header_re.match(rows[0])
    if header is None:
        found = _excerpt(rows[0])
        msg = f"expected `{command}` output starting with {header_example!r}; first line found: {found}"
        raise ParseError(msg)
    return header, rows[1:], warnings


def _row(line: str, command: str) -> re.Match[str]:
    match = _ROW_RE.match(line)
    if match is None:
        found = _excerpt(line)
        msg = f"`{command}` line does not have six columns (filesystem, 3 numbers, percent, mount): {found}"
        raise ParseError(msg)
    return match


def _num(value: str) -> int:
    return 0 if value == "-" else int(value)


def _pct(value: str) -> float | None:
    return None if value == "-" else float(value.rstrip("%"))


def parse_df(text: str) -> DiskUsage:
    """Parse `df -PB1` (or `df -P`, whose 1024-blocks are scaled to bytes) into per-filesystem usage."""
    command = "df -PB1"
    header, rows, warnings = _split(
        text, command, _SPACE_HEADER_RE, "Filesystem 1-blocks Used Available Capacity Mounted on"
    )
    block = int(header.group(1)) * _UNITS[header.group(2)]
    filesystems = []
    for line in rows:
        row = _row(line, command)
        filesystems.append(
            FilesystemUsage(
                filesystem=row["fs"],
                mount=row["mount"],
                size_bytes=_num(row["a"]) * block,
                used_bytes=_num(row["b"]) * block,
                avail_bytes=_num(row["c"]) * block,
                used_percent=_pct(row["pct"]) or 0.0,
            )
        )
    return DiskUsage(filesystems=filesystems, warnings=warnings)


def parse_df_inodes(text: str) -> InodeUsage:
    """Parse `df -Pi` into per-filesystem inode use."""
    command = "df -Pi"
    _, rows, warnings = _split(text, command, _INODE_HEADER_RE, "Filesystem Inodes IUsed IFree IUse% Mounted on")
    filesystems = []
    for line in rows:
        row = _row(line, command)
        filesystems.append(
            FilesystemInodes(
                filesystem=row["fs"],
                mount=row["mount"],
                inodes=_num(row["a"]),
                iused=_num(row["b"]),
                ifree=_num(row["c"]),
                iused_percent=_pct(row["pct"]),
            )
        )
    return InodeUsage(filesystems=filesystems, warnings=warnings)
