"""Storage commands of a simulated host: df, lsblk and smartctl."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simfleet.commands import Result, fail
from simfleet.render_disk import (
    DEFAULT_COLUMNS,
    LSBLK_COLUMNS,
    block_devices,
    df_filesystems,
    render_df,
    render_lsblk_json,
    render_lsblk_table,
)
from simfleet.render_smart import banner, exit_status, open_failed, smart_json
from simfleet.render_smart_text import smart_text

if TYPE_CHECKING:
    from simfleet.machine import Machine


def cmd_df(m: Machine, args: list[str]) -> Result:
    """df [-P] [-i] [-h] [-k] [-T] [-B SIZE] [-x TYPE] [PATH...]."""
    inodes = human = posix = show_type = False
    block: int | None = None
    exclude: set[str] = set()
    paths = []
    it = iter(args)
    for a in it:
        if a.startswith("--block-size="):
            block = _block_size(a.partition("=")[2])
        elif a.startswith("--exclude-type="):
            exclude.add(a.partition("=")[2])
        elif a in ("--portability", "--inodes", "--human-readable", "--print-type", "--local"):
            posix |= a == "--portability"
            inodes |= a == "--inodes"
            human |= a == "--human-readable"
            show_type |= a == "--print-type"
        elif a.startswith("-") and len(a) > 1 and not a.startswith("--"):
            letters = a[1:]
            while letters:
                c, letters = letters[0], letters[1:]
                if c in "Bxt":
                    value = letters or next(it, "")
                    letters = ""
                    if c == "B":
                        block = _block_size(value)
                    elif c == "x":
                        exclude.add(value)
                elif c in "PihHkTla":
                    posix |= c == "P"
                    inodes |= c == "i"
                    human |= c in "hH"
                    show_type |= c == "T"
                    block = 1024 if c == "k" else block
                else:
                    return fail(f"df: invalid option -- '{c}'\nTry 'df --help' for more information.")
        else:
            paths.append(a)
    if block == 0:
        return fail("df: invalid block size")
    rows = [f for f in df_filesystems(m.profile) if f.fstype not in exclude]
    if paths:
        chosen = []
        for path in paths:
            found = max(
                (f for f in rows if path == f.mount or path.startswith(f.mount.rstrip("/") + "/")),
                key=lambda f: len(f.mount),
                default=None,
            )
            if found is None:
                return fail(f"df: {path}: No such file or directory")
            chosen.append(found)
        rows = chosen
    return Result(render_df(m.profile, inodes, block, human, posix, show_type, rows))


def _block_size(text: str) -> int:
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text[-1:].upper() in mult:
        return int(text[:-1] or 1) * mult[text[-1:].upper()]
    return int(text) if text.isdigit() else 0


def cmd_lsblk(m: Machine, args: list[str]) -> Result:
    """lsblk [-J] [-b] [-d] [-n] [-l] [-p] [-o COLUMNS] [DEVICE...]."""
    flags: set[str] = set()
    cols: list[str] | None = None
    wanted = []
    it = iter(args)
    longs = {
        "--json": "J",
        "--bytes": "b",
        "--nodeps": "d",
        "--noheadings": "n",
        "--list": "l",
        "--paths": "p",
        "--all": "a",
    }
    for a in it:
        if a in ("-o", "--output") or a.startswith(("-o", "--output=")):
            spec = (
                a.partition("=")[2]
                if a.startswith("--output=")
                else (a[2:] if len(a) > 2 and a[1] == "o" else next(it, ""))
            )
            cols = [c.strip().lower() for c in spec.split(",") if c.strip()]
        elif a in longs:
            flags.add(longs[a])
        elif a.startswith("-") and not a.startswith("--"):
            flags.update(a[1:])
        elif a.startswith("/dev/"):
            wanted.append(a.removeprefix("/dev/"))
        else:
            return fail(f"lsblk: {a}: not a block device", 32)
    cols = cols or list(DEFAULT_COLUMNS)
    for c in cols:
        if c not in LSBLK_COLUMNS:
            return fail(f"lsblk: unknown column: {c.upper()}")
    devs = block_devices(m.profile)
    if wanted:
        devs = [d for d in devs if d["name"] in wanted]
        if not devs:
            return fail(f"lsblk: /dev/{wanted[0]}: not a block device", 32)
    if "p" in flags:
        _prefix_paths(devs)
    tree = "d" not in flags and "l" not in flags
    if "d" in flags:
        devs = [{k: v for k, v in d.items() if k != "children"} for d in devs]
    if "J" in flags:
        return Result(render_lsblk_json(devs, cols, "b" in flags))
    if "l" in flags:
        devs = [x for d in devs for x in [d, *d.get("children", [])]]
    return Result(render_lsblk_table(devs, cols, "b" in flags, "n" not in flags, tree))


def _prefix_paths(devs: list[dict[str, object]]) -> None:
    for d in devs:
        d["name"] = f"/dev/{d['name']}"
        kids = d.get("children")
        if isinstance(kids, list):
            _prefix_paths(kids)


def cmd_smartctl(m: Machine, args: list[str]) -> Result:
    """smartctl [-a|-x|-i|-H|-A] [-j] [-d TYPE] DEVICE; exit status is smartctl's bitmask."""
    p = m.profile
    as_json, devices = False, []
    it = iter(args)
    for a in it:
        if a in ("-j", "--json") or a.startswith("--json="):
            as_json = True
        elif a in ("-d", "--device", "-n", "--nocheck", "-l", "--log", "-T", "--tolerance"):
            next(it, "")
        elif a.startswith("-") and len(a) > 1:
            if a.startswith("--") or set(a[1:]) <= set("axiHAcj"):
                as_json = as_json or ("j" in a[1:] and not a.startswith("--"))
                continue
            return Result(
                f"=======> INVALID ARGUMENT TO -{a[1:2]}: {a[2:]}\n=======> VALID ARGUMENTS ARE: "
                "help\n\nUse smartctl -h to get a usage summary\n\n",
                "",
                1,
            )
        else:
            devices.append(a)
    argv = ["smartctl", *args]
    if len(devices) != 1:
        return Result(
            banner(p) + "ERROR: smartctl takes ONE device name as the final command-line argument.\n"
            f"You have provided {len(devices)} device names:\n\nUse smartctl -h to get a usage summary"
            "\n\n",
            "",
            1,
        )
    path = devices[0]
    disk = m.disk(path)
    if disk is None:
        return Result(open_failed(p, path, argv, as_json), "", 2)
    body = smart_json(p, disk, path, argv) if as_json else smart_text(p, disk)
    return Result(body, "", exit_status(disk))


STORAGE_COMMANDS = {"df": cmd_df, "lsblk": cmd_lsblk, "smartctl": cmd_smartctl}
