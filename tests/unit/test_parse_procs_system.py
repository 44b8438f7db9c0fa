"""ps, uptime, /proc/loadavg and nproc parsers against this machine's captures and hand-written variants."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import pytest

from tests.conftest import REPO_ROOT
from tools_server.parsers.errors import ParseError
from tools_server.parsers.procs import parse_ps
from tools_server.parsers.system import parse_loadavg, parse_nproc, parse_uptime

CAPTURES = REPO_ROOT / "simfleet" / "captures"
HEADER = "  PID  PPID USER       RSS    VSZ %CPU %MEM ELAPSED COMMAND         COMMAND"


def test_own_ps_capture() -> None:
    text = (CAPTURES / "ps-eo.txt").read_text()
    table = parse_ps(text)
    assert len(table.processes) == len(text.splitlines()) - 1
    first = table.processes[0]
    assert (first.pid, first.ppid, first.user, first.comm) == (2933, 1, "rabbitmq", "beam.smp")
    assert first.rss_bytes == 124924 * 1024 and first.vsz_bytes == 2233976 * 1024
    assert (first.cpu_percent, first.mem_percent, first.elapsed_seconds) == (3.8, 0.5, 130)
    assert first.args.startswith("/usr/lib/erlang/erts-13.1.5/bin/beam.smp -W w")
    # VSZ wider than its column shifts the rest of the row; comm/args must still split.
    mysql = next(p for p in table.processes if p.pid == 3771)
    assert (mysql.vsz_bytes, mysql.elapsed_seconds) == (8591283460 * 1024, 113)
    assert (mysql.comm, mysql.args) == ("mariadbd", "/usr/sbin/mariadbd")
    walwriter = next(p for p in table.processes if p.pid == 2188)
    assert walwriter.args == "postgres: 15/main: walwriter"
    kworker = next(p for p in table.processes if p.pid == 9)
    assert (kworker.comm, kworker.args) == ("kworker/0:0-eve", "[kworker/0:0-events]")
    mosquitto = next(p for p in table.processes if p.pid == 2938)
    assert mosquitto.user == "mosquit+"
    assert [p.pid for p in table.top_by_rss(3)] == [2933, 3771, 6526]


HAND_PS = f"""{HEADER}
 4242  1800 alice    812340 3456780 12.5  5.1   7322 Web Content     /usr/lib/firefox/firefox -contentproc 3
   77     2 root         0      0  0.0  0.0  86400 kworker/0:1-eve [kworker/0:1-events]
 1800     1 alice    2097152 9999999  1.0 12.0  93784 firefox         /usr/lib/firefox/firefox
  500     1 root     100000 99999999999 0.0 0.6   42 Isolated Web Co /usr/lib/firefox/firefox -contentproc
