"""CPU seconds a process and its descendants spent between two moments (psutil, user + system)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import psutil

ChildKey = tuple[int, float]  # (pid, create time): a pid the kernel reused is another process
_GONE = (psutil.NoSuchProcess, psutil.AccessDenied)  # a descendant exited (or turned unreadable) while read


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds so far of a process and of each descendant alive at that moment."""

    pid: int
    own_s: float
    children_s: dict[ChildKey, float]


@dataclass
class CpuUsed:
    """CPU seconds since a mark: the process's own, its descendants' (total and by label), what was not seen."""

    own_s: float
    children_s: float = 0.0
    by_child: dict[str, float] = field(default_factory=dict)
    children_gone: int = 0  # alive at the mark, gone at the end: their CPU after the mark is not counted


def _cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _children(pid: int) -> dict[ChildKey, psutil.Process]:
    found = {}
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(*_GONE):
            found[(child.pid, child.create_time())] = child
    return found


def label(proc: psutil.Process) -> str:
    """`app worker`, `tools_server`: the module a `python -m` process runs and its subcommand, else its name."""
    with contextlib.suppress(*_GONE):
        argv = proc.cmdline()
        if "-m" in argv[:-1]:
            module, *rest = argv[argv.index("-m") + 1 :]
            return " ".join([module, *rest[:1]]) if rest and not rest[0].startswith("-") else module
        return proc.name()
    return f"pid {proc.pid}"


def mark_cpu(pid: int) -> CpuMark:
    """CPU seconds so far of `pid` and of each of its descendants."""
    children = {}
    for key, child in _children(pid).items():
        with contextlib.suppress(*_GONE):
            children[key] = _cpu_s(child)
    return CpuMark(pid, _cpu_s(psutil.Process(pid)), children)


def cpu_used_since(mark: CpuMark) -> CpuUsed:
    """CPU seconds since `mark`; a descendant that started after it counts in full."""
    used = CpuUsed(_cpu_s(psutil.Process(mark.pid)) - mark.own_s)
    now = _children(mark.pid)
    for key, child in now.items():
        with contextlib.suppress(*_GONE):
            spent = _cpu_s(child) - mark.children_s.get(key, 0.0)
            name = label(child)
            used.children_s += spent
            used.by_child[name] = used.by_child.get(name, 0.0) + spent
    used.children_gone = len(mark.children_s.keys() - now.keys())
    return used
