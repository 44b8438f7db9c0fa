"""The sh subset a batch script uses: one simple command per line, `$?`, a trailing `2>&1`, `sudo -n`."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from simfleet.commands import Result
from simfleet.machine import Machine

_MERGE = re.compile(r"\s2>&1\s*$")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SPECIAL = set("|;&<>()`")
MAX_SLEEP_S = 60.0
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ScriptResult:
    """Everything a script wrote and the exit status of its last command."""

    stdout: str
    stderr: str
    status: int


class _Unsupported(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _expand(line: str, status: int) -> str:
    """Replace `$?` outside single quotes; refuse every other expansion and operator."""
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        elif c in "'\"" and (not quote or quote == c):
            quote = "" if quote else c
        elif c == "$" and line[i + 1 : i + 2] == "?":
            out.append(str(status))
            i += 2
            continue
        elif c == "$" and (line[i + 1 : i + 2].isalnum() or line[i + 1 : i + 2] in ("{", "(", "_")):
            raise _Unsupported(line[i : i + 2])
        elif c == "`" or (c in _SPECIAL and not quote):
            raise _Unsupported(c)
        out.append(c)
        i += 1
    return "".join(out)


async def run_line(machine: Machine, line: str, lineno: int, status: int, sleep: Sleep = asyncio.sleep) -> Result:
    """Run one script line the way dash would (for the supported subset)."""
    merge = bool(_MERGE.search(" " + line))
    if merge:
        line = _MERGE.sub("", " " + line).strip()
    try:
        argv = shlex.split(_expand(line, status))
    except _Unsupported as exc:
        return Result("", f'sh: {lineno}: Syntax error: "{exc.token}" unexpected\n', 2)
    except ValueError:
        return Result("", f"sh: {lineno}: Syntax error: Unterminated quoted string\n", 2)
    while argv and _ASSIGN.match(argv[0]):
        argv.pop(0)
    if argv[:1] == ["sudo"]:
        argv.pop(0)
        while argv and argv[0].startswith("-"):
            argv.pop(0)
        if not argv:
            return _merged(Result("", "usage: sudo -h | -K | -k | -V\n", 1), merge)
    if not argv or argv[0] in ("export", ":", "true"):
        return Result()
    if argv[0] == "false":
        return Result(status=1)
    if argv[0] == "echo":
        newline = argv[1:2] != ["-n"]
        words = argv[1:] if newline else argv[2:]
        return Result(" ".join(words) + ("\n" if newline else ""))
    if argv[0] == "sleep":
        seconds = _seconds(argv[1:])
        if seconds is None:
            return _merged(
                Result(
                    "",
                    f"sleep: invalid time interval '{' '.join(argv[1:])}'\nTry 'sleep --help' for more information.\n",
                    1,
                ),
                merge,
            )
        await sleep(seconds)
        return Result()
    result = machine.run(argv)
    if result is None:
        result = Result("", f"sh: {lineno}: {argv[0]}: not found\n", 127)
    return _merged(result, merge)


def _merged(r: Result, merge: bool) -> Result:
    return Result(r.stdout + r.stderr, "", r.status) if merge and r.stderr else r


def _seconds(args: list[str]) -> float | None:
    """A sleep interval this shell honours: one plain non-negative number up to MAX_SLEEP_S."""
    if len(args) != 1:
        return None
    try:
        value = float(args[0])
    except ValueError:
        return None
    return value if 0 <= value <= MAX_SLEEP_S else None


async def run_script(machine: Machine, script: str, sleep: Sleep = asyncio.sleep) -> ScriptResult:
    """Run a script line by line; `sleep N` waits without blocking the loop, `exit N` stops the script."""
    out: list[str] = []
    err: list[str] = []
    status = 0
    for lineno, raw in enumerate(script.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "exit" and len(words) <= 2:
            status = int(words[1]) if len(words) == 2 and words[1].isdigit() else status
            break
        r = await run_line(machine, line, lineno, status, sleep)
        out.append(r.stdout)
        err.append(r.stderr)
        status = r.status
    return ScriptResult("".join(out), "".join(err), status)
