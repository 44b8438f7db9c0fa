"""Log files of a host: a few dozen plausible lines each, with the errors its faults would leave."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from simfleet.app_logs import app_logs
from simfleet.fault_specs import FaultKind
from simfleet.hardware import HostProfile
from simfleet.processes import Proc

Event = tuple[float, str, str]  # (seconds before now, source, message)
_CW_SMARTD = {
    0x01: "LowSpare",
    0x02: "Temperature",
    0x04: "Reliability",
    0x08: "R/O",
    0x10: "VolMemBackup",
    0x20: "PersistMem",
}


def build_logs(p: HostProfile, procs: list[Proc]) -> dict[str, str]:
    """Return {path: content} for every log file the host has."""
    rng = random.Random(f"{p.seed}:{p.name}:logs")
    sys_events, kern = _system_events(p, rng), _fault_events(p, procs, rng)
    debian = p.os.family == "debian"
    stamp = _rfc3339 if p.os.key in ("ubuntu-24.04", "debian-12") else _traditional
    files: dict[str, str] = {}
    main = "/var/log/syslog" if debian else "/var/log/messages"
    files[main] = _render(p, sys_events + kern, stamp)
    if debian:
        files["/var/log/kern.log"] = _render(p, [e for e in kern if e[1] == "kernel"], stamp)
    auth = [(t, s, m) for t, s, m in sys_events if s.startswith("sshd")]
    files["/var/log/auth.log" if debian else "/var/log/secure"] = _render(p, auth, stamp)
    files.update(app_logs(p, rng, p.full_mounts))
    return files


def _traditional(t: float) -> str:
    return time.strftime("%b %e %H:%M:%S", time.gmtime(t))


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e6) % 1000000:06d}+00:00"


def _render(p: HostProfile, events: list[Event], stamp: Callable[[float], str]) -> str:
    boot = p.now - p.uptime_s
    lines = []
    for ago, source, msg in sorted(events, key=lambda e: -e[0]):
        t = p.now - ago
        if source == "kernel":
            msg = f"[{t - boot:12.6f}] {msg}"
        lines.append(f"{stamp(t)} {p.name} {source}: {msg}")
    return "\n".join(lines) + ("\n" if lines else "")


def _system_events(p: HostProfile, rng: random.Random) -> list[Event]:
    events: list[Event] = []
    span = min(p.uptime_s - 60, 6 * 3600)
    debian = p.os.family == "debian"
    cron, sa1 = (
        ("CRON", "command -v debian-sa1 > /dev/null && debian-sa1 1 1")
        if debian
        else ("crond", "/usr/lib64/sa/sa1 1 1")
    )
    for i in range(rng.randint(14, 24)):
        ago = rng.uniform(30, span)
        pid = 40000 + rng.randint(0, 9000)
        kind = i % 6
        if kind == 0:
            events.append((ago, f"{cron}[{pid}]", f"(root) CMD ({sa1})"))
        elif kind == 1:
            events.append(
                (
                    ago,
                    f"sshd[{pid}]",
                    f"Accepted publickey for {p.user} from 10.20.{p.index % 250}.5 "
                    f"port {rng.randint(32768, 60999)} ssh2: ED25519 SHA256:q7Lh2w3vQk0m5X1dY8sVfQ",
                )
            )
            events.append(
                (
                    ago - 0.2,
                    "systemd[1]",
                    f"Started session-{pid % 9000}.scope - Session {pid % 9000} of User {p.user}.",
                )
            )
        elif kind == 2:
            events.append((ago, f"sshd[{pid}]", f"pam_unix(sshd:session): session closed for user {p.user}"))
        elif kind == 3:
            events.append((ago, "systemd[1]", "Starting logrotate.service - Rotate log files..."))
            events.append((ago - 1.3, "systemd[1]", "logrotate.service: Deactivated successfully."))
        elif kind == 4:
            events.append((ago, "chronyd[812]", f"Selected source 10.20.0.{rng.randint(1, 3)} (ntp.internal)"))
        else:
            d = rng.choice(p.disks)
            if d.model.kind != "nvme":
                events.append(
                    (
                        ago,
                        "smartd[905]",
                        f"Device: {d.path} [SAT], SMART Usage Attribute: 194 "
                        f"Temperature_Celsius changed from {d.temperature + 1} to {d.temperature}",
                    )
                )
    return events


def _fault_events(p: HostProfile, procs: list[Proc], rng: random.Random) -> list[Event]:
    """Kernel and smartd lines for the host's hardware and memory faults."""
    events: list[Event] = []
    kinds = {FaultKind(f.kind) for f in p.faults}
    if FaultKind.MEMORY_PRESSURE in kinds and p.guilty:
        victim = next(r for r in procs if r.args == p.guilty[0][1])
        ago = rng.uniform(300, 1500)
        unit = "report.service" if victim.comm == "java" else "image-process.service"
        old = victim.pid - rng.randint(50, 900)
        events += [
            (
                ago,
                "kernel",
                f"{victim.comm} invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
                "order=0, oom_score_adj=0",
            ),
            (
                ago - 0.01,
                "kernel",
                "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,"
                f"global_oom,task_memcg=/system.slice/{unit},task={victim.comm},pid={old},uid=1001",
            ),
            (
                ago - 0.02,
                "kernel",
                f"Out of memory: Killed process {old} ({victim.comm}) total-vm:{victim.vsz}kB, "
                f"anon-rss:{victim.rss}kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:{victim.rss // 500}kB "
                "oom_score_adj:0",
            ),
            (ago - 0.5, "systemd[1]", f"{unit}: A process of this unit has been killed by the OOM killer."),
            (ago - 0.6, "systemd[1]", f"{unit}: Main process exited, code=killed, status=9/KILL"),
            (ago - 11, "systemd[1]", f"{unit}: Scheduled restart job, restart counter is at {rng.randint(2, 9)}."),
        ]
    if FaultKind.SWAP_USE in kinds:
        busy = max(procs, key=lambda r: r.rss)
        events.append(
            (rng.uniform(200, 900), "kernel", f"INFO: task {busy.comm}:{busy.pid} blocked for more than 120 seconds.")
        )
    for n, d in enumerate(p.disks):
        s = d.smart
        if d.model.kind == "nvme":
            if s.critical_warning:
                names = ", ".join(v for b, v in _CW_SMARTD.items() if s.critical_warning & b)
                ctrl = d.path.removesuffix("n1")
                events.append(
                    (
                        rng.uniform(60, 1800),
                        "smartd[905]",
                        f"Device: {ctrl}, Critical Warning (0x{s.critical_warning:02x}): {names}",
                    )
                )
                if s.media_errors:
                    events.append(
                        (
                            rng.uniform(60, 1800),
                            "kernel",
                            f"critical medium error, dev {d.name}, sector "
                            f"{rng.randint(10**6, 10**9)} op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2",
                        )
                    )
            continue
        if s.pending or s.failed:
            events += _ata_errors(p, d.name, n, rng)
            events.append(
                (
                    rng.uniform(60, 1800),
                    "smartd[905]",
                    f"Device: {d.path} [SAT], {s.pending} Currently unreadable (pending) sectors",
                )
            )
            events.append(
                (
                    rng.uniform(60, 1800),
                    "smartd[905]",
                    f"Device: {d.path} [SAT], {s.offline_unc} Offline uncorrectable sectors",
                )
            )
        if s.failed:
            events.append(
                (
                    rng.uniform(60, 900),
                    "smartd[905]",
                    f"Device: {d.path} [SAT], FAILED SMART self-check. BACK UP DATA NOW!",
                )
            )
        elif s.reallocated:
            events.append(
                (
                    rng.uniform(600, 3600),
                    "smartd[905]",
                    f"Device: {d.path} [SAT], SMART Prefailure "
                    "Attribute: 5 Reallocated_Sector_Ct changed from 100 to 99",
                )
            )
    return events


