"""Memory views of a host: /proc/meminfo, free (procps-ng 4) and ps -o (procps column layout)."""

from __future__ import annotations

from collections.abc import Callable

from simfleet.hardware import HostProfile, MemState
from simfleet.processes import Proc
from simfleet.templates import templates

# Keys a kernel older than the version shown does not print.
_KEY_SINCE = {
    "KReclaimable": (4, 20),
    "FileHugePages": (5, 4),
    "FilePmdMapped": (5, 4),
    "Zswap": (5, 19),
    "Zswapped": (5, 19),
    "SecPageTables": (6, 2),
    "Balloon": (99, 0),
}


def meminfo_values(p: HostProfile) -> dict[str, int]:
    """Every /proc/meminfo value in kB (pages for HugePages_*)."""
    m = p.mem
    file = m.buffers + m.cached - m.shmem
    anon = m.anon + m.shmem
    extra = (p.installed_gib * 1024 * 1024 - m.total) // 2
    return {
        "MemTotal": m.total,
        "MemFree": m.free,
        "MemAvailable": m.available,
        "Buffers": m.buffers,
        "Cached": m.cached,
        "SwapCached": m.swap_cached,
        "Active": int(anon * 0.9) + int(file * 0.45),
        "Inactive": anon - int(anon * 0.9) + file - int(file * 0.45),
        "Active(anon)": int(anon * 0.9),
        "Inactive(anon)": anon - int(anon * 0.9),
        "Active(file)": int(file * 0.45),
        "Inactive(file)": file - int(file * 0.45),
        "Unevictable": 9360,
        "Mlocked": 7648,
        "SwapTotal": m.swap_total,
        "SwapFree": m.swap_free,
        "Zswap": 0,
        "Zswapped": 0,
        "Dirty": min(file // 50, 90000),
        "Writeback": 0,
        "AnonPages": m.anon,
        "Mapped": min(file, m.total // 40),
        "Shmem": m.shmem,
        "KReclaimable": m.sreclaim,
        "Slab": m.sreclaim + m.sunreclaim,
        "SReclaimable": m.sreclaim,
        "SUnreclaim": m.sunreclaim,
        "KernelStack": 8000 + p.cpus * 400,
        "PageTables": 4000 + m.anon // 400,
        "SecPageTables": 0,
        "NFS_Unstable": 0,
        "Bounce": 0,
        "WritebackTmp": 0,
        "CommitLimit": m.swap_total + m.total // 2,
        "Committed_AS": int(m.anon * 1.4) + m.shmem,
        "VmallocTotal": 34359738367,
        "VmallocUsed": 60000 + p.cpus * 900,
        "VmallocChunk": 0,
        "Percpu": 2000 + p.cpus * 1100,
        "AnonHugePages": (m.anon // 8) // 2048 * 2048,
        "ShmemHugePages": 0,
        "ShmemPmdMapped": 0,
        "FileHugePages": 0,
        "FilePmdMapped": 0,
        "Balloon": 0,
        "HugePages_Total": 0,
        "HugePages_Free": 0,
        "HugePages_Rsvd": 0,
        "HugePages_Surp": 0,
        "Hugepagesize": 2048,
        "Hugetlb": 0,
        "DirectMap4k": 602112,
        "DirectMap2M": 16 * 1024 * 1024 + extra // 4 // 2048 * 2048,
        "DirectMap1G": max(0, (m.total + extra - 602112 - 16 * 1024 * 1024) // 1048576 * 1048576),
    }


def render_meminfo(p: HostProfile) -> str:
    """The text of /proc/meminfo, in this machine's kernel key order."""
    major, minor = (int(x) for x in p.kernel.split(".")[:2])
    values = meminfo_values(p)
    lines = []
    for key, unit in templates().meminfo_keys:
        if _KEY_SINCE.get(key, (0, 0)) > (major, minor):
            continue
        lines.append(f"{key + ':':<16}{values.get(key, 0):>8}" + (" kB" if unit else ""))
    return "\n".join(lines) + "\n"


def _human(n: int) -> str:
    if n < 1024:
        return f"{n}B"
    value = float(n)
    for unit in ("Ki", "Mi", "Gi", "Ti", "Pi"):
        value /= 1024
        if value < 1024 or unit == "Pi":
            return f"{value:.1f}{unit}" if value < 10 else f"{round(value)}{unit}"
    return f"{n}B"


def render_free(mem: MemState, unit: str = "k", wide: bool = False, total: bool = False) -> str:
    """procps-ng `free` in kibibytes (k), bytes (b), mebibytes (m), gibibytes (g) or human (h)."""
    scale: dict[str, Callable[[int], str]] = {
        "b": str,
        "k": lambda n: str(n // 1024),
        "m": lambda n: str(n // 1024**2),
        "g": lambda n: str(n // 1024**3),
        "h": _human,
    }
    f = scale[unit]
    k = 1024
    t, avail, free = mem.total * k, mem.available * k, mem.free * k
    bc = [mem.buffers * k, (mem.cached + mem.sreclaim) * k] if wide else [(mem.buffers + mem.cached + mem.sreclaim) * k]
    heads = ["total", "used", "free", "shared", *(["buffers", "cache"] if wide else ["buff/cache"]), "available"]
    st, sf = mem.swap_total * k, mem.swap_free * k
    rows = [
        ("Mem:", [t, t - avail, free, mem.shmem * k, *bc, avail]),
        ("Swap:", [st, st - sf, sf]),
    ]
    if total:
        rows.append(("Total:", [t + st, t - avail + st - sf, free + sf]))
    header = "        " + "".join(f" {h:>11}" for h in heads)
    lines = [templates().free_header if header.split() == templates().free_header.split() else header]
    lines += [f"{label:<8}" + "".join(f" {f(v):>11}" for v in vals) for label, vals in rows]
    return "\n".join(lines) + "\n"


# ps field name -> (header, width, right-justified, value)
_PsGetter = Callable[[Proc, int], str]


def _pmem(r: Proc, total: int) -> str:
    per_mille = r.rss * 1000 // max(total, 1)
    return f"{per_mille // 10:2d}.{per_mille % 10}"


def _pcpu(r: Proc, total: int) -> str:
    pm = round(r.pcpu * 10)
    return str(pm // 10) if pm > 9999 else f"{pm // 10}.{pm % 10}"


def _etime(r: Proc, total: int) -> str:
    d, rest = divmod(r.etimes, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _user(r: Proc, total: int) -> str:
    return r.user if len(r.user) <= 8 else r.user[:7] + "+"


PS_FIELDS: dict[str, tuple[str, int, bool, _PsGetter]] = {
    "pid": ("PID", 5, True, lambda r, t: str(r.pid)),
    "ppid": ("PPID", 5, True, lambda r, t: str(r.ppid)),
    "user": ("USER", 8, False, _user),
    "rss": ("RSS", 5, True, lambda r, t: str(r.rss)),
    "rsz": ("RSZ", 5, True, lambda r, t: str(r.rss)),
    "vsz": ("VSZ", 6, True, lambda r, t: str(r.vsz)),
    "pcpu": ("%CPU", 4, True, _pcpu),
    "%cpu": ("%CPU", 4, True, _pcpu),
    "pmem": ("%MEM", 4, True, _pmem),
    "%mem": ("%MEM", 4, True, _pmem),
    "etimes": ("ELAPSED", 7, True, lambda r, t: str(r.etimes)),
    "etime": ("ELAPSED", 11, True, _etime),
    "comm": ("COMMAND", 15, False, lambda r, t: r.comm),
    "args": ("COMMAND", 27, False, lambda r, t: r.args),
    "command": ("COMMAND", 27, False, lambda r, t: r.args),
    "cmd": ("CMD", 27, False, lambda r, t: r.args),
    "tty": ("TT", 8, False, lambda r, t: "?"),
    "stat": ("STAT", 4, False, lambda r, t: "S" if r.pcpu < 50 else "R"),
}
SORT_KEYS: dict[str, Callable[[Proc], object]] = {
    "pid": lambda r: r.pid,
    "ppid": lambda r: r.ppid,
    "rss": lambda r: r.rss,
    "rsz": lambda r: r.rss,
    "vsz": lambda r: r.vsz,
    "pcpu": lambda r: r.pcpu,
    "%cpu": lambda r: r.pcpu,
    "pmem": lambda r: r.rss,
    "%mem": lambda r: r.rss,
    "etimes": lambda r: r.etimes,
    "etime": lambda r: r.etimes,
    "comm": lambda r: r.comm,
    "user": lambda r: r.user,
    "args": lambda r: r.args,
    "cmd": lambda r: r.args,
}


def render_ps(rows: list[Proc], fields: list[str], sort: list[str], total_kb: int, headers: bool = True) -> str:
    """Render rows the way procps lays out -o columns: overflow is absorbed by later padding."""
    ordered = sorted(rows, key=lambda r: r.pid)
    for key in reversed(sort):
        desc = key.startswith("-")
        ordered.sort(key=SORT_KEYS[key.lstrip("+-")], reverse=desc)  # type: ignore[arg-type]
    specs = [PS_FIELDS[f] for f in fields]
    columns = [[h for h, _, _, _ in specs]] if headers else []
    cells = [[get(r, total_kb) for r in ordered] for _, _, _, get in specs]
    table = [list(row) for row in zip(*cells, strict=True)] if cells else []
    if headers:
        table.insert(0, columns[0])
    last = len(specs) - 1
    wide = {i for c, (_, w, _, _) in zip(cells[:last], specs, strict=False) for i, v in enumerate(c) if len(v) > w}
    offset = 1 if headers else 0
    lines = []
    for n, row in enumerate(table):
        if n - offset in wide:
            lines.append(_ps_overflow(row, specs))
            continue
        parts = [c.rjust(s[1]) if s[2] else c.ljust(s[1]) for c, s in zip(row[:last], specs, strict=False)]
        parts.append(row[last].rjust(specs[last][1]) if specs[last][2] else row[last])
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def _ps_overflow(cells: list[str], specs: list[tuple[str, int, bool, _PsGetter]]) -> str:
    out: list[str] = []
    correct = actual = 0
    for i, (text, (_, width, right, _)) in enumerate(zip(cells, specs, strict=True)):
        leftpad = max(0, width - len(text)) if right else 0
        space = correct - actual + leftpad
        if space < 1:
            space = 1 if i else 0
        out.append(" " * space + text)
        actual += space + len(text)
        correct += width + 1
    return "".join(out)
