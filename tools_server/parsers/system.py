"""Parse `uptime`, /proc/loadavg and `nproc` output."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from tools_server.parsers.errors import ParseError

# "load average:" (procps), "load averages:" (BSD/macOS); numbers may use a decimal comma and
# be separated by ", " or by spaces only.
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_LOADS_RE = re.compile(r"load averages?:\s*" + _NUMBER + r",?\s+" + _NUMBER + r",?\s+" + _NUMBER + r"\s*$")
_UP_RE = re.compile(r"\bup\s+(?P<up>.*?),?\s+(?:(?P<users>\d+)\s+users?,\s*)?load averages?:")
_PART_RE = re.compile(r"^(\d+)\s*(days?|hrs?|hours?|mins?|minutes?|secs?|seconds?)$")
_CLOCK_RE = re.compile(r"^(\d+):(\d\d)$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_LOADAVG_RE = re.compile(r"^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+)/(\d+) (\d+)$")


class UptimeInfo(BaseModel):
    """What `uptime` prints: time since boot, logged-in users and the three load averages."""

    model_config = ConfigDict(frozen=True)

    # None when the "up ..." phrase is in a form not recognised (e.g. translated).
    uptime_seconds: int | None
    # None when uptime prints no user count (busybox).
    users: int | None
    load1: float
    load5: float
    load15: float


class LoadAvg(BaseModel):
    """/proc/loadavg: load averages, runnable/total scheduling entities and the last PID handed out."""

    model_config = ConfigDict(frozen=True)

    load1: float
    load5: float
    load15: float
    running: int
    total: int
    last_pid: int


class CpuCount(BaseModel):
    """Number of CPUs available to the process, from `nproc`."""

    model_config = ConfigDict(frozen=True)

    cpus: int


def _snippet(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        return "empty input"
    first = stripped.splitlines()[0]
    return repr(first[:80] + ("..." if len(first) > 80 else ""))


def _uptime_seconds(phrase: str) -> int | None:
    total = 0
    for part in (p.strip() for p in phrase.split(",")):
        clock = _CLOCK_RE.match(part)
        if clock:
            total += int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
            continue
        match = _PART_RE.match(part)
        if match is None:
            return None
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0]]
    return total


def parse_uptime(text: str) -> UptimeInfo:
    """Parse `uptime` output, e.g. ' 17:37:29 up 3 days,  4:05,  2 users,  load average: 0.60, 0.29, 0.12'."""
    line = next((raw.strip() for raw in text.splitlines() if "load average" in raw), "")
    loads = _LOADS_RE.search(line)
    if loads is None:
        msg = f"expected `uptime` output ending in 'load average: 0.60, 0.29, 0.12', found {_snippet(text)}"
        raise ParseError(msg)
    load1, load5, load15 = (float(v.replace(",", ".")) for v in loads.groups())
    up = _UP_RE.search(line)
    return UptimeInfo(
        uptime_seconds=_uptime_seconds(up.group("up")) if up else None,
        users=int(up.group("users")) if up and up.group("users") else None,
        load1=load1,
        load5=load5,
        load15=load15,
    )


def parse_loadavg(text: str) -> LoadAvg:
    """Parse /proc/loadavg, e.g. '0.42 0.22 0.09 3/139 6418'."""
    match = _LOADAVG_RE.match(text.strip())
    if match is None:
        msg = f"expected /proc/loadavg like '0.42 0.22 0.09 3/139 6418', found {_snippet(text)}"
        raise ParseError(msg)
    load1, load5, load15, running, total, last_pid = match.groups()
    return LoadAvg(
        load1=float(load1),
        load5=float(load5),
        load15=float(load15),
        running=int(running),
        total=int(total),
        last_pid=int(last_pid),
    )


def parse_nproc(text: str) -> CpuCount:
    """Parse `nproc` output: one positive integer."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        msg = f"expected `nproc` to print a positive integer, found {_snippet(text)}"
        raise ParseError(msg)
    return CpuCount(cpus=int(value))
