"""Parse `ps -eo pid,ppid,user,rss,vsz,pcpu,pmem,etimes,comm,args` output into a process table."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from tools_server.parsers.errors import ParseError

PS_COMMAND = "ps -eo pid,ppid,user,rss,vsz,pcpu,pmem,etimes,comm,args --sort=-rss"

# Header names ps prints for each field, including the aliases (rsz, etime, cmd) that mean the same.
_SCALAR_HEADERS: dict[str, str] = {
    "PID": "pid",
    "PPID": "ppid",
    "USER": "user",
    "RSS": "rss",
    "RSZ": "rss",
    "VSZ": "vsz",
    "%CPU": "cpu",
    "%MEM": "mem",
    "ELAPSED": "elapsed",
}
_TEXT_HEADERS = frozenset({"COMMAND", "CMD"})
_ETIME_RE = re.compile(r"^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)$")


class Process(BaseModel):
    """One row of the ps table; sizes in bytes (ps prints KiB)."""

    model_config = ConfigDict(frozen=True)

    pid: int
    ppid: int
    user: str
    rss_bytes: int
    vsz_bytes: int
    cpu_percent: float
    mem_percent: float
    elapsed_seconds: int
    comm: str
    args: str


class ProcessTable(BaseModel):
    """The processes in the order ps printed them (the first `limit` only, when parsed with a limit)."""

    model_config = ConfigDict(frozen=True)

    processes: list[Process]
    total_processes: int = Field(description="Process rows ps printed, including any not parsed")

    def top_by_rss(self, n: int) -> list[Process]:
        """The `n` processes with the largest resident set, largest first."""
        if n <= 0:
            return []
        return sorted(self.processes, key=lambda p: p.rss_bytes, reverse=True)[:n]


def _header(line: str) -> tuple[list[str], int]:
    """Scalar field names in header order, and the column where the comm header starts."""
    tokens = [(m.group(), m.start()) for m in re.finditer(r"\S+", line)]
    names = [t for t, _ in tokens]
    if len(tokens) < 3 or names[-1] not in _TEXT_HEADERS or names[-2] not in _TEXT_HEADERS:
        msg = (
            f"expected a ps header ending in 'COMMAND COMMAND' (comm, args) as printed by `{PS_COMMAND}`, "
            f"found {line.strip()[:100]!r}"
        )
        raise ParseError(msg)
    fields = [_SCALAR_HEADERS.get(name, "") for name in names[:-2]]
    wanted = sorted(set(_SCALAR_HEADERS.values()))
    if sorted(fields) != wanted:
        msg = f"ps header needs exactly the columns of `{PS_COMMAND}` (any order), found {' '.join(names)!r}"
        raise ParseError(msg)
    return fields, tokens[-2][1]


def _elapsed(value: str) -> int:
    if value.isdecimal():
        return int(value)
    # `etime` instead of `etimes`: [[dd-]hh:]mm:ss
    match = _ETIME_RE.match(value)
    if match is None:
        msg = f"expected elapsed seconds or [[dd-]hh:]mm:ss, found {value!r}"
        raise ValueError(msg)
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _split_command(line: str, after_scalars: int, comm_col: int) -> tuple[str, str]:
    # comm never starts with a blank, but wide values before it may push it off its header column.
    start = len(line) - len(line[after_scalars:].lstrip(" "))
    # args starts after comm's 15-character column, or later when an unabsorbed shift pushed it right.
    args_from = max(min(start, comm_col) + 16, start + 1)
    for pos in range(args_from, len(line)):
        if line[pos - 1] == " " and line[pos] != " ":
            return line[start:pos].rstrip(), line[pos:].rstrip()
    return line[start:].rstrip(), ""


def _row(line: str, fields: list[str], comm_col: int) -> Process:
    match = re.match(r"\s*" + r"(\S+)\s+" * (len(fields) - 1) + r"(\S+)", line)
    if match is None:
        raise ValueError("fewer columns than the header")
    values = dict(zip(fields, match.groups(), strict=True))
    comm, args = _split_command(line, match.end(), comm_col)
    if not comm:
        raise ValueError("no command name")
    return Process(
        pid=int(values["pid"]),
        ppid=int(values["ppid"]),
        user=values["user"],
        rss_bytes=int(values["rss"]) * 1024,
        vsz_bytes=int(values["vsz"]) * 1024,
        cpu_percent=float(values["cpu"]),
        mem_percent=float(values["mem"]),
        elapsed_seconds=_elapsed(values["elapsed"]),
        comm=comm,
        args=args,
    )


def parse_ps(text: str, *, limit: int | None = None) -> ProcessTable:
    """Parse the output of `ps -eo pid,ppid,user,rss,vsz,pcpu,pmem,etimes,comm,args` (header included).

    With `limit`, only the first `limit` rows are parsed (the rest are counted): inspections sort with
    `--sort=-rss` and need only the top, and a busy host prints hundreds of rows.
    """
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines:
        msg = f"expected `{PS_COMMAND}` output, found empty input"
        raise ParseError(msg)
    fields, comm_col = _header(lines[0])
    processes: list[Process] = []
    rows = lines[1:] if limit is None else lines[1 : 1 + max(limit, 1)]
    for number, line in enumerate(rows, start=2):
        try:
            processes.append(_row(line, fields, comm_col))
        except ValueError as exc:
            msg = f"ps line {number} is not a process row ({exc}): {line.strip()[:100]!r}"
            raise ParseError(msg) from exc
    if not processes:
        msg = "ps printed a header but no process rows (ps -e always lists itself): output truncated?"
        raise ParseError(msg)
    return ProcessTable(processes=processes, total_processes=len(lines) - 1)
