"""Process commands of a simulated host: ps (procps -o layout and sorting) and pgrep."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simfleet.commands import Result, fail
from simfleet.render_memory import PS_FIELDS, SORT_KEYS, render_ps

if TYPE_CHECKING:
    from simfleet.machine import Machine


def cmd_ps(m: Machine, args: list[str]) -> Result:
    """ps -e -o FIELDS [--sort=KEYS] [--no-headers]; plain `ps` shows the session only."""
    fields: list[str] = []
    headers: dict[int, str] = {}
    sort: list[str] = []
    every, show_headers = False, True
    it = iter(args)
    for a in it:
        if a.startswith("--sort"):
            sort += (a.partition("=")[2] or next(it, "")).split(",")
        elif a in ("--no-headers", "--no-heading"):
            show_headers = False
        elif a in ("-o", "--format") or (a.startswith("-") and not a.startswith("--") and "o" in a):
            every = every or "e" in a or "A" in a
            spec = a.split("o", 1)[1] if a.startswith("-") and a not in ("-o", "--format") else ""
            for item in (spec or next(it, "")).split(","):
                name, eq, head = item.partition("=")
                if eq:
                    headers[len(fields)] = head
                fields.append(name)
        elif a in ("-e", "-A", "-ef"):
            every = True
        else:
            return (
                fail(
                    "error: unsupported option (BSD syntax)\n\nUsage:\n ps [options]\n\n Try 'ps --help "
                    "<simple|list|output|threads|misc|all>'\n  or 'ps --help <s|l|o|t|m|a>'\n for additional help "
                    "text.\n\nFor more details see ps(1)."
                )
                if not a.startswith("-")
                else fail(f"error: unsupported option: {a}")
            )
    for f in fields:
        if f not in PS_FIELDS:
            return fail(
                f'error: unknown user-defined format specifier "{f}"\n\nUsage:\n ps [options]\n\nFor '
                "more details see ps(1)."
            )
    for key in sort:
        if key.lstrip("+-") not in SORT_KEYS:
            return fail("error: unknown sort specifier\n\nUsage:\n ps [options]\n\nFor more details see ps(1).")
    rows = m.ps_rows(" ".join(["ps", *args]))
    if not every:
        rows, fields = rows[-2:], fields or ["pid", "tty", "etime", "comm"]
    if not fields:
        fields = ["pid", "tty", "etime", "comm"]
    text = render_ps(
        rows, fields, sort, m.profile.mem.total, show_headers and not (headers and all(not h for h in headers.values()))
    )
    return Result(text)


def cmd_pgrep(m: Machine, args: list[str]) -> Result:
    """pgrep [-f] [-l|-a] [-x] [-c] [-u USER] PATTERN: exit 1 when nothing matches."""
    full = list_name = list_full = exact = count = False
    user: str | None = None
    patterns = []
    it = iter(args)
    for a in it:
        if a in ("-u", "--euid"):
            user = next(it, "")
        elif a.startswith("-") and len(a) > 1 and set(a[1:]) <= set("flaxc"):
            full |= "f" in a
            list_name |= "l" in a
            list_full |= "a" in a
            exact |= "x" in a
            count |= "c" in a
        elif a.startswith("-"):
            return fail(
                f"pgrep: invalid option -- '{a[1:2]}'\n\nUsage:\n pgrep [options] <pattern>\n\nFor more "
                "details see pgrep(1).",
                2,
            )
        else:
            patterns.append(a)
    if len(patterns) != 1:
        return fail("pgrep: no matching criteria specified\nTry `pgrep --help' for more information.", 2)
    try:
        regex = re.compile(patterns[0])
    except re.error:
        return fail(f"pgrep: invalid regex: {patterns[0]}", 2)
    hits = []
    for r in m.pgrep_rows():
        text = r.args if full else r.comm
        matched = regex.fullmatch(text) if exact else regex.search(text)
        if matched and (user is None or r.user == user):
            hits.append(f"{r.pid} {r.args}" if list_full else f"{r.pid} {r.comm}" if list_name else str(r.pid))
    if count:
        return Result(f"{len(hits)}\n", "", 0 if hits else 1)
    return Result("".join(h + "\n" for h in hits), "", 0 if hits else 1)


PROC_COMMANDS = {"ps": cmd_ps, "pgrep": cmd_pgrep}
