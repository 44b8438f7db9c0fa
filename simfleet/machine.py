"""A simulated machine: one host's files and commands, answering argv with outputs computed once."""

from __future__ import annotations

import time

from simfleet.commands import COMMANDS, Command, Result
from simfleet.commands_procs import PROC_COMMANDS
from simfleet.commands_storage import STORAGE_COMMANDS
from simfleet.hardware import Disk, HostProfile
from simfleet.logs import build_logs
from simfleet.processes import Proc, build_processes
from simfleet.render_memory import render_meminfo
from simfleet.render_system import render_loadavg, render_os_release, render_proc_stat, render_proc_uptime
from simfleet.templates import templates

PS_ARGS = "pid,ppid,user,rss,vsz,pcpu,pmem,etimes,comm,args"
LSBLK_ARGS = "NAME,KNAME,TYPE,SIZE,ROTA,TRAN,MODEL,SERIAL,MOUNTPOINT"
# What an inspection asks; answered at start-up so a connection only looks them up.
WARM: tuple[tuple[str, ...], ...] = (
    ("free", "-b"),
    ("cat", "/proc/meminfo"),
    ("cat", "/proc/loadavg"),
    ("nproc",),
    ("dmidecode", "-t", "memory"),
    ("dmidecode", "-t", "baseboard", "-t", "system"),
    ("ps", "-eo", PS_ARGS, "--sort=-rss"),
    ("df", "-PB1"),
    ("df", "-Pi"),
    ("lsblk", "-J", "-b", "-o", LSBLK_ARGS),
)
_DYNAMIC = frozenset({"uptime"})
_CACHE_LIMIT = 128


class Machine:
    """One host's answers: static files, the process table and a per-argv result cache."""

    def __init__(self, profile: HostProfile) -> None:
        self.profile = profile
        self.procs = build_processes(profile)
        self.files = build_logs(profile, self.procs)
        self.files["/proc/meminfo"] = render_meminfo(profile)
        self.files["/proc/loadavg"] = render_loadavg(profile)
        self.files["/etc/hostname"] = profile.name + "\n"
        self.files["/etc/os-release"] = render_os_release(profile)
        self.dirs = {"/", "/proc", "/etc", "/var", "/var/log", "/dev", "/tmp"}
        for path in self.files:
            parts = path.split("/")
            self.dirs.update("/".join(parts[:i]) for i in range(2, len(parts)))
        self.commands: dict[str, Command] = {**COMMANDS, **PROC_COMMANDS, **STORAGE_COMMANDS}
        if "smartctl_missing" in profile.flags:
            del self.commands["smartctl"]
        self._cache: dict[tuple[str, ...], Result] = {}

    def warm(self) -> None:
        """Compute the answers to every inspection command now."""
        for argv in WARM:
            self.run(list(argv))
        if "smartctl" in self.commands:
            for d in self.profile.disks:
                self.run(["smartctl", "-j", "-a", d.path])

    def read_file(self, path: str) -> str | None:
        """A file's content, or None if it does not exist (or is a directory)."""
        if path == "/proc/uptime":
            return render_proc_uptime(self.profile, time.time())
        if path == "/proc/stat":
            return render_proc_stat(self.profile, time.time(), templates().intr_fields)
        return self.files.get(path)

    def is_dir(self, path: str) -> bool:
        """True for the directories that hold the host's files."""
        return path.rstrip("/") in self.dirs or path == "/"

    def pgrep_rows(self) -> list[Proc]:
        """Processes pgrep can see (not the pgrep process itself)."""
        return self.procs

    def disk(self, path: str) -> Disk | None:
        """The disk at /dev/sdX, /dev/nvmeNn1 or the NVMe controller /dev/nvmeN."""
        name = path.removeprefix("/dev/")
        return next((d for d in self.profile.disks if name in (d.name, d.name.removesuffix("n1"))), None)

    def ps_rows(self, self_args: str) -> list[Proc]:
        """The process table including the ps process itself."""
        shell = self.procs[-1]
        me = Proc(shell.pid + 4, shell.pid, shell.user, 4424, 11088, 0.0, 0, "ps", self_args)
        return [*self.procs, me]

    def has(self, name: str) -> bool:
        """True if the command is installed."""
        return name in self.commands

    def run(self, argv: list[str]) -> Result | None:
        """Run one command; None if it is not installed."""
        key = tuple(argv)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        command = self.commands.get(argv[0])
        if command is None:
            return None
        result = command(self, argv[1:])
        dynamic = argv[0] in _DYNAMIC or "/proc/uptime" in argv or "/proc/stat" in argv
        if not dynamic and len(self._cache) < _CACHE_LIMIT:
            self._cache[key] = result
        return result
