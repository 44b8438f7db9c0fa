"""Parser of /proc/stat's aggregate `cpu` line, and CPU usage between two readings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tools_server.parsers.errors import ParseError

_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


class CpuTimes(BaseModel):
    """Cumulative CPU time in clock ticks since boot, summed over all CPUs."""

    model_config = ConfigDict(frozen=True)

    user: int
    nice: int
    system: int
    idle: int
    iowait: int
    irq: int
    softirq: int
    steal: int

    @property
    def total(self) -> int:
        """All ticks (guest time is already counted in user/nice)."""
        return sum(getattr(self, f) for f in _FIELDS)

    @property
    def idle_all(self) -> int:
        """Ticks doing nothing, including waiting for I/O."""
        return self.idle + self.iowait


def parse_proc_stat(text: str) -> CpuTimes:
    """Read the first `cpu ` line of /proc/stat (kernels before 2.6.11 lack steal: it reads as 0)."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            parts = line.split()[1:]
            if len(parts) < 4 or not all(p.isdigit() for p in parts):
                break
            values = [int(p) for p in parts[: len(_FIELDS)]] + [0] * (len(_FIELDS) - len(parts))
            return CpuTimes(**dict(zip(_FIELDS, values, strict=True)))
    first = text.strip().splitlines()[0][:80] if text.strip() else "<empty>"
    msg = f"expected /proc/stat with an aggregate 'cpu ' line of counters, found: {first!r}"
    raise ParseError(msg)


def cpu_usage_percent(before: CpuTimes, after: CpuTimes) -> float:
    """Busy percent of all CPUs between two readings (0 when no tick passed)."""
    total = after.total - before.total
    if total <= 0:
        return 0.0
    busy = total - (after.idle_all - before.idle_all)
    return round(100.0 * max(0, busy) / total, 1)
