"""Disk views of a host: df (GNU coreutils 9 layout) and lsblk (util-linux 2.38 table and JSON)."""

from __future__ import annotations

import json
import math
from typing import Any

from simfleet.hardware import Filesystem, HostProfile
from simfleet.templates import templates


def df_filesystems(p: HostProfile) -> list[Filesystem]:
    """Every filesystem df lists, pseudo filesystems included, in mount order."""
    ram = p.mem.total * 1024
    debian = p.os.family == "debian"
    page = 4096

    def tmpfs(src: str, mount: str, size: int, used: int) -> Filesystem:
        size = size // page * page
        inodes = max(1024, size // page // 2)
        return Filesystem(src, mount, "tmpfs", size, used, size - used, inodes, 3 + used // 200_000)

    out = [tmpfs("udev" if debian else "devtmpfs", "/dev", ram // 2, 0)]
    out[0].fstype = "devtmpfs"
    real = sorted(p.filesystems, key=lambda f: (f.mount != "/", f.mount))
    run = tmpfs("tmpfs", "/run", ram // 10, 2_400_000 + p.index * 4096)
    shm = tmpfs("tmpfs", "/dev/shm", ram // 2, p.mem.shmem * 1024 // 3 // page * page)
    out += [run, real[0], shm] if debian else [shm, run, real[0]]
    if debian:
        out.append(tmpfs("tmpfs", "/run/lock", 5 * 1024 * 1024, 0))
    for name, size, mount in p.loops:
        files = size // 9000
        out.append(Filesystem(f"/dev/{name}", mount, "squashfs", size, size, 0, files, files))
    out += real[1:]
    if p.users:
        out.append(tmpfs("tmpfs", "/run/user/1000", ram // 10, 4096 * 3))
    return out


def _pct(part: int, whole: int) -> str:
    return f"{math.ceil(part * 100 / whole)}%" if whole else "-"


def _human_df(n: int) -> str:
    """coreutils -h: one decimal below 10, rounded up, powers of 1024."""
    if n < 1024:
        return str(n)
    value, unit = float(n), "B"
    for u in "KMGTPE":
        value, unit = value / 1024, u
        if value < 1024:
            break
    if value < 10:
        return f"{math.ceil(value * 10) / 10:.1f}{unit}"
    return f"{math.ceil(value)}{unit}"


def render_df(
    p: HostProfile,
    inodes: bool,
    block: int | None,
    human: bool,
    posix: bool,
    show_type: bool,
    only: list[Filesystem] | None = None,
) -> str:
    """Render df for the given options; `block` is the block size in bytes (default 1024)."""
    rows = only if only is not None else df_filesystems(p)
    pct_head = "Capacity" if posix else ("IUse%" if inodes else "Use%")
    if inodes and posix:
        heads = list(templates().dfi_header[1:-1])
    elif inodes:
        heads = ["Inodes", "IUsed", "IFree", "IUse%"]
    elif human:
        heads = ["Size", "Used", "Avail", pct_head]
    else:
        size = block or 1024
        label = f"{size}-blocks" if posix else ("1K-blocks" if size == 1024 else f"{size}B-blocks")
        heads = list(templates().df_header[1:-1]) if posix and size == 1 else [label, "Used", "Available", pct_head]
    table = [["Filesystem", *(["Type"] if show_type else []), *heads, "Mounted on"]]
    for fs in rows:
        if inodes:
            nums = [str(fs.inodes), str(fs.iused), str(fs.inodes - fs.iused), _pct(fs.iused, fs.inodes)]
        elif human:
            nums = [_human_df(fs.size), _human_df(fs.used), _human_df(fs.avail), _pct(fs.used, fs.used + fs.avail)]
        else:
            b = block or 1024
            nums = [str(-(-fs.size // b)), str(-(-fs.used // b)), str(fs.avail // b), _pct(fs.used, fs.used + fs.avail)]
        table.append([fs.source, *([fs.fstype] if show_type else []), *nums, fs.mount])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    left = {0, 1} if show_type else {0}
    lines = []
    for r in table:
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r[:-1], widths, strict=False))]
        lines.append(" ".join([*cells, r[-1]]))
    return "\n".join(lines) + "\n"


def block_devices(p: HostProfile) -> list[dict[str, Any]]:
    """The host's block device tree with every lsblk column's raw value."""
    devs: list[dict[str, Any]] = []
    for i, (name, size, mount) in enumerate(p.loops):
        devs.append(_dev(name, f"7:{i}", "loop", size, False, None, None, None, None, mount, "squashfs", True))
    sata = [d for d in p.disks if not d.name.startswith("nvme")]
    nvme = [d for d in p.disks if d.name.startswith("nvme")]
    minor = 0
    for d in [*sata, *nvme]:
        is_nvme = d.name.startswith("nvme")
        major = 259 if is_nvme else 8
        base = minor if is_nvme else (ord(d.name[-1]) - ord("a")) * 16
        tran, rota = ("nvme" if is_nvme else "sata"), d.model.kind == "hdd"
        parts = p.partitions.get(d.name, [])
        dev = _dev(
            d.name,
            f"{major}:{base}",
            "disk",
            d.model.capacity,
            rota,
            tran,
            d.model.model,
            d.serial,
            None if is_nvme else "ATA     ",
            None,
            None,
        )
        minor = base + 1 if is_nvme else minor
        children = []
        for n, part in enumerate(parts, start=1):
            mm = f"{major}:{minor}" if is_nvme else f"{major}:{base + n}"
            minor += 1 if is_nvme else 0
            children.append(
                _dev(part.name, mm, "part", part.size, rota, tran, None, None, None, part.mount, part.fstype)
            )
        if children:
            dev["children"] = children
        devs.append(dev)
    return devs


def _dev(
    name: str,
    majmin: str,
    typ: str,
    size: int,
    rota: bool,
    tran: str | None,
    model: str | None,
    serial: str | None,
    vendor: str | None,
    mount: str | None,
    fstype: str | None,
    ro: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "kname": name,
        "path": f"/dev/{name}",
        "maj:min": majmin,
        "rm": False,
        "ro": ro,
        "size": size,
        "type": typ,
        "rota": rota,
        "tran": tran,
        "model": model,
        "serial": serial,
        "vendor": vendor,
        "mountpoint": mount,
        "mountpoints": [mount],
        "fstype": fstype,
    }


LSBLK_COLUMNS = (
    "name",
    "kname",
    "path",
    "maj:min",
    "rm",
    "ro",
    "size",
    "type",
    "rota",
    "tran",
    "model",
    "serial",
    "vendor",
    "mountpoint",
    "mountpoints",
    "fstype",
)
DEFAULT_COLUMNS = ["name", "maj:min", "rm", "size", "ro", "type", "mountpoints"]


def human_lsblk(n: int) -> str:
    """util-linux size_to_human_string with one-letter suffixes: 931.5G, 256G, 0B."""
    if n < 1024:
        return f"{n}B"
    value, unit = float(n), "B"
    for u in "KMGTPE":
        if value < 1024:
            break
        value, unit = value / 1024, u
    text = f"{value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + unit


def _json_value(col: str, dev: dict[str, Any], raw_bytes: bool) -> str:
    value = dev[col]
    if col == "size" and not raw_bytes:
        value = human_lsblk(value)
    return json.dumps(value, ensure_ascii=False)


def render_lsblk_json(devs: list[dict[str, Any]], cols: list[str], raw_bytes: bool, tree: bool = True) -> str:
    """util-linux >= 2.37 JSON: three-space indent, objects of an array joined by '},{'."""
    out = ["{", '   "blockdevices": [']
    _json_objects(out, devs, cols, raw_bytes, 2, tree)
    out += ["   ]", "}"]
    return "\n".join(out) + "\n"


def _json_objects(
    out: list[str], devs: list[dict[str, Any]], cols: list[str], raw: bool, depth: int, tree: bool
) -> None:
    pad = "   " * depth
    for i, dev in enumerate(devs):
        out.append(pad + "{" if i == 0 else pad + "},{")
        members = []
        for c in cols:
            if c == "mountpoints":
                members.append(f'{pad}   "mountpoints": [\n{pad}       {json.dumps(dev[c][0])}\n{pad}   ]')
            else:
                members.append(f'{pad}   "{c}": {_json_value(c, dev, raw)}')
        kids = dev.get("children") if tree else None
        if kids:
            members.append(f'{pad}   "children": [')
        out.append(",\n".join(members))
        if kids:
            _json_objects(out, kids, cols, raw, depth + 2, tree)
            out.append(pad + "   ]")
    if devs:
        out.append(pad + "}")


def render_lsblk_table(devs: list[dict[str, Any]], cols: list[str], raw: bool, headings: bool, tree: bool) -> str:
    """The column table lsblk prints without -J."""
    right = {"maj:min": False, "rm": True, "ro": True, "size": True, "rota": True}
    flat: list[tuple[str, dict[str, Any]]] = []
    for dev in devs:
        flat.append(("", dev))
        kids = dev.get("children", [])
        for n, kid in enumerate(kids):
            flat.append((("└─" if n == len(kids) - 1 else "├─") if tree else "", kid))
    rows = [[c.upper() for c in cols]] if headings else []
    for prefix, dev in flat:
        cells = []
        for c in cols:
            v = dev[c][0] if c == "mountpoints" else dev[c]
            text = "" if v is None else ("1" if v else "0") if isinstance(v, bool) else str(v)
            if c == "size" and not raw:
                text = human_lsblk(v)
            cells.append(prefix + text if c in ("name", "kname") else text)
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if right.get(cols[i]) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append(" ".join([*cells[:-1], r[-1]]))
    return "\n".join(lines) + "\n"
