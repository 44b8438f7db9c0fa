"""The named command catalog: the only commands OpsWatchdog ever runs on a host.

Every command is an argv list built from validated arguments. A batch joins catalog commands with
`shlex.join` and fixed marker lines into one POSIX sh script, so one SSH exec answers a whole
inspection. The markers carry a per-batch random token so that command output (a log line, a process
name) cannot forge a section boundary.

Script shape (simfleet interprets exactly this subset of sh)::

    export LC_ALL=C
    echo '@@OPSWD <token> BEGIN <key>'
    <shlex.join(argv)> 2>&1
    echo "@@OPSWD <token> END <key> $?"
"""

from __future__ import annotations

import posixpath
import re
import secrets
import shlex
from dataclasses import dataclass
from enum import StrEnum

MARKER = "@@OPSWD"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DEVICE_RE = re.compile(r"^/dev/(sd[a-z]{1,2}|hd[a-z]|vd[a-z]{1,2}|xvd[a-z]{1,2}|nvme[0-9]{1,2}(n[0-9]{1,2})?)$")
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/@+-]*$")
_TOKEN_RE = re.compile(r"^[0-9a-f]{16}$")
_PGREP_RE = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9 ._/:=@+-]{0,127}$")
MAX_TAIL_LINES = 5000


class CatalogError(ValueError):
    """An argument was refused by the catalog's validation."""


class CommandName(StrEnum):
    """Names of the catalog commands."""

    FREE = "free"
    MEMINFO = "meminfo"
    DMIDECODE_MEMORY = "dmidecode_memory"
    DMIDECODE_BOARD = "dmidecode_board"
    PS = "ps"
    DF = "df"
    DF_INODES = "df_inodes"
    LSBLK = "lsblk"
    UPTIME = "uptime"
    LOADAVG = "loadavg"
    NPROC = "nproc"
    SMARTCTL = "smartctl"
    LOG_TAIL = "log_tail"
    PROC_STAT = "proc_stat"
    SLEEP = "sleep"
    PGREP = "pgrep"


PS_FIELDS = "pid,ppid,user,rss,vsz,pcpu,pmem,etimes,comm,args"
LSBLK_COLUMNS = "NAME,KNAME,TYPE,SIZE,ROTA,TRAN,MODEL,SERIAL,MOUNTPOINT"

_FIXED: dict[CommandName, tuple[str, ...]] = {
    CommandName.FREE: ("free", "-b"),
    CommandName.MEMINFO: ("cat", "/proc/meminfo"),
    CommandName.DMIDECODE_MEMORY: ("dmidecode", "-t", "memory"),
    CommandName.DMIDECODE_BOARD: ("dmidecode", "-t", "baseboard", "-t", "system"),
    CommandName.PS: ("ps", "-eo", PS_FIELDS, "--sort=-rss"),
    CommandName.DF: ("df", "-PB1"),
    CommandName.DF_INODES: ("df", "-Pi"),
    CommandName.LSBLK: ("lsblk", "-J", "-b", "-o", LSBLK_COLUMNS),
    CommandName.UPTIME: ("uptime",),
    CommandName.LOADAVG: ("cat", "/proc/loadavg"),
    CommandName.NPROC: ("nproc",),
    CommandName.PROC_STAT: ("cat", "/proc/stat"),
    CommandName.SLEEP: ("sleep", "1"),
}
# Commands that need root: run through `sudo -n` when the host is configured with become.
PRIVILEGED = frozenset({CommandName.DMIDECODE_MEMORY, CommandName.DMIDECODE_BOARD, CommandName.SMARTCTL})


@dataclass(frozen=True)
class CatalogCommand:
    """One validated command: a section key in a batch and its argv."""

    name: CommandName
    key: str
    argv: tuple[str, ...]


def validate_device(device: str) -> str:
    """Return `device` if it is a plain block device path such as /dev/sda or /dev/nvme0n1."""
    if not _DEVICE_RE.fullmatch(device):
        msg = f"refused device {device!r}: expected /dev/sdX, /dev/vdX, /dev/hdX, /dev/xvdX or /dev/nvmeN[nM]"
        raise CatalogError(msg)
    return device


def validate_path(path: str, roots: list[str]) -> str:
    """Return the normalised `path` if it is absolute, plain, and inside one of `roots`."""
    if not path or path.startswith("-") or not _PATH_RE.fullmatch(path):
        msg = f"refused path {path!r}: absolute path of letters, digits and ._/@+- only"
        raise CatalogError(msg)
    normal = posixpath.normpath(path)
    if ".." in path.split("/") or normal != path.rstrip("/"):
        msg = f"refused path {path!r}: not normalised (no '..', '//' or '.' parts)"
        raise CatalogError(msg)
    for root in roots:
        root_n = posixpath.normpath(root)
        if normal == root_n or normal.startswith(root_n.rstrip("/") + "/"):
            return normal
    msg = f"refused path {path!r}: outside the allowed roots {roots}"
    raise CatalogError(msg)


