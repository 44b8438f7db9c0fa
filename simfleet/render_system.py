"""System views of a host: uptime, /proc/loadavg, /proc/uptime, nproc, hostname, os-release."""

from __future__ import annotations

import time

from simfleet.hardware import HostProfile


def _since_boot(p: HostProfile, now: float) -> int:
    return p.uptime_s + max(0, int(now - p.now))


def render_uptime(p: HostProfile, now: float) -> str:
    """procps-ng uptime: ' 17:37:29 up 41 days,  3:07,  2 users,  load average: 0.08, 0.03, 0.01'."""
    up = _since_boot(p, now)
    days, rest = divmod(up, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    text = f" {time.strftime('%H:%M:%S', time.gmtime(now))} up "
    if days:
        text += f"{days} day{'s' if days > 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += f"{p.users:2d} user{'s' if p.users > 1 else ''},  "
    a, b, c = p.load
    return text + f"load average: {a:.2f}, {b:.2f}, {c:.2f}\n"


def render_loadavg(p: HostProfile) -> str:
    """/proc/loadavg: three averages, running/total threads, last pid."""
    a, b, c = p.load
    running = max(1, round(a)) if a >= 1 else 1
    return f"{a:.2f} {b:.2f} {c:.2f} {running}/{900 + p.cpus * 12} {40000 + p.index * 7}\n"


def render_proc_uptime(p: HostProfile, now: float) -> str:
    """/proc/uptime: seconds since boot and summed idle seconds."""
    up = _since_boot(p, now)
    return f"{up}.{p.index % 100:02d} {up * p.cpus * 0.93:.2f}\n"


def render_os_release(p: HostProfile) -> str:
    """/etc/os-release (the fields tools read)."""
    distro, _, version = p.os.key.partition("-")
    name = {"ubuntu": "Ubuntu", "debian": "Debian GNU/Linux", "rocky": "Rocky Linux"}[distro]
    return (
        f'PRETTY_NAME="{p.os.pretty}"\nNAME="{name}"\nVERSION_ID="{version}"\nID={distro}\n'
        f"ID_LIKE={'debian' if distro == 'ubuntu' else 'rhel centos fedora' if distro == 'rocky' else ''}\n"
    )


def render_proc_stat(p: HostProfile, now: float, intr_fields: int) -> str:
    """/proc/stat counters (USER_HZ=100) that advance with time at the host's load."""
    up = p.uptime_s + max(0.0, now - p.now)
    busy = min(0.97, p.load[0] / p.cpus * 0.8 + 0.02)
    lines, total = [], [0] * 10
    for cpu in range(p.cpus):
        ticks = int(up * 100 * (1 + (cpu % 7) * 0.001))
        share = busy * (1.15 if cpu % 2 else 0.85)
        user, system = int(ticks * share * 0.72), int(ticks * share * 0.2)
        iowait, softirq, irq = int(ticks * share * 0.05), int(ticks * share * 0.03), 0
        idle = ticks - user - system - iowait - softirq
        row = [user, int(ticks * 0.0004), system, idle, iowait, irq, softirq, 0, 0, 0]
        total = [a + b for a, b in zip(total, row, strict=True)]
        lines.append(f"cpu{cpu} " + " ".join(map(str, row)))
    intr = int(up * 900 * p.cpus)
    zeros = " 0" * max(0, intr_fields - 2)
    return (
        "\n".join(
            [
                "cpu  " + " ".join(map(str, total)),
                *lines,
                f"intr {intr} {intr // 3}{zeros}",
                f"ctxt {int(up * 2100 * p.cpus)}",
                f"btime {int(now - up)}",
                f"processes {int(up * 3) + 9000}",
                f"procs_running {max(1, round(p.load[0]))}",
                "procs_blocked 0",
                f"softirq {int(up * 700 * p.cpus)} 0 {int(up * 120)} 4 {int(up * 40)} {int(up * 300)} 0 4 "
                f"{int(up * 350)} 0 {int(up * 190)}",
            ]
        )
        + "\n"
    )
