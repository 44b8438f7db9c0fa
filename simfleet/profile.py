"""Build one host's healthy profile, deterministically from the fleet seed and the host name."""

from __future__ import annotations

import random
import uuid

from simfleet.disk_models import make_serial
from simfleet.hardware import (
    GIB,
    MIB,
    OSES,
    Disk,
    HostProfile,
    OsInfo,
    Partition,
    choose_board,
    make_dimms,
    make_fs,
    mem_state,
    new_disk,
    partition_name,
)
from simfleet.scenario import HostPlan

ROLES = ("web", "db", "cache", "app", "worker")
_SERIALS = {
    "Dell Inc.": "%%%%%%%",
    "HPE": "CZJ%%%%%%%",
    "Supermicro": "S%%%%%%%%%%%%%",
    "Lenovo": "J30%%%%%",
    "Huawei": "2102%%%%%%%%%%%%%%%%",
    "Inspur": "2%%%%%%%%",
    "ASRockRack": "To Be Filled By O.E.M.",
}
_SNAPS = (("core20", 67108864, 2318), ("lxd", 96337920, 29351), ("snapd", 40783872, 21759))


def build_profile(plan: HostPlan, seed: int, now: float) -> HostProfile:
    """Return the healthy profile of one planned host (faults are applied afterwards)."""
    rng = random.Random(f"{seed}:{plan.name}")
    over = plan.override
    board = choose_board(rng, over.board)
    os_ = _choose_os(board.mem_type, rng)
    kernel = os_.kernel.format(n=rng.randint(10, 45))
    dimms = make_dimms(board, rng, over.memory_gib)
    cpus = over.cpus or rng.choice(board.threads)
    uptime_s = rng.randint(3 * 3600, 400 * 86400)
    grouped: str | None = next((g for g in plan.groups if g in ROLES), None)
    role: str = over.role or grouped or rng.choice(ROLES)
    tag = make_serial(_SERIALS.get(board.sys_vendor, "%%%%%%%%%%"), rng)
    uid = str(uuid.UUID(int=rng.getrandbits(128))).upper()
    if board.sys_vendor == "Dell Inc.":
        uid = "4C4C4544-" + uid[9:]
    board_serial = (
        f".{tag}.CNFCP00{rng.randint(10**9, 10**10 - 1)}."
        if board.sys_vendor == "Dell Inc."
        else (make_serial("%%%%%%%%%%%%", rng))
    )
    l1 = round(cpus * rng.uniform(0.01, 0.35), 2)
    load = (l1, round(l1 * rng.uniform(0.8, 1.2), 2), round(l1 * rng.uniform(0.7, 1.1), 2))
    installed_kb = sum(d.size_gib for d in dimms) * 1024 * 1024
    total = int(installed_kb * (1 - rng.uniform(0.015, 0.025)))
    swap_total = 0 if os_.family == "debian" and rng.random() < 0.4 else rng.choice((2, 4, 8)) * 1024 * 1024
    swap_used = int(swap_total * rng.uniform(0, 0.03))
    mem = mem_state(total, int(total * rng.uniform(0.35, 0.85)), swap_total, swap_used, rng)
    profile = HostProfile(
        plan.name,
        plan.index,
        seed,
        now,
        os_,
        kernel,
        board,
        dimms,
        cpus,
        uptime_s,
        load,
        rng.randint(0, 3),
        role,
        [],
        {},
        [],
        mem,
        tag,
        board_serial,
        uid,
    )
    _add_disks(profile, rng)
    if os_.key.startswith("ubuntu"):
        for i, (snap, size, rev) in enumerate(_SNAPS):
            profile.loops.append((f"loop{i}", size, f"/snap/{snap}/{rev}"))
    return profile


def _choose_os(mem_type: str, rng: random.Random) -> OsInfo:
    if mem_type == "DDR3":
        return rng.choice([o for o in OSES if o.key in ("rocky-8", "ubuntu-22.04")])
    return rng.choices(OSES, weights=(4, 3, 3, 3, 1))[0]