def command(name: CommandName, *, become: bool = False, key: str | None = None) -> CatalogCommand:
    """Build a fixed catalog command (one that takes no argument); `key` names its section when it runs twice."""
    argv = _FIXED[name]
    return CatalogCommand(name, key or name.value, _become(name, argv, become))


def smartctl(device: str, *, become: bool = False) -> CatalogCommand:
    """Build `smartctl -j -a DEVICE` for a validated device."""
    dev = validate_device(device)
    argv = ("smartctl", "-j", "-a", dev)
    return CatalogCommand(
        CommandName.SMARTCTL,
        "smartctl_" + dev.removeprefix("/dev/"),
        _become(CommandName.SMARTCTL, argv, become),
    )


def log_tail(path: str, lines: int, roots: list[str]) -> CatalogCommand:
    """Build `tail -n LINES PATH` for a path inside the allowlisted log roots."""
    if not 1 <= lines <= MAX_TAIL_LINES:
        msg = f"refused line count {lines}: between 1 and {MAX_TAIL_LINES}"
        raise CatalogError(msg)
    safe = validate_path(path, roots)
    return CatalogCommand(CommandName.LOG_TAIL, "log_tail", ("tail", "-n", str(lines), safe))


def pgrep(pattern: str, key: str) -> CatalogCommand:
    """Build `pgrep -f PATTERN` for a validated process pattern, as section `key`.

    The first character is wrapped in brackets (`nginx` -> `[n]ginx`): the regex still matches the
    process, but no longer matches the remote shell whose own command line contains the pattern,
    which would otherwise always report the service as running.
    """
    if not _PGREP_RE.fullmatch(pattern):
        msg = f"refused process pattern {pattern!r}: starts with a letter, digit or /, then letters, digits, ._/:=@+- "
        raise CatalogError(msg)
    guarded = f"[{pattern[0]}]{pattern[1:]}"
    return CatalogCommand(CommandName.PGREP, key, ("pgrep", "-f", guarded))


def _become(name: CommandName, argv: tuple[str, ...], become: bool) -> tuple[str, ...]:
    return ("sudo", "-n", *argv) if become and name in PRIVILEGED else argv


def new_token() -> str:
    """Return a fresh random marker token for one batch."""
    return secrets.token_hex(8)


def build_batch(commands: list[CatalogCommand], token: str) -> str:
    """Join catalog commands into one sh script with BEGIN/END markers around each section."""
    if not _TOKEN_RE.fullmatch(token):
        msg = "marker token must be 16 lowercase hex digits"
        raise CatalogError(msg)
    keys = [c.key for c in commands]
    if len(set(keys)) != len(keys) or not all(_KEY_RE.fullmatch(k) for k in keys):
        msg = f"batch keys must be unique identifiers: {keys}"
        raise CatalogError(msg)
    lines = ["export LC_ALL=C"]
    for c in commands:
        lines.append(f"echo '{MARKER} {token} BEGIN {c.key}'")
        lines.append(f"{shlex.join(c.argv)} 2>&1")
        lines.append(f'echo "{MARKER} {token} END {c.key} $?"')
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SectionResult:
    """The merged stdout/stderr and exit status of one batch section."""

    key: str
    exit_status: int | None
    output: str


def split_batch(stdout: str, token: str) -> dict[str, SectionResult]:
    """Split a batch's stdout into sections; a section cut short has exit_status None."""
    results: dict[str, SectionResult] = {}
    begin = f"{MARKER} {token} BEGIN "
    end = f"{MARKER} {token} END "
    pos = stdout.find(begin)
    # The token is random per batch, so a marker cannot occur in command output by chance or by forgery;
    # END is searched without a preceding newline because output need not end with one.
    while pos != -1:
        eol = stdout.find("\n", pos)
        if eol == -1:
            break
        key = stdout[pos + len(begin) : eol].strip()
        body_start = eol + 1
        close = stdout.find(f"{end}{key} ", body_start)
        if close == -1:
            results[key] = SectionResult(key, None, stdout[body_start:])
            break
        close_eol = stdout.find("\n", close)
        status = stdout[close + len(end) + len(key) + 1 : close_eol if close_eol != -1 else len(stdout)].strip()
        results[key] = SectionResult(key, int(status) if status.isdigit() else None, stdout[body_start:close])
        if close_eol == -1:
            break
        pos = stdout.find(begin, close_eol + 1)
    return results
