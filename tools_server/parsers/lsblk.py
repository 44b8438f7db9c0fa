"""Parse `lsblk -J` in the JSON layouts of util-linux <=2.32, 2.33-2.36 and >=2.37, with or without -b."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools_server.parsers.errors import ParseError

_EXCERPT = 120
_HUMAN_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([BKMGTPEZY]?)(?:i?B)?$")
_UNIT_POWER = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6, "Z": 7, "Y": 8}
# Names the command catalog accepts for smartctl; zram, loop, ram, md, dm-*, sr* never match.
_SMART_NAME_RE = re.compile(r"^(sd[a-z]{1,2}|hd[a-z]|vd[a-z]{1,2}|xvd[a-z]{1,2}|nvme\d{1,2}n\d{1,2})$")
_NO_SMART_TRANSPORTS = frozenset({"iscsi"})
_TEXT_BOOLS = {"0": False, "1": True}

Layout = Literal["<=2.32", "2.33-2.36", ">=2.37"]


class BlockDevice(BaseModel):
    """One block device from lsblk, with its partitions and holders as children."""

    name: str
    kname: str | None = None
    type: str
    size_bytes: int | None = Field(default=None, description="None when the SIZE column was not asked for")
    size_exact: bool = Field(default=True, description='False when converted from a rounded human size ("28.5G")')
    rota: bool | None = None
    tran: str | None = None
    model: str | None = Field(default=None, description="Stripped of lsblk's space padding")
    serial: str | None = None
    mountpoints: list[str] = Field(default_factory=list)
    children: list[BlockDevice] = Field(default_factory=list)


class BlockDevices(BaseModel):
    """The device tree `lsblk -J` printed and which util-linux layout it came in."""

    devices: list[BlockDevice]
    layout: Layout

    def disks(self) -> list[BlockDevice]:
        """Top-level devices of type disk."""
        return [d for d in self.devices if d.type == "disk"]

    def flatten(self) -> list[BlockDevice]:
        """Every device, children included, in lsblk's order."""
        out: list[BlockDevice] = []
        stack = list(reversed(self.devices))
        while stack:
            device = stack.pop()
            out.append(device)
            stack.extend(reversed(device.children))
        return out

    def smart_candidates(self) -> list[str]:
        """`/dev/<name>` of physical disks worth a smartctl query: no zram/loop/md/dm/sr/iSCSI, not empty."""
        return [
            f"/dev/{d.name}"
            for d in self.disks()
            if _SMART_NAME_RE.match(d.name)
            and d.tran not in _NO_SMART_TRANSPORTS
            # An unknown size (SIZE not requested) does not disqualify; a known zero does (empty zram).
            and (d.size_bytes is None or d.size_bytes > 0)
        ]


def _excerpt(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(line if len(line) <= _EXCERPT else line[:_EXCERPT] + "...")


def _size(value: Any, name: str) -> tuple[int | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, int) and not isinstance(value, bool):
        return value, True
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text), True
        match = _HUMAN_RE.match(text)
        if match:
            # lsblk's human sizes are binary (K = KiB) and may use the locale's decimal comma.
            number = float(match.group(1).replace(",", "."))
            return round(number * 1024 ** _UNIT_POWER[match.group(2)]), match.group(2) in ("", "B")
    msg = f"lsblk device {name!r} has an unreadable size {value!r}"
    raise ParseError(msg)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return _TEXT_BOOLS.get(value) if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _mountpoints(raw: dict[str, Any]) -> list[str]:
    # >=2.37 default columns give a `mountpoints` array (null entries for unmounted); -o MOUNTPOINT a string.
    values = raw.get("mountpoints")
    if not isinstance(values, list):
        values = [raw.get("mountpoint")]
    return [v for v in values if isinstance(v, str) and v]


def _device(raw: Any) -> BlockDevice:
    if not isinstance(raw, dict):
        msg = f"lsblk device entry is not an object: {str(raw)[:_EXCERPT]!r}"
        raise ParseError(msg)
    name, dev_type = _text(raw.get("name")), _text(raw.get("type"))
    if name is None or dev_type is None:
        msg = f"lsblk device entry lacks name or type (run lsblk with -o NAME,TYPE,...): {sorted(raw)}"
        raise ParseError(msg)
    size, exact = _size(raw.get("size"), name)
    children = raw.get("children")
    return BlockDevice(
        name=name,
        kname=_text(raw.get("kname")),
        type=dev_type,
        size_bytes=size,
        size_exact=exact,
        rota=_flag(raw.get("rota")),
        tran=_text(raw.get("tran")),
        model=_text(raw.get("model")),
        serial=_text(raw.get("serial")),
        mountpoints=_mountpoints(raw),
        children=[_device(c) for c in children] if isinstance(children, list) else [],
    )


def _layout(text: str, devices: list[Any]) -> Layout:
    # <=2.32 printed every value as a string ("rm": "0", "size": "1000204886016").
    flat: list[Any] = list(devices)
    while flat:
        item = flat.pop()
        if isinstance(item, dict):
            size = item.get("size")
            if any(isinstance(item.get(k), str) for k in ("rm", "ro", "rota", "hotplug")) or (
                isinstance(size, str) and size.isdigit()
            ):
                return "<=2.32"
            if isinstance(item.get("children"), list):
                flat.extend(item["children"])
    # >=2.37 pretty-prints one key per line and joins siblings with "},{".
    if "},{" in text or re.search(r'^\s*"name":', text, re.MULTILINE):
        return ">=2.37"
    return "2.33-2.36"


def parse_lsblk(text: str) -> BlockDevices:
    """Parse `lsblk -J` output (any util-linux layout; integer or human sizes) into a device tree."""
    if not text.strip():
        raise ParseError("expected `lsblk -J` JSON output, got empty input")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        found = _excerpt(text)
        msg = f"expected `lsblk -J` JSON output ({exc.msg} at line {exc.lineno}); first line found: {found}"
        raise ParseError(msg) from exc
    devices = data.get("blockdevices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        shape = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        msg = f"expected `lsblk -J` JSON with a 'blockdevices' list, got JSON of another shape: {shape}"
        raise ParseError(msg)
    return BlockDevices(devices=[_device(d) for d in devices], layout=_layout(text, devices))