def _add_disks(p: HostProfile, rng: random.Random) -> None:
    count = rng.choices((1, 2, 3, 4, 5, 6, 8), weights=(10, 30, 20, 18, 8, 8, 6))[0]
    nvme_ok = p.board.nvme_ok
    if nvme_ok and p.board.mem_type == "DDR5" and rng.random() < 0.5:
        os_kind = "nvme"
    else:
        os_kind = "hdd" if p.board.mem_type == "DDR3" and rng.random() < 0.5 else "ssd"
    _attach_os_disk(p, new_disk(os_kind, next_disk_name(p, os_kind), rng, p.uptime_s // 3600), rng)
    kinds = ("hdd", "ssd", "nvme") if nvme_ok else ("hdd", "ssd")
    for _ in range(count - 1):
        kind = rng.choice(kinds)
        mount = None if kind == "hdd" and rng.random() < 0.15 else next_data_mount(p)
        attach_data_disk(p, new_disk(kind, next_disk_name(p, kind), rng, p.uptime_s // 3600), mount, rng)


def next_disk_name(p: HostProfile, kind: str) -> str:
    """The next free kernel name for a disk of `kind`: sdX or nvmeNn1."""
    names = {d.name for d in p.disks}
    if kind == "nvme":
        return next(f"nvme{i}n1" for i in range(100) if f"nvme{i}n1" not in names)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    return next(f"sd{x}" for x in [*letters, *(a + b for a in letters for b in letters)] if f"sd{x}" not in names)


def next_data_mount(p: HostProfile) -> str:
    """The next unused data mount point for this host's role."""
    first = ["/var/lib/mysql"] if p.role == "db" else []
    used = {f.mount for f in p.filesystems}
    candidates = [*first, "/data", "/backup", *(f"/data{i}" for i in range(2, 99))]
    return next(m for m in candidates if m not in used)


def _attach_os_disk(p: HostProfile, disk: Disk, rng: random.Random) -> None:
    p.disks.append(disk)
    fstype, parts = p.os.fstype, []
    layout: list[tuple[int, str | None, str]] = []
    if p.board.uefi:
        layout.append((512 * MIB if p.os.family == "debian" else 600 * MIB, "/boot/efi", "vfat"))
    layout.append((GIB if p.os.family == "debian" else 2 * GIB, "/boot", fstype))
    if p.mem.swap_total:
        layout.append((p.mem.swap_total * 1024, "[SWAP]", "swap"))
    rest = disk.model.capacity - sum(s for s, _, _ in layout) - 2 * MIB
    root = min(rest, rng.choice((100, 200, 400)) * GIB) if rest > 600 * GIB else rest
    layout.append((root, "/", fstype))
    for n, (size, mount, fst) in enumerate(layout, start=1):
        name = partition_name(disk.name, n)
        parts.append(Partition(name, size, mount, fst))
        if fst == "swap" or mount is None:
            continue
        frac = {"/boot/efi": 0.012, "/boot": rng.uniform(0.1, 0.3)}.get(mount, rng.uniform(0.12, 0.7))
        p.filesystems.append(make_fs(f"/dev/{name}", mount, fst, size, frac, rng))
    p.partitions[disk.name] = parts


def attach_data_disk(p: HostProfile, disk: Disk, mount: str | None, rng: random.Random) -> None:
    """Add a data disk with one partition, mounted at `mount` (None: left unmounted)."""
    p.disks.append(disk)
    if mount is None:
        p.partitions[disk.name] = []
        return
    name = partition_name(disk.name, 1)
    size = disk.model.capacity - 2 * MIB
    p.partitions[disk.name] = [Partition(name, size, mount, p.os.fstype)]
    p.filesystems.append(make_fs(f"/dev/{name}", mount, p.os.fstype, size, rng.uniform(0.15, 0.8), rng))


def ensure_disk(p: HostProfile, kinds: tuple[str, ...], device: str | None, rng: random.Random) -> Disk:
    """Return the named disk, else the first disk of `kinds`; add one (mounted) if the host has none."""
    if device is not None:
        name = device.removeprefix("/dev/")
        if name.startswith("nvme") and not name.endswith("n1"):
            name += "n1"
        found = next((d for d in p.disks if d.name == name), None)
        if found is not None:
            return found
        kind = "nvme" if name.startswith("nvme") else kinds[0]
    else:
        pool = [d for d in p.disks[1:] if d.model.kind in kinds] or [d for d in p.disks if d.model.kind in kinds]
        if pool:
            return min(pool, key=lambda d: kinds.index(d.model.kind))
        kind, name = kinds[0], next_disk_name(p, kinds[0])
    disk = new_disk(kind, name, rng, p.uptime_s // 3600)
    attach_data_disk(p, disk, next_data_mount(p), rng)
    return disk
