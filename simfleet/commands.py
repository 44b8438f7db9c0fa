"""The commands a simulated host has: each parses its argv like the real tool and renders the answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simfleet.render_dmi import TYPE_KEYWORDS, render_dmidecode
from simfleet.render_memory import render_free
from simfleet.render_system import render_uptime

if TYPE_CHECKING:
    from simfleet.machine import Machine


@dataclass(frozen=True)
class Result:
    """What one command wrote and its exit status."""

    stdout: str = ""
    stderr: str = ""
    status: int = 0


def fail(message: str, status: int = 1) -> Result:
    """A command that wrote `message` to stderr and exited with `status`."""
    return Result("", message if message.endswith("\n") else message + "\n", status)


def _split_flags(args: list[str]) -> tuple[set[str], list[str]]:
    """Expand short flag clusters (-PB1 is -P -B1 for df; here only letters) and keep operands."""
    flags: set[str] = set()
    operands = []
    for a in args:
        if a.startswith("--"):
            flags.add(a)
        elif a.startswith("-") and len(a) > 1:
            flags.update(f"-{c}" for c in a[1:])
        else:
            operands.append(a)
    return flags, operands


def cmd_free(m: Machine, args: list[str]) -> Result:
    """free [-b|-k|-m|-g|-h] [-w] [-t]."""
    longs = {
        "--bytes": "-b",
        "--kibi": "-k",
        "--mebi": "-m",
        "--gibi": "-g",
        "--human": "-h",
        "--wide": "-w",
        "--total": "-t",
    }
    flags, operands = _split_flags([longs.get(a, a) for a in args])
    bad = flags - {"-b", "-k", "-m", "-g", "-h", "-w", "-t"}
    if bad or operands:
        what = sorted(bad)[0] if bad else operands[0]
        return fail(
            f"free: invalid option -- '{what.lstrip('-')}'\n\nUsage:\n free [options]\n\nFor more details see free(1)."
        )
    unit = next((u for u in "bmgh" if f"-{u}" in flags), "k")
    return Result(render_free(m.profile.mem, unit, "-w" in flags, "-t" in flags))


def cmd_cat(m: Machine, args: list[str]) -> Result:
    """cat FILE...: known files only."""
    out, err, status = [], [], 0
    for path in args or ["-"]:
        content = m.read_file(path)
        if content is None:
            err.append(f"cat: {path}: {'Is a directory' if m.is_dir(path) else 'No such file or directory'}\n")
            status = 1
        else:
            out.append(content)
    return Result("".join(out), "".join(err), status)


def cmd_uptime(m: Machine, args: list[str]) -> Result:
    """uptime [-p|-s]."""
    p, now = m.profile, time.time()
    up = p.uptime_s + max(0, int(now - p.now))
    if args == ["-s"]:
        return Result(time.strftime("%Y-%m-%d %H:%M:%S\n", time.gmtime(now - up)))
    if args == ["-p"]:
        d, h, mi = up // 86400, up % 86400 // 3600, up % 3600 // 60
        parts = [f"{n} {u}{'s' if n != 1 else ''}" for n, u in ((d, "day"), (h, "hour"), (mi, "minute")) if n]
        return Result("up " + ", ".join(parts) + "\n")
    if args:
        return fail(f"uptime: invalid option -- '{args[0].lstrip('-')}'")
    return Result(render_uptime(p, now))


def cmd_nproc(m: Machine, args: list[str]) -> Result:
    """nproc [--all]."""
    return Result(f"{m.profile.cpus}\n")


def cmd_hostname(m: Machine, args: list[str]) -> Result:
    """hostname [-s|-f]."""
    return Result(f"{m.profile.name}\n")


def cmd_uname(m: Machine, args: list[str]) -> Result:
    """uname [-a|-r|-n|-m|-s]."""
    p = m.profile
    parts = {"-s": "Linux", "-n": p.name, "-r": p.kernel, "-m": "x86_64"}
    if "-a" in args:
        return Result(f"Linux {p.name} {p.kernel} #1 SMP PREEMPT_DYNAMIC x86_64 x86_64 x86_64 GNU/Linux\n")
    return Result(" ".join(parts[a] for a in (args or ["-s"]) if a in parts) + "\n")


def cmd_dmidecode(m: Machine, args: list[str]) -> Result:
    """dmidecode [-t TYPE]... [-s KEYWORD]; fails like an unprivileged run on dmidecode_denied hosts."""
    p = m.profile
    if "dmidecode_denied" in p.flags:
        return Result(
            f"# dmidecode {p.board.dmidecode}\n",
            "/sys/firmware/dmi/tables/smbios_entry_point: Permission denied\n/dev/mem: Permission denied\n",
            1,
        )
    types: set[int] | None = None
    it = iter(args)
    for a in it:
        if a in ("-t", "--type") or a.startswith("-t"):
            word = a[2:] if a.startswith("-t") and len(a) > 2 else next(it, "")
            chosen = (
                {int(x) for x in word.split(",") if x.isdigit()}
                if word[:1].isdigit()
                else set(TYPE_KEYWORDS.get(word, ()))
            )
            if not chosen:
                return fail(
                    f"Invalid type keyword: {word}\nValid type keywords are:\n"
                    + "".join(f"  {k}\n" for k in TYPE_KEYWORDS),
                    2,
                )
            types = (types or set()) | chosen
        elif a in ("-s", "--string"):
            return _dmi_string(m, next(it, ""))
        elif a == "--version":
            return Result(f"{p.board.dmidecode}\n")
        elif a not in ("-q", "--quiet"):
            return fail(f"dmidecode: unrecognized option '{a}'", 2)
    return Result(render_dmidecode(p, types))


def _dmi_string(m: Machine, keyword: str) -> Result:
    p, b = m.profile, m.profile.board
    values = {
        "system-manufacturer": b.sys_vendor,
        "system-product-name": b.sys_product,
        "system-serial-number": p.system_serial,
        "system-uuid": p.uuid,
        "baseboard-manufacturer": b.board_vendor,
        "baseboard-product-name": b.board_product,
        "baseboard-serial-number": p.board_serial,
    }
    if keyword not in values:
        return fail(f"Invalid string keyword: {keyword}", 2)
    return Result(values[keyword] + "\n")


def cmd_tail(m: Machine, args: list[str]) -> Result:
    """tail [-n N | -N] FILE... (no -f: a batch must end)."""
    return _head_tail(m, "tail", args)


def cmd_head(m: Machine, args: list[str]) -> Result:
    """head [-n N | -N] FILE..."""
    return _head_tail(m, "head", args)


def _head_tail(m: Machine, tool: str, args: list[str]) -> Result:
    count, from_start, files = 10, False, []
    it = iter(args)
    for a in it:
        if a in ("-n", "--lines") or a.startswith(("-n", "--lines=")):
            value = a.partition("=")[2] if a.startswith("--lines=") else a[2:] if len(a) > 2 else next(it, "")
            from_start = value.startswith("+")
            if not value.lstrip("+-").isdigit():
                return fail(f"{tool}: invalid number of lines: '{value}'")
            count = int(value.lstrip("+-"))
        elif a[:1] == "-" and a[1:].isdigit():
            count = int(a[1:])
        elif a.startswith("-") and a != "-":
            return fail(f"{tool}: invalid option -- '{a.lstrip('-')[:1]}'\nTry '{tool} --help' for more information.")
        else:
            files.append(a)
    out: list[str] = []
    err: list[str] = []
    status = 0
    for path in files:
        content = m.read_file(path)
        if content is None:
            status = 1
            err.append(
                f"{tool}: error reading '{path}': Is a directory\n"
                if m.is_dir(path)
                else f"{tool}: cannot open '{path}' for reading: No such file or directory\n"
            )
            continue
        if len(files) > 1:
            out.append(("\n" if out else "") + f"==> {path} <==\n")
        lines = content.splitlines(keepends=True)
        if tool == "head":
            out.append("".join(lines[:count]))
        else:
            out.append("".join(lines[count - 1 :] if from_start else lines[-count:] if count else []))
    return Result("".join(out), "".join(err), status)


Command = Callable[["Machine", list[str]], Result]
COMMANDS: dict[str, Command] = {
    "free": cmd_free,
    "cat": cmd_cat,
    "uptime": cmd_uptime,
    "nproc": cmd_nproc,
    "hostname": cmd_hostname,
    "uname": cmd_uname,
    "dmidecode": cmd_dmidecode,
    "tail": cmd_tail,
    "head": cmd_head,
}
