"""The host's process table: kernel threads from the ps template, system daemons, role services."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simfleet.hardware import HostProfile
from simfleet.templates import percpu_name, templates


@dataclass
class Proc:
    """One process row (memory in kB, cpu in percent)."""

    pid: int
    ppid: int
    user: str
    rss: int
    vsz: int
    pcpu: float
    etimes: int
    comm: str
    args: str


# (user, args, rss kB, vsz kB); {web} is the web server user, {n} a small number.
_SYSTEM = {
    "debian": [
        ("root", "/lib/systemd/systemd-journald", 60000, 150000),
        ("root", "/lib/systemd/systemd-udevd", 9000, 26000),
        ("systemd-network", "/lib/systemd/systemd-networkd", 8000, 16000),
        ("systemd-resolve", "/lib/systemd/systemd-resolved", 13000, 25000),
        ("root", "/usr/sbin/cron -f -P", 2800, 6800),
        (
            "messagebus",
            "@dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only",
            5000,
            9000,
        ),
        ("syslog", "/usr/sbin/rsyslogd -n -iNONE", 6000, 222000),
        ("root", "/lib/systemd/systemd-logind", 7500, 17000),
        ("_chrony", "/usr/sbin/chronyd -F 1", 3400, 10000),
        ("root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 9000, 15500),
        ("root", "/sbin/agetty -o -p -- \\u --noclear tty1 linux", 2100, 6200),
        ("root", "/usr/sbin/smartd -n", 4800, 11000),
        ("prometheus", "/usr/bin/prometheus-node-exporter", 21000, 1240000),
    ],
    "rhel": [
        ("root", "/usr/lib/systemd/systemd-journald", 52000, 140000),
        ("root", "/usr/lib/systemd/systemd-udevd", 11000, 33000),
        ("root", "/usr/sbin/auditd", 2600, 52000),
        ("dbus", "/usr/bin/dbus-broker-launch --scope system --audit", 4400, 21000),
        ("root", "/usr/sbin/irqbalance --foreground", 3800, 8000),
        ("root", "/usr/lib/systemd/systemd-logind", 8400, 19000),
        ("chrony", "/usr/sbin/chronyd -F 2", 3100, 85000),
        ("polkitd", "/usr/lib/polkit-1/polkitd --no-debug", 22000, 2700000),
        ("root", "/usr/sbin/NetworkManager --no-daemon", 19000, 260000),
        ("root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 8900, 16000),
        ("root", "/usr/sbin/rsyslogd -n", 6800, 222000),
        ("root", "/usr/sbin/crond -n", 3600, 220000),
        ("root", "/usr/sbin/smartd -n -q never", 5100, 11000),
        ("node_exp+", "/usr/local/bin/node_exporter", 20000, 1240000),
    ],
}


def build_processes(p: HostProfile) -> list[Proc]:
    """Return the process table in pid order, with RSS adding up to the host's anonymous memory."""
    rng = random.Random(f"{p.seed}:{p.name}:ps")
    up = p.uptime_s
    rows: list[Proc] = []
    init = (
        "/sbin/init"
        if p.os.family == "debian"
        else ("/usr/lib/systemd/systemd --switched-root --system --deserialize 31")
    )
    rows.append(Proc(1, 0, "root", 12000, 168000, 0.0, up, "systemd", init))
    pid = 2
    for name in templates().kthreads:
        names = [name]
        if percpu_name(name, 0) is not None:
            names = [n for c in range(min(p.cpus, 32)) if (n := percpu_name(name, c)) is not None]
        for n in names:
            rows.append(Proc(pid, 0 if pid == 2 else 2, "root", 0, 0, 0.0, up, n[:15], f"[{n}]"))
            pid += 1
    pid += rng.randint(200, 500)
    for user, args, rss, vsz in _SYSTEM[p.os.family]:
        if "smartd" in args and "smartctl_missing" in p.flags:
            continue
        pid += rng.randint(1, 40)
        rows.append(_proc(pid, 1, user, args, rss * rng.uniform(0.8, 1.3), vsz, up - rng.randint(5, 30), rng))
    budget = p.mem.anon - sum(r.rss for r in rows) - sum(g[2] for g in p.guilty)
    pid = _role(rows, p, rng, pid, max(budget, 200_000))
    for user, args, rss in p.guilty:
        pid += rng.randint(1000, 90000)
        started = rng.randint(1800, min(up, 6 * 3600))
        cpu = rng.uniform(95, 380) if "java" in args else rng.uniform(97, 99.9)
        rows.append(_proc(pid, 1, user, args, rss, int(rss * 1.15) + 2_000_000, started, rng, cpu))
    pid += rng.randint(100, 5000)
    rows.append(_proc(pid, _sshd_pid(rows), "root", f"sshd: {p.user} [priv]", 11000, 17500, 0, rng))
    rows.append(_proc(pid + 2, pid, p.user, f"sshd: {p.user}@notty", 7000, 17500, 0, rng))
    rows.append(_proc(pid + 3, pid + 2, p.user, "sh -c", 1600, 2600, 0, rng))
    return rows


