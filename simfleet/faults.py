"""Apply a scenario's faults to a host profile, adding the hardware a fault needs."""

from __future__ import annotations

import random
from typing import Any

from simfleet.fault_specs import FaultKind
from simfleet.hardware import (
    Filesystem,
    HostProfile,
    mem_state,
    new_disk,
    set_iuse_percent,
    set_used_percent,
)
from simfleet.profile import attach_data_disk, ensure_disk, next_disk_name

_GUILTY_DEFAULTS = (
    ("app", "java -Xms{g}g -Xmx{g}g -XX:+UseG1GC -Dspring.profiles.active=prod -jar /opt/report/report-service.jar"),
    ("www-data", "/usr/local/bin/image_process --watch /data/uploads --loop --threads 8"),
)
# Flags that change how the host answers rather than what its hardware reports.
BEHAVIOUR = frozenset(
    {
        FaultKind.DMIDECODE_DENIED,
        FaultKind.SMARTCTL_MISSING,
        FaultKind.UNREACHABLE,
        FaultKind.WRONG_CREDENTIALS,
        FaultKind.HOST_KEY_CHANGED,
        FaultKind.SLOW,
    }
)


def apply_faults(p: HostProfile, faults: list[Any]) -> None:
    """Inject each fault into the profile (in order); unknown kinds are a programming error."""
    rng = random.Random(f"{p.seed}:{p.name}:faults")
    for fault in faults:
        p.faults.append(fault)
        kind = FaultKind(fault.kind)
        if kind in BEHAVIOUR:
            p.flags.add(kind.value)
            continue
        _APPLY[kind](p, fault, rng)


def _memory_pressure(p: HostProfile, f: Any, rng: random.Random) -> None:
    m = p.mem
    swap_used = int(m.swap_total * rng.uniform(0.02, 0.1))
    p.mem = mem_state(m.total, int(m.total * f.available_percent / 100), m.swap_total, swap_used, rng)
    procs: list[str] = list(f.processes)
    user = "app"
    if not procs:
        user, template = _GUILTY_DEFAULTS[rng.randrange(len(_GUILTY_DEFAULTS))]
        procs = [template.format(g=max(2, int(m.total * 0.8 / 1024 / 1024)))]
    share = int(p.mem.anon * 0.85 / len(procs))
    for i, args in enumerate(procs):
        p.guilty.append((user, args, share - i * 1024))
    p.load = tuple(round(x + p.cpus * 0.6, 2) for x in p.load)  # type: ignore[assignment]


def _swap_use(p: HostProfile, f: Any, rng: random.Random) -> None:
    m = p.mem
    swap_total = m.swap_total or min(16, max(2, p.installed_gib // 4)) * 1024 * 1024
    swap_used = int(swap_total * f.swap_used_percent / 100)
    p.mem = mem_state(m.total, int(m.total * f.available_percent / 100), swap_total, swap_used, rng)


def _find_or_make_fs(p: HostProfile, mount: str | None, default: str, rng: random.Random) -> Filesystem:
    want = mount or (default if any(fs.mount == default for fs in p.filesystems) else "/")
    fs = next((x for x in p.filesystems if x.mount == want), None)
    if fs is None:
        kind = rng.choice(("hdd", "ssd"))
        attach_data_disk(p, new_disk(kind, next_disk_name(p, kind), rng, p.uptime_s // 3600), want, rng)
        fs = p.filesystems[-1]
    return fs


def _disk_full(p: HostProfile, f: Any, rng: random.Random) -> None:
    fs = _find_or_make_fs(p, f.mount, "/data", rng)
    set_used_percent(fs, f.used_percent)
    p.full_mounts.append(fs.mount)


def _inodes_exhausted(p: HostProfile, f: Any, rng: random.Random) -> None:
    fs = _find_or_make_fs(p, f.mount, "/", rng)
    if fs.inodes == 0:
        msg = f"inodes_exhausted on {fs.mount} of {p.name}: {fs.fstype} has no inodes to exhaust"
        raise ValueError(msg)
    set_iuse_percent(fs, f.iuse_percent)
    p.full_mounts.append(fs.mount)
    room = fs.used + fs.avail
    fs.used = min(fs.used, int(room * 0.6))  # millions of tiny files: space is fine, inodes are not
    fs.avail = room - fs.used


def _smart_failed(p: HostProfile, f: Any, rng: random.Random) -> None:
    s = ensure_disk(p, ("hdd", "ssd"), f.device, rng).smart
    s.failed = True
    s.reallocated = max(s.reallocated, rng.randint(1200, 4000))
    s.pending = max(s.pending, rng.randint(8, 200))
    s.offline_unc = max(s.offline_unc, s.pending // 2)
    s.error_log_count = max(s.error_log_count, rng.randint(5, 60))


def _smart_sectors(p: HostProfile, f: Any, rng: random.Random) -> None:
    s = ensure_disk(p, ("hdd", "ssd"), f.device, rng).smart
    s.reallocated, s.pending = f.reallocated, f.pending
    s.offline_unc = f.pending
    s.error_log_count = max(s.error_log_count, rng.randint(1, 9) if f.pending else 0)


def _nvme_critical_warning(p: HostProfile, f: Any, rng: random.Random) -> None:
    s = ensure_disk(p, ("nvme",), f.device, rng).smart
    s.critical_warning = f.critical_warning
    if f.critical_warning & 0x01:
        s.available_spare = rng.randint(1, 9)
    if f.critical_warning & (0x04 | 0x08):
        s.media_errors = rng.randint(3, 400)
    s.error_log_count = max(s.error_log_count, rng.randint(1, 40))


def _nvme_wearout(p: HostProfile, f: Any, rng: random.Random) -> None:
    d = ensure_disk(p, ("nvme",), f.device, rng)
    d.smart.percentage_used = f.percentage_used
    d.smart.available_spare = min(d.smart.available_spare, rng.randint(40, 100))
    d.power_on_hours = max(d.power_on_hours, 30000 + rng.randint(0, 20000))


_APPLY = {
    FaultKind.MEMORY_PRESSURE: _memory_pressure,
    FaultKind.SWAP_USE: _swap_use,
    FaultKind.DISK_FULL: _disk_full,
    FaultKind.INODES_EXHAUSTED: _inodes_exhausted,
    FaultKind.SMART_FAILED: _smart_failed,
    FaultKind.SMART_SECTORS: _smart_sectors,
    FaultKind.NVME_CRITICAL_WARNING: _nvme_critical_warning,
    FaultKind.NVME_WEAROUT: _nvme_wearout,
}
