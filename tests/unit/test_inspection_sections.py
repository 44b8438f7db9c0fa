"""How inspection turns each section's exit status and output into data: never an exception."""

from __future__ import annotations

import contextlib
import random

import pytest

from tools_server.catalog import SectionResult
from tools_server.inspection import _HostInspection
from tools_server.inventory import Host
from tools_server.parsers import PARSERS, ParseError
from tools_server.settings import Thresholds


def _state() -> _HostInspection:
    return _HostInspection(Host(name="h1", address="127.0.0.1"), Thresholds())


def _results(**sections: tuple[int | None, str]) -> dict[str, SectionResult]:
    return {k: SectionResult(k, rc, out) for k, (rc, out) in sections.items()}


def test_garbage_output_becomes_a_parse_error_finding() -> None:
    state = _state()
    section = state.memory(
        _results(
            meminfo=(0, "<html>502 Bad Gateway</html>\n"),
            free=(0, "\x00\x01\x02"),
            ps=(0, "{}"),
            dmidecode_memory=(0, "nothing here"),
            dmidecode_board=(0, ""),
        )
    )
    assert section.meminfo is None and section.dmi is None
    metrics = sorted({f.metric for f in state.findings})
    assert metrics == ["memory.parse_error"]
    assert {f.subject for f in state.findings} == {"meminfo", "free", "ps", "dmidecode_memory"}
    assert state.degraded


def test_permission_denied_and_missing_tools_are_not_inspectable() -> None:
    state = _state()
    denied = "/sys/firmware/dmi/tables/smbios_entry_point: Permission denied\n/dev/mem: Permission denied\n"
    state.memory(
        _results(
            meminfo=(0, "MemTotal: 1024 kB\nMemAvailable: 512 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"),
            free=(127, "sh: 1: free: not found\n"),
            ps=(None, "  PID"),
            dmidecode_memory=(1, denied),
            dmidecode_board=(1, denied),
        )
    )
    summaries = sorted(f.summary for f in state.findings)
    assert any("dmidecode needs root" in s for s in summaries)
    assert any("free is not installed (exit 127)" in s for s in summaries)
    assert any("output cut short" in s for s in summaries)


def test_smartctl_json_with_nonzero_exit_bitmask_is_still_read() -> None:
    from tools_server.catalog import smartctl

    cmd = smartctl("/dev/sda")
    state = _state()
    body = (
        '{"json_format_version":[1,0],"smartctl":{"version":[7,3],"exit_status":4},'
        '"device":{"name":"/dev/sda","protocol":"ATA"},"model_name":"X","smart_status":{"passed":false}}'
    )
    (disk,) = state.smart(_results(smartctl_sda=(4, body)), [cmd])
    assert disk.report is not None and disk.report.health_passed is False
    assert [f.metric for f in state.findings] == ["smart.health"]


def test_smartctl_missing_everywhere_is_one_finding() -> None:
    from tools_server.catalog import smartctl

    cmds = [smartctl("/dev/sda"), smartctl("/dev/nvme0n1")]
    state = _state()
    disks = state.smart(
        _results(
            smartctl_sda=(127, "sh: 1: smartctl: not found\n"), smartctl_nvme0n1=(127, "sh: 1: smartctl: not found\n")
        ),
        cmds,
    )
    assert disks == []
    (f,) = state.findings
    assert f.metric == "smart.inspectable" and "not installed" in f.summary


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_random_bytes_only_ever_raise_parse_error(kind: str) -> None:
    rng = random.Random(kind)
    for _ in range(200):
        text = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))).decode("latin-1")
        with contextlib.suppress(ParseError):
            PARSERS[kind](text)