def _sshd_pid(rows: list[Proc]) -> int:
    return next(r.pid for r in rows if r.args.startswith("sshd: /usr/sbin/sshd"))


def _proc(
    pid: int,
    ppid: int,
    user: str,
    args: str,
    rss: float,
    vsz: int,
    etimes: int,
    rng: random.Random,
    cpu: float | None = None,
) -> Proc:
    first = args.split()[0].lstrip("@")
    comm = first.split("/")[-1]
    if args.startswith(("sshd:", "nginx:", "php-fpm:")):
        comm = args.split(":")[0]
    pcpu = round(cpu if cpu is not None else rng.choice((0.0, 0.0, 0.0, 0.1, 0.2, 0.5)), 1)
    rss = int(rss * rng.uniform(0.93, 1.07)) if rss > 100_000 else int(rss)
    return Proc(pid, ppid, user, rss, max(vsz, int(rss * 1.25) + 40_000), pcpu, max(etimes, 0), comm[:15], args)


def _role(rows: list[Proc], p: HostProfile, rng: random.Random, pid: int, budget: int) -> int:
    """Append the role's services sharing `budget` kB of RSS; return the last pid used."""
    web = "www-data" if p.os.family == "debian" else "nginx"
    up = p.uptime_s
    started = up - rng.randint(60, max(61, up // 3))
    workers = min(p.cpus, 8)
    if p.role == "web":
        pid += rng.randint(50, 300)
        master = pid
        rows.append(
            _proc(
                pid,
                1,
                "root",
                "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
                9000,
                56000,
                started,
                rng,
            )
        )
        for _ in range(workers):
            pid += 1
            rows.append(_proc(pid, master, web, "nginx: worker process", budget * 0.02, 58000, started, rng))
        pid += rng.randint(20, 200)
        fpm = pid
        rows.append(
            _proc(
                pid, 1, "root", "php-fpm: master process (/etc/php/8.1/fpm/php-fpm.conf)", 18000, 260000, started, rng
            )
        )
        children = rng.randint(8, 24)
        for _ in range(children):
            pid += rng.randint(1, 900)
            rows.append(
                _proc(
                    pid,
                    fpm,
                    web,
                    "php-fpm: pool www",
                    budget * 0.6 / children,
                    420000,
                    rng.randint(60, started),
                    rng,
                    rng.uniform(0, 6),
                )
            )
        return pid
    big = {
        "db": ("mysql", "/usr/sbin/mysqld" if p.os.family == "debian" else "/usr/libexec/mysqld --basedir=/usr"),
        "cache": ("redis", "/usr/bin/redis-server 127.0.0.1:6379"),
        "app": ("app", f"java -Xms{_heap(p)}g -Xmx{_heap(p)}g -XX:+UseG1GC -jar /opt/app/order-service.jar"),
    }
    if p.role in big:
        user, args = big[p.role]
        pid += rng.randint(50, 3000)
        rows.append(
            _proc(pid, 1, user, args, budget * 0.8, int(budget * 1.1) + 1_500_000, started, rng, rng.uniform(1, 40))
        )
        return pid
    pid += rng.randint(50, 3000)
    parent = pid
    celery = "/opt/worker/venv/bin/python3 /opt/worker/venv/bin/celery -A tasks worker --concurrency={n}"
    rows.append(_proc(pid, 1, "app", celery.format(n=workers), 90000, 400000, started, rng))
    for _ in range(workers):
        pid += 1
        rows.append(
            _proc(
                pid,
                parent,
                "app",
                celery.format(n=workers),
                budget * 0.7 / workers,
                900000,
                started,
                rng,
                rng.uniform(0, 30),
            )
        )
    return pid


def _heap(p: HostProfile) -> int:
    return max(1, int(p.mem.total * 0.5 / 1024 / 1024))
