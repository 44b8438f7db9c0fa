"""The deterministic finding rules, on parsed real and hand-written output."""

from pathlib import Path

import pytest

from tools_server.findings import finding_id, rank
from tools_server.parsers.df import parse_df, parse_df_inodes
from tools_server.parsers.meminfo import parse_meminfo
from tools_server.parsers.procs import parse_ps
from tools_server.parsers.smartctl import parse_smartctl
from tools_server.parsers.system import parse_loadavg, parse_nproc
from tools_server.rules_disk import inode_findings, smart_findings, space_findings
from tools_server.rules_memory import memory_findings, used_percent
from tools_server.rules_system import load_findings
from tools_server.settings import Thresholds

CAPTURES = Path(__file__).resolve().parents[2] / "simfleet" / "captures"
TH = Thresholds()

MEMINFO_PRESSURE = """\
MemTotal:       65843216 kB
MemFree:          812344 kB
MemAvailable:    2633728 kB
Buffers:           10240 kB
Cached:          1540000 kB
SwapTotal:       8388604 kB
SwapFree:        2097152 kB
HugePages_Total:       0
"""
PS_GUILTY = """\
  PID  PPID USER       RSS    VSZ %CPU %MEM ELAPSED COMMAND         COMMAND
 4242     1 app   52428800 60000000 97.0 79.6 86400 image_process   /opt/app/bin/image_process --loop
  812     1 app    6291456 9000000  3.0  9.5  86400 java            java -Xmx6g -jar app.jar
    1     0 root      9000  160000  0.0  0.0  86400 systemd         /sbin/init
"""


def test_memory_pressure_names_the_guilty_process() -> None:
    mem = parse_meminfo(MEMINFO_PRESSURE)
    assert used_percent(mem) == 96.0
    findings = memory_findings("node-07", mem, parse_ps(PS_GUILTY), TH, "cat /proc/meminfo")
    by_metric = {f.metric: f for f in findings}
    pressure = by_metric["memory.used_percent"]
    assert pressure.severity == "critical" and pressure.value == 96.0 and pressure.threshold == 90
    assert "image_process (pid 4242" in pressure.evidence
    assert pressure.evidence.index("image_process") < pressure.evidence.index("java")
    swap = by_metric["memory.swap_used_percent"]
    assert swap.severity == "warning" and swap.value == 75.0


def test_warning_band_and_no_finding_below() -> None:
    mem = parse_meminfo(MEMINFO_PRESSURE.replace("MemAvailable:    2633728", "MemAvailable:   9876482"))
    (f,) = [x for x in memory_findings("h", mem, None, TH, "s") if x.metric == "memory.used_percent"]
    assert f.severity == "warning"
    healthy = parse_meminfo((CAPTURES / "proc-meminfo.txt").read_text())
    assert memory_findings("h", healthy, None, TH, "s") == []


def test_disk_rules_skip_pseudo_filesystems() -> None:
    text = """\
Filesystem     1-blocks        Used  Available Capacity Mounted on
/dev/sda1   100000000000 97000000000 3000000000      98% /data
/dev/sda2   100000000000 85000000000 15000000000     85% /var
tmpfs        1000000000  1000000000          0     100% /run
/dev/loop3     60000000    60000000          0     100% /snap/core/1
"""
    findings = space_findings("h", parse_df(text), TH, "df -PB1")
    assert [(f.subject, f.severity) for f in findings] == [("/data", "critical"), ("/var", "warning")]
    assert space_findings("h", parse_df((CAPTURES / "df-PB1.txt").read_text()), TH, "df") == []


def test_inode_rule() -> None:
    text = """\
Filesystem      Inodes   IUsed  IFree IUse% Mounted on
/dev/sdb1      6553600 6500000  53600   100% /var/spool
/dev/sda1      1000000  100000 900000    10% /
"""
    (f,) = inode_findings("h", parse_df_inodes(text), TH, "df -Pi")
    assert f.subject == "/var/spool" and f.severity == "critical"


def test_smart_rules_on_real_captures(real_dir: Path) -> None:
    failed = parse_smartctl(
        (real_dir / "smartctl/ata-hdd-hgst-hus724020ala640-failed-realloc-pending-x.txt").read_text(errors="replace")
    )
    metrics = {f.metric: f for f in smart_findings("h", "/dev/sda", failed, TH, "smartctl")}
    assert metrics["smart.health"].severity == "critical"
    assert metrics["smart.reallocated_sectors"].value == failed.reallocated_sectors
    assert "smart.pending_sectors" in metrics
    nvme = parse_smartctl(
        (real_dir / "smartctl/nvme-toshiba-kxg50-failed-cw0x01-pct255-x.txt").read_text(errors="replace")
    )
    metrics = {f.metric: f for f in smart_findings("h", "/dev/nvme0n1", nvme, TH, "smartctl")}
    assert metrics["smart.nvme_critical_warning"].summary.endswith("available spare below threshold")
    assert metrics["smart.percentage_used"].value == 255


def test_load_rule() -> None:
    load = parse_loadavg("9.50 4.00 2.00 5/300 1234\n")
    (f,) = load_findings("h", load, parse_nproc("4\n"), TH, "loadavg")
    assert f.value == 2.38
    assert load_findings("h", parse_loadavg("1.0 1.0 1.0 1/2 3\n"), parse_nproc("4\n"), TH, "x") == []


def test_ids_are_stable_and_rank_puts_critical_first() -> None:
    assert finding_id("h", "disk", "disk.used_percent", "/data") == finding_id(
        "h", "disk", "disk.used_percent", "/data"
    )
    assert finding_id("h", "disk", "disk.used_percent", "/data") != finding_id("h", "disk", "disk.used_percent", "/")
    mem = parse_meminfo(MEMINFO_PRESSURE)
    ranked = rank(memory_findings("h", mem, None, TH, "s"))
    assert ranked[0].severity == "critical"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        Thresholds(disk_warning_pct=95, disk_critical_pct=90)