def _ata_errors(p: HostProfile, name: str, n: int, rng: random.Random) -> list[Event]:
    ago, ata, sector = rng.uniform(120, 2400), f"ata{n + 1}.00", rng.randint(10**6, 10**9)
    prefix = "blk_update_request: " if p.kernel.startswith("4.") else ""
    return [
        (ago, "kernel", f"{ata}: exception Emask 0x0 SAct 0x20000 SErr 0x0 action 0x0"),
        (ago - 0.001, "kernel", f"{ata}: failed command: READ FPDMA QUEUED"),
        (ago - 0.002, "kernel", f"{ata}: status: {{ DRDY ERR }}"),
        (ago - 0.003, "kernel", f"{ata}: error: {{ UNC }}"),
        (ago - 0.4, "kernel", f"sd {n}:0:0:0: [{name}] tag#17 Sense Key : Medium Error [current]"),
        (
            ago - 0.41,
            "kernel",
            f"sd {n}:0:0:0: [{name}] tag#17 Add. Sense: Unrecovered read error - auto reallocate failed",
        ),
        (
            ago - 0.42,
            "kernel",
            f"{prefix}I/O error, dev {name}, sector {sector} op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2",
        ),
        (ago - 0.5, "kernel", f"ata{n + 1}: EH complete"),
    ]
