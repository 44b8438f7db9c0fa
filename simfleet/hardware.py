"""Per-host hardware profile: board, DIMMs, disks, partitions, filesystems and memory use."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from simfleet.boards import BOARDS, BOARDS_BY_KEY, HPE_PARTS, PARTS, Board, locators, module_kind
from simfleet.disk_models import BY_KIND, DiskModel, make_serial

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class OsInfo:
    """The host's distribution, as it shows in kernel versions, log names and tool versions."""

    key: str
    pretty: str
    kernel: str
    family: str  # debian or rhel
    fstype: str
    smartctl: str


OSES = (
    OsInfo("ubuntu-22.04", "Ubuntu 22.04.4 LTS", "5.15.0-1{n:02d}-generic", "debian", "ext4", "7.2"),
    OsInfo("ubuntu-24.04", "Ubuntu 24.04.1 LTS", "6.8.0-{n}-generic", "debian", "ext4", "7.4"),
    OsInfo("debian-12", "Debian GNU/Linux 12 (bookworm)", "6.1.0-{n}-amd64", "debian", "ext4", "7.3"),
    OsInfo("rocky-9", "Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.{n}.1.el9_4.x86_64", "rhel", "xfs", "7.2"),
    OsInfo("rocky-8", "Rocky Linux 8.10 (Green Obsidian)", "4.18.0-553.{n}.1.el8_10.x86_64", "rhel", "xfs", "7.1"),
)


@dataclass
class Dimm:
    """One DIMM slot; size_gib 0 means empty."""

    socket: int
    channel: int
    dimm: int
    locator: str
    bank: str
    size_gib: int = 0
    speed: int = 0
    configured: int = 0
    vendor: str = ""
    part: str = ""
    serial: str = ""
    rank: int = 0


@dataclass
class SmartState:
    """What a disk's SMART data says about its health."""

    reallocated: int = 0
    pending: int = 0
    offline_unc: int = 0
    failed: bool = False
    critical_warning: int = 0
    percentage_used: int = 0
    available_spare: int = 100
    media_errors: int = 0
    error_log_count: int = 0


@dataclass
class Disk:
    """A physical disk: sdX (SATA) or nvmeXn1."""

    name: str
    model: DiskModel
    serial: str
    power_on_hours: int
    power_cycles: int
    temperature: int
    wwn: int
    smart: SmartState = field(default_factory=SmartState)

    @property
    def path(self) -> str:
        """The /dev path."""
        return f"/dev/{self.name}"


@dataclass
class Partition:
    """A partition (or whole-disk filesystem when name == disk name)."""

    name: str
    size: int
    mount: str | None
    fstype: str


@dataclass
class Filesystem:
    """A mounted filesystem as df sees it (sizes in bytes)."""

    source: str
    mount: str
    fstype: str
    size: int
    used: int
    avail: int
    inodes: int
    iused: int


@dataclass
class MemState:
    """Memory accounting in kB, consistent between /proc/meminfo and free."""

    total: int
    available: int
    free: int
    buffers: int
    cached: int
    shmem: int
    sreclaim: int
    sunreclaim: int
    anon: int
    swap_total: int
    swap_free: int
    swap_cached: int


@dataclass
class HostProfile:
    """Everything a simulated host answers from, generated once per host."""

    name: str
    index: int
    seed: int
    now: float
    os: OsInfo
    kernel: str
    board: Board
    dimms: list[Dimm]
    cpus: int
    uptime_s: int
    load: tuple[float, float, float]
    users: int
    role: str
    disks: list[Disk]
    partitions: dict[str, list[Partition]]
    filesystems: list[Filesystem]
    mem: MemState
    system_serial: str
    board_serial: str
    uuid: str
    faults: list[Any] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    guilty: list[tuple[str, str, int]] = field(default_factory=list)  # (user, args, rss kB)
    user: str = "ops"
    full_mounts: list[str] = field(default_factory=list)  # mounts a fault filled (space or inodes)
    loops: list[tuple[str, int, str]] = field(default_factory=list)  # (name, bytes, snap mount)

    @property
    def installed_gib(self) -> int:
        """Installed DIMM capacity in GiB."""
        return sum(d.size_gib for d in self.dimms)


def choose_board(rng: random.Random, key: str | None) -> Board:
    """Return the named board, or a random one weighted towards rack servers."""
    if key is not None:
        if key not in BOARDS_BY_KEY:
            msg = f"unknown board {key!r}; known: {', '.join(BOARDS_BY_KEY)}"
            raise ValueError(msg)
        return BOARDS_BY_KEY[key]
    return rng.choices(BOARDS, weights=[3 if b.registered else 1 for b in BOARDS])[0]


