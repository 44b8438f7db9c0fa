from pathlib import Path

import pytest

from tools_server.catalog import CatalogError, pgrep
from tools_server.parsers.errors import ParseError
from tools_server.parsers.procstat import cpu_usage_percent, parse_proc_stat

CAPTURE = Path(__file__).resolve().parents[2] / "simfleet" / "captures" / "proc-stat.txt"


def test_this_machines_proc_stat() -> None:
    times = parse_proc_stat(CAPTURE.read_text())
    assert times.total > times.idle > 0


def test_usage_between_two_readings() -> None:
    a = parse_proc_stat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 1 1 1\n")
    b = parse_proc_stat("cpu  250 0 150 900 100 0 0 0 0 0\n")
    assert cpu_usage_percent(a, b) == 50.0
    assert cpu_usage_percent(a, a) == 0.0


def test_old_kernel_without_steal_and_garbage() -> None:
    assert parse_proc_stat("cpu  1 2 3 4\n").steal == 0
    for bad in ["", "intr 1 2 3", "cpu  a b c d", "cpu 1 2"]:
        with pytest.raises(ParseError):
            parse_proc_stat(bad)


def test_pgrep_pattern_cannot_match_the_remote_shell() -> None:
    import re

    cmd = pgrep("nginx: master", "svc_nginx")
    assert cmd.argv == ("pgrep", "-f", "[n]ginx: master")
    assert re.search(cmd.argv[2], "nginx: master process /usr/sbin/nginx")
    assert not re.search(cmd.argv[2], "sh -c pgrep -f '[n]ginx: master'")
    for bad in ["-f", " nginx", "a|b", "x;id", "$(id)", "a" * 200]:
        with pytest.raises(CatalogError):
            pgrep(bad, "svc")