"""


def test_comm_with_spaces_and_top_by_rss() -> None:
    table = parse_ps(HAND_PS)
    web = table.processes[0]
    assert (web.comm, web.args) == ("Web Content", "/usr/lib/firefox/firefox -contentproc 3")
    assert (web.user, web.rss_bytes, web.cpu_percent, web.elapsed_seconds) == (
        "alice",
        812340 * 1024,
        12.5,
        7322,
    )
    assert table.processes[1].comm == "kworker/0:1-eve"
    shifted = table.processes[3]
    assert (shifted.comm, shifted.args) == ("Isolated Web Co", "/usr/lib/firefox/firefox -contentproc")
    assert [p.pid for p in table.top_by_rss(2)] == [1800, 4242]
    assert table.top_by_rss(0) == []
    assert len(table.top_by_rss(100)) == 4


def test_other_column_order_and_etime() -> None:
    text = (
        "USER       PID  PPID %CPU %MEM    VSZ   RSS     ELAPSED COMMAND         COMMAND\n"
        "postgres  2184     1  0.0  0.1 217232 29760  1-02:03:04 postgres        /usr/lib/pg/bin/postgres\n"
        "root         1     0  0.3  0.0  36496  7656       02:05 init            /sbin/init\n"
    )
    first, second = parse_ps(text).processes
    assert (first.pid, first.user, first.rss_bytes) == (2184, "postgres", 29760 * 1024)
    assert first.elapsed_seconds == ((24 + 2) * 60 + 3) * 60 + 4
    assert second.elapsed_seconds == 125 and second.args == "/sbin/init"


PS_GARBAGE = [
    "",
    "error: unsupported SysV option",
    json.dumps([{"pid": 1}]),
    bytes(range(256)).decode("latin-1"),
    HEADER + "\n",
    HEADER + "\n 2933     1 rabbitmq 124924",
    HEADER + "\n 29x3     1 rabbitmq 124924 2233976 3.8  0.5    130 beam.smp        beam.smp",
    "  PID TTY          TIME CMD\n    1 ?        00:00:01 init\n",
]


@pytest.mark.parametrize("text", PS_GARBAGE)
def test_ps_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_ps(text)


def test_own_uptime_loadavg_nproc_captures() -> None:
    up = parse_uptime((CAPTURES / "uptime.txt").read_text())
    assert (up.uptime_seconds, up.users, up.load1, up.load5, up.load15) == (120, 0, 0.60, 0.29, 0.12)
    load = parse_loadavg((CAPTURES / "proc-loadavg.txt").read_text())
    assert (load.load1, load.load5, load.load15) == (0.60, 0.29, 0.12)
    assert (load.running, load.total, load.last_pid) == (3, 137, 6589)
    assert parse_nproc((CAPTURES / "nproc.txt").read_text()).cpus == 2


@pytest.mark.parametrize(
    ("text", "seconds", "users", "loads"),
    [
        (" 17:37:29 up 2 min,  0 user,  load average: 0.60, 0.29, 0.12", 120, 0, (0.6, 0.29, 0.12)),
        (
            " 09:12:01 up 3 days,  4:05,  2 users,  load average: 1.00, 2.50, 3.25",
            273900,
            2,
            (1.0, 2.5, 3.25),
        ),
        (" 09:12:01 up 1 day, 23 min,  1 user,  load average: 0.00, 0.01, 0.05", 87780, 1, (0.0, 0.01, 0.05)),
        (" 09:12:01 up 10:02,  1 users,  load average: 4.10, 3.00, 2.00", 36120, 1, (4.1, 3.0, 2.0)),
        (
            " 09:12:01 up 400 days, 10 min,  7 users,  load average: 0.10, 0.20, 0.30",
            34560600,
            7,
            (0.1, 0.2, 0.3),
        ),
        ("10:00  up 3 days,  4:05, 2 users, load averages: 1.23 1.11 1.05", 273900, 2, (1.23, 1.11, 1.05)),
        ("17:00  up 45 secs, 1 user, load averages: 1.23 1.11 1.05", 45, 1, (1.23, 1.11, 1.05)),
        (" 17:37:29 up 2 min,  load average: 0,60, 0,29, 0,12", 120, None, (0.6, 0.29, 0.12)),
        (" 17:37:29 up 5 Tage,  load average: 0.60, 0.29, 0.12", None, None, (0.6, 0.29, 0.12)),
    ],
)
def test_uptime_variants(text: str, seconds: int | None, users: int | None, loads: tuple[float, ...]) -> None:
    info = parse_uptime(text + "\n")
    assert (info.uptime_seconds, info.users) == (seconds, users)
    assert (info.load1, info.load5, info.load15) == loads


SYSTEM_GARBAGE = [
    "",
    "   \n",
    "bash: uptime: command not found",
    json.dumps({"load1": 0.5}),
    bytes(range(256)).decode("latin-1"),
    " 17:37:29 up 2 min,  0 user,  load average: 0.60, 0.2",
    "0.42 0.22",
    "Permission denied",
]


@pytest.mark.parametrize("text", SYSTEM_GARBAGE)
@pytest.mark.parametrize("parser", [parse_uptime, parse_loadavg, parse_nproc], ids=lambda f: f.__name__)
def test_system_garbage_raises_parse_error(parser: Callable[[str], object], text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)


def test_loadavg_hand_written() -> None:
    load = parse_loadavg("0.42 0.22 0.09 3/139 6418\n")
    assert (load.load1, load.load5, load.load15, load.running, load.total, load.last_pid) == (
        0.42,
        0.22,
        0.09,
        3,
        139,
        6418,
    )


@pytest.mark.parametrize("text", ["0", "-2", "2.5", "two", "2 3", "٣"])
def test_nproc_rejects_non_positive_or_non_integer(text: str) -> None:
    with pytest.raises(ParseError):
        parse_nproc(text)


def test_truncated_ps_capture_parses_or_raises_parse_error() -> None:
    text = (CAPTURES / "ps-eo.txt").read_text()
    for cut in range(0, len(text), max(1, len(text) // 80)):
        with contextlib.suppress(ParseError):
            parse_ps(text[:cut])