def make_dimms(board: Board, rng: random.Random, memory_gib: int | None) -> list[Dimm]:
    """Populate the board's slots with identical modules; total 4-512 GiB (or exactly memory_gib)."""
    counts = [c for c in (1, 2, 4, 6, 8, 12, 16, 24) if c <= board.slots and (board.sockets == 1 or c % 2 == 0)]
    combos = [(s, c) for s in board.sizes_gib for c in counts if 4 <= s * c <= 512]
    if memory_gib is not None:
        combos = [(s, c) for s, c in combos if s * c == memory_gib]
        if not combos:
            msg = f"board {board.key} cannot hold exactly {memory_gib} GiB with {board.sizes_gib} GiB modules"
            raise ValueError(msg)
    size, count = rng.choice(combos)
    slots = [(s, ch, d) for s in range(board.sockets) for ch in range(board.channels) for d in range(board.dpc)]
    if board.handles == "dell":  # Dell numbers slots A1, A2... across channels first, and lists them so
        slots.sort(key=lambda t: (t[0], t[2], t[1]))
    # Fill the first DIMM of every channel, alternating sockets, before any second DIMM.
    order = sorted(slots, key=lambda t: (t[2], t[1], t[0]))
    filled = set(order[:count])
    vendor = rng.choice(("Samsung", "Micron", "SK Hynix"))
    speed = rng.choice(board.module_speeds)
    part = HPE_PARTS.get(size, "") if board.mfr_style == "hpe" else ""
    part = part or PARTS.get((board.mem_type, module_kind(board), size), {}).get(vendor, "Not Specified")
    rank = 1 if size <= 8 else 2 if size <= 32 else rng.choice((2, 4))
    dimms = []
    for s, ch, d in slots:
        loc, bank = locators(board, s, ch, d)
        dimm = Dimm(s, ch, d, loc, bank)
        if (s, ch, d) in filled:
            dimm.size_gib, dimm.speed, dimm.configured = size, speed, min(speed, board.max_speed)
            dimm.vendor, dimm.part, dimm.rank = vendor, part, rank
            dimm.serial = f"{rng.getrandbits(32):08X}"
        dimms.append(dimm)
    return dimms


def new_disk(kind: str, name: str, rng: random.Random, uptime_h: int) -> Disk:
    """Make one healthy disk of `kind` (hdd, ssd, nvme) called `name`."""
    model = rng.choice(BY_KIND[kind])
    poh = uptime_h + rng.randint(500, 40000)
    temp = rng.randint(28, 41) if kind != "nvme" else rng.randint(33, 48)
    disk = Disk(name, model, make_serial(model.serial, rng), poh, rng.randint(8, 120), temp, rng.getrandbits(36))
    if kind == "nvme":
        disk.smart.percentage_used = min(60, poh // 1500)
    return disk


def make_fs(source: str, mount: str, fstype: str, part_size: int, used_frac: float, rng: random.Random) -> Filesystem:
    """Make a filesystem on a partition of `part_size` bytes, `used_frac` of it in use."""
    if fstype == "vfat":
        size = part_size // 4096 * 4096
        used = int(size * used_frac) // 4096 * 4096
        return Filesystem(source, mount, fstype, size, used, size - used, 0, 0)
    size = int(part_size * (0.984 if fstype == "ext4" else 0.995)) // 4096 * 4096
    reserve = size // 20 // 4096 * 4096 if fstype == "ext4" else 0
    used = int((size - reserve) * used_frac) // 4096 * 4096
    inodes = size // 16384 if fstype == "ext4" else size // 2048
    iused = min(int(inodes * 0.4), min(20000, inodes // 200) + used // rng.randint(200_000, 4_000_000))
    return Filesystem(source, mount, fstype, size, used, size - reserve - used, inodes, iused)


def set_used_percent(fs: Filesystem, pct: float) -> None:
    """Make df report Use% of about `pct` (coreutils rounds used/(used+avail) up)."""
    room = fs.used + fs.avail
    fs.used = room if pct >= 100 else int(room * (pct - 0.5) / 100) // 4096 * 4096
    fs.avail = room - fs.used


def set_iuse_percent(fs: Filesystem, pct: float) -> None:
    """Make df -i report IUse% of about `pct`."""
    fs.iused = fs.inodes if pct >= 100 else math.ceil(fs.inodes * (pct - 0.5) / 100)


def partition_name(disk: str, n: int) -> str:
    """sda + 1 -> sda1; nvme0n1 + 1 -> nvme0n1p1."""
    return f"{disk}p{n}" if disk.startswith("nvme") else f"{disk}{n}"


def mem_state(total: int, avail: int, swap_total: int, swap_used: int, rng: random.Random) -> MemState:
    """Split `total` kB into free/cache/slab/anon so that MemAvailable is `avail` kB."""
    tight = avail < total * 0.2
    free = int(avail * (rng.uniform(0.2, 0.4) if tight else rng.uniform(0.3, 0.6)))
    sreclaim = int(min(total * rng.uniform(0.004, 0.015), (avail - free) * 0.3))
    buffers = int((avail - free) * rng.uniform(0.01, 0.04))
    shmem = int(total * rng.uniform(0.001, 0.006))
    cached = max(0, avail - free - buffers - sreclaim // 2) + int(total * 0.003) + shmem
    sunreclaim = int(total * rng.uniform(0.003, 0.008))
    anon = max(0, total - free - buffers - cached - sreclaim - sunreclaim - int(total * 0.004))
    swap_cached = min(swap_used // 20, int(total * 0.002)) if swap_used else 0
    return MemState(
        total,
        avail,
        free,
        buffers,
        cached,
        shmem,
        sreclaim,
        sunreclaim,
        anon,
        swap_total,
        swap_total - swap_used,
        swap_cached,
    )
