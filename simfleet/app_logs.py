"""Service log files by role (nginx, php-fpm, MySQL, Redis, Java app, Celery), in each daemon's format."""

from __future__ import annotations

import random
import time

from simfleet.fault_specs import FaultKind
from simfleet.hardware import HostProfile


def app_logs(p: HostProfile, rng: random.Random, full: list[str]) -> dict[str, str]:
    """Return the role's log files; ENOSPC errors mention the full mounts, OOM errors the guilty heap."""
    debian = p.os.family == "debian"
    # Routine lines end before the fault lines start, so each file stays in time order.
    times = sorted(p.now - rng.uniform(960, min(p.uptime_s, 4 * 3600)) for _ in range(rng.randint(20, 36)))
    recent = sorted(p.now - rng.uniform(20, 900) for _ in range(4))
    out: dict[str, str] = {}
    enospc = full[0] if full else None
    if p.role == "web":
        err = [
            f"{_ngx(t)} [warn] 1841#1841: *{i * 37} an upstream response is buffered to a temporary file "
            f"/var/lib/nginx/fastcgi/{i % 10}/00/00000{i:05d} while reading upstream"
            for i, t in enumerate(times)
        ]
        if enospc:
            path = "/var/lib/nginx/body" if enospc in ("/", "/var") else f"{enospc}/uploads/tmp"
            err += [
                f'{_ngx(t)} [crit] 1841#1841: *{90000 + i} pwrite() "{path}/00000{i:05d}" failed '
                '(28: No space left on device), client: 10.20.4.17, server: _, request: "POST /upload '
                'HTTP/1.1"'
                for i, t in enumerate(recent)
            ]
        out["/var/log/nginx/error.log"] = "\n".join(err) + "\n"
        fpm = "/var/log/php8.1-fpm.log" if debian else "/var/log/php-fpm/error.log"
        lines = [
            f"[{_fpm(times[0])}] NOTICE: fpm is running, pid 1862",
            f"[{_fpm(times[0])}] NOTICE: ready to handle connections",
        ]
        lines += [
            f"[{_fpm(t)}] WARNING: [pool www] seems busy (you may need to increase pm.start_servers, or "
            f"pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and {10 + i} total children"
            for i, t in enumerate(times[::6])
        ]
        if FaultKind.INODES_EXHAUSTED in _kinds(p):
            lines += [
                f'[{_fpm(t)}] WARNING: [pool www] child 2{i}41 said into stderr: "PHP Warning:  '
                "session_start(): open(/var/lib/php/sessions/sess_k2v9q, O_RDWR) failed: No space left on "
                'device (28) in /var/www/app/index.php on line 12"'
                for i, t in enumerate(recent)
            ]
        out[fpm] = "\n".join(lines) + "\n"
    elif p.role == "db":
        lines = [
            f"{_iso(times[0])} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. "
            "Version: '8.0.37'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL."
        ]
        lines += [
            f"{_iso(t)} {1200 + i} [Warning] [MY-010055] [Server] IP address '10.20.3.{i % 200}' could not be "
            "resolved: Name or service not known"
            for i, t in enumerate(times[1::3])
        ]
        if enospc:
            lines += [
                f"{_iso(t)} 0 [ERROR] [MY-012639] [InnoDB] Write to file ./binlog.00{4120 + i} failed at "
                "offset 2147483648, 16384 bytes should have been written, only 0 were written. Operating "
                "system error number 28. Check that your OS and file system support files of this size. "
                "Check also that the disk is not full or a disk quota exceeded."
                for i, t in enumerate(recent)
            ]
            lines.append(
                f"{_iso(recent[-1] + 0.001)} 0 [ERROR] [MY-012640] [InnoDB] Error number 28 means 'No "
                "space left on device'"
            )
        out["/var/log/mysql/error.log" if debian else "/var/log/mysqld.log"] = "\n".join(lines) + "\n"
    elif p.role == "cache":
        lines = [f"1702:M {_redis(t)} * {n} changes in 60 seconds. Saving..." for n, t in enumerate(times, 100)]
        if enospc:
            lines += [f"1702:M {_redis(t)} # Write error saving DB on disk: No space left on device" for t in recent]
        out["/var/log/redis/redis-server.log" if debian else "/var/log/redis/redis.log"] = "\n".join(lines) + "\n"
    elif p.role == "app":
        lines = [
            f"{_java(t)}  INFO 2211 --- [nio-8080-exec-{i % 10 + 1}] c.e.order.web.OrderController      : "
            f"order {880000 + i} accepted in {rng.randint(8, 90)} ms"
            for i, t in enumerate(times)
        ]
        if p.guilty:
            lines += [
                f"{_java(t)} ERROR 2211 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : "
                "Servlet.service() threw exception [java.lang.OutOfMemoryError: Java heap space]"
                for t in recent
            ]
        if enospc:
            lines.append(
                f"{_java(recent[-1])} ERROR 2211 --- [   scheduling-1] c.e.order.export.ExportJob           "
                f": export failed: java.io.IOException: No space left on device ({enospc}/exports)"
            )
        out["/var/log/app/order-service.log"] = "\n".join(lines) + "\n"
    else:
        lines = [
            f"[{_celery(t)}: INFO/ForkPoolWorker-{i % 8 + 1}] Task tasks.thumbnail[{rng.getrandbits(64):016x}] "
            f"succeeded in {rng.uniform(0.05, 3):.3f}s: None"
            for i, t in enumerate(times)
        ]
        if enospc:
            lines += [
                f"[{_celery(t)}: ERROR/ForkPoolWorker-2] Task tasks.thumbnail[{rng.getrandbits(64):016x}] "
                f"raised unexpected: OSError(28, 'No space left on device') path={enospc}/cache/img.tmp"
                for t in recent
            ]
        out["/var/log/celery/worker.log"] = "\n".join(lines) + "\n"
    return out


def _kinds(p: HostProfile) -> set[str]:
    return {f.kind for f in p.faults}


def _ngx(t: float) -> str:
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))


def _fpm(t: float) -> str:
    return time.strftime("%d-%b-%Y %H:%M:%S", time.gmtime(t))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e6) % 1000000:06d}Z"


def _redis(t: float) -> str:
    return time.strftime("%d %b %Y %H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


def _java(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


def _celery(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f",{int(t * 1000) % 1000:03d}"
