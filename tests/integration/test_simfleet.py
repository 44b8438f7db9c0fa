"""The simulated fleet over real SSH: catalog batches, every fault kind, the files it writes, and its CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import pytest_asyncio
import yaml

from simfleet import FaultKind, Fleet, Scenario, ScenarioError, SimHost, load_scenario, start_fleet
from simfleet.fleet import GeneratedHost, generate_fleet
from simfleet.machine import WARM
from tools_server.catalog import CatalogCommand, CommandName, SectionResult, build_batch, command, new_token, smartctl
from tools_server.catalog import split_batch as split

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
REPO = Path(__file__).resolve().parents[2]
_PLAIN = [n for n in CommandName if n not in (CommandName.SMARTCTL, CommandName.LOG_TAIL, CommandName.PGREP)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fleet]:
    async with start_fleet("demo", tmp_path_factory.mktemp("simfleet")) as running:
        yield running


@asynccontextmanager
async def _connect(fleet: Fleet, host: SimHost, timeout: float = 5) -> AsyncIterator[asyncssh.SSHClientConnection]:
    async with asyncssh.connect(
        host.address,
        host.port,
        username=host.user,
        client_keys=[str(host.identity_file)],
        known_hosts=str(fleet.known_hosts_path),
        connect_timeout=timeout,
    ) as conn:
        yield conn


async def _batch(fleet: Fleet, host: SimHost, commands: list[CatalogCommand]) -> dict[str, SectionResult]:
    token = new_token()
    async with _connect(fleet, host) as conn:
        result = await conn.run(build_batch(commands, token), timeout=10)
    assert result.exit_status == 0 and result.stderr == ""
    return split(str(result.stdout), token)


def _one(fleet: Fleet, kind: str) -> SimHost:
    return fleet.with_fault(kind)[0]


async def test_files_written(fleet: Fleet) -> None:
    inventory = yaml.safe_load(fleet.inventory_path.read_text())
    assert inventory["defaults"] == {"user": "ops", "port": 22}
    names = [h["name"] for h in inventory["hosts"]]
    assert names == [f"node-{i:02d}" for i in range(1, 21)]
    first = inventory["hosts"][0]
    assert {"address", "port", "user", "identity_file", "groups", "tags", "rack", "switch", "services"} <= set(first)
    assert first["services"][0] == {"name": "sshd", "port": first["port"], "process": "sshd"}
    known = fleet.known_hosts_path.read_text().splitlines()
    assert len(known) == 20 and all(line.startswith("[127.0.1.") and " ssh-ed25519 AAAA" in line for line in known)
    for h in fleet.hosts:
        assert stat.S_IMODE(h.identity_file.stat().st_mode) == 0o600
        assert h.identity_file.with_suffix(".pub").read_text().startswith("ssh-ed25519 ")
    faults = json.loads(fleet.faults_path.read_text())
    assert set(faults) == set(names)
    assert {k for kinds in faults.values() for k in kinds} == {k.value for k in FaultKind}
    assert sum(1 for kinds in faults.values() if not kinds) >= 3
    assert sum(1 for kinds in faults.values() if len(kinds) == 2) >= 2


async def test_healthy_host_answers_every_catalog_command(fleet: Fleet) -> None:
    host = next(h for h in fleet.hosts if not h.faults)
    sections = await _batch(fleet, host, [command(n) for n in _PLAIN])
    assert {s.key for s in sections.values()} == {n.value for n in _PLAIN}
    assert all(s.exit_status == 0 and s.output for k, s in sections.items() if k != "sleep"), sections
    devices = [d["name"] for d in json.loads(sections["lsblk"].output)["blockdevices"] if d["type"] == "disk"]
    smart = await _batch(fleet, host, [smartctl(f"/dev/{d}") for d in devices])
    for d in devices:
        report = json.loads(smart[f"smartctl_{d}"].output)
        assert smart[f"smartctl_{d}"].exit_status == 0 and report["smart_status"]["passed"] is True


async def test_dmidecode_denied(fleet: Fleet) -> None:
    s = (await _batch(fleet, _one(fleet, "dmidecode_denied"), [command(CommandName.DMIDECODE_MEMORY)]))[
        "dmidecode_memory"
    ]
    assert s.exit_status == 1 and "/dev/mem: Permission denied" in s.output


async def test_smartctl_missing(fleet: Fleet) -> None:
    s = (await _batch(fleet, _one(fleet, "smartctl_missing"), [smartctl("/dev/sda")]))["smartctl_sda"]
    assert s.exit_status == 127 and "smartctl: not found" in s.output


async def test_unreachable_times_out(fleet: Fleet) -> None:
    started = time.monotonic()
    with pytest.raises((asyncio.TimeoutError, asyncssh.Error)):
        async with _connect(fleet, _one(fleet, "unreachable"), timeout=2):
            pass
    assert 1.5 < time.monotonic() - started < 5


async def test_wrong_credentials(fleet: Fleet) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(fleet, _one(fleet, "wrong_credentials")):
            pass


async def test_host_key_changed(fleet: Fleet) -> None:
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with _connect(fleet, _one(fleet, "host_key_changed")):
            pass


async def test_slow_host_answers_late(fleet: Fleet) -> None:
    host = _one(fleet, "slow")
    delay = next(f.delay_s for f in host.machine.profile.faults if f.kind == "slow")
    started = time.monotonic()
    s = (await _batch(fleet, host, [command(CommandName.NPROC)]))["nproc"]
    assert s.exit_status == 0 and time.monotonic() - started >= delay


async def test_shell_subset_syntax_error_and_unknown_command(fleet: Fleet) -> None:
    host = next(h for h in fleet.hosts if not h.faults)
    script = (
        "export LC_ALL=C\necho 'BEGIN a'\necho a | cat 2>&1\necho \"END a $?\"\n"
        "echo 'BEGIN b'\nfrobnicate --now 2>&1\necho \"END b $?\"\n"
    )
    async with _connect(fleet, host) as conn:
        r = await conn.run(script, timeout=10)
    assert r.stdout == "BEGIN a\nEND a 2\nBEGIN b\nsh: 6: frobnicate: not found\nEND b 127\n"
    assert r.stderr == 'sh: 3: Syntax error: "|" unexpected\n'
    assert r.exit_status == 0


async def test_memory_pressure_shows_in_free_meminfo_and_ps(fleet: Fleet) -> None:
    host = _one(fleet, "memory_pressure")
    s = await _batch(fleet, host, [command(CommandName.FREE), command(CommandName.MEMINFO), command(CommandName.PS)])
    mem = s["free"].output.splitlines()[1].split()
    assert int(mem[6]) / int(mem[1]) < 0.08
    meminfo = {line.split(":")[0]: int(line.split()[1]) for line in s["meminfo"].output.splitlines()}
    assert meminfo["MemAvailable"] / meminfo["MemTotal"] < 0.08
    top = s["ps"].output.splitlines()[1].split(None, 9)
    assert ("java" in top[9] or "image_process" in top[9]) and float(top[6]) > 50


async def test_disk_full_shows_in_df(fleet: Fleet) -> None:
    host = _one(fleet, "disk_full")
    fault = next(f for f in host.machine.profile.faults if f.kind == "disk_full")
    df = (await _batch(fleet, host, [command(CommandName.DF)]))["df"].output.splitlines()
    row = next(line.split() for line in df[1:] if line.split()[-1] == fault.mount)
    assert int(row[4].rstrip("%")) >= 95


async def test_hardware_faults_in_smart(fleet: Fleet) -> None:
    def nvme(r: dict[str, Any], key: str) -> int:
        return int(r.get("nvme_smart_health_information_log", {}).get(key, 0))

    def ata(r: dict[str, Any], ids: tuple[int, ...]) -> int:
        table = r.get("ata_smart_attributes", {}).get("table", [])
        return sum(a["raw"]["value"] for a in table if a["id"] in ids)

    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        "smart_failed": lambda r: r["smart_status"]["passed"] is False and ata(r, (5,)) > 0,
        "smart_sectors": lambda r: r["smart_status"]["passed"] is True and ata(r, (5, 197)) > 0,
        "nvme_critical_warning": lambda r: nvme(r, "critical_warning") != 0 and r["smart_status"]["passed"] is False,
        "nvme_wearout": lambda r: nvme(r, "percentage_used") >= 90,
    }
    for kind, check in checks.items():
        host = fleet.with_fault(kind)[0]
        disks = [d.path for d in host.machine.profile.disks]
        sections = await _batch(fleet, host, [smartctl(d) for d in disks])
        assert any(check(json.loads(s.output)) for s in sections.values()), kind


def _digest(fleet_hosts: list[GeneratedHost]) -> str:
    h = hashlib.sha256()
    for g in fleet_hosts:
        for argv in WARM:
            r = g.machine.run(list(argv))
            assert r is not None
            h.update((r.stdout + r.stderr + str(r.status)).encode())
        for name, text in sorted(g.machine.files.items()):
            h.update(name.encode() + text.encode())
    return h.hexdigest()


async def test_500_hosts_deterministic_and_fast() -> None:
    scenario = Scenario(seed=42, hosts=500, fault_rate=0.2)
    started = time.monotonic()
    first = generate_fleet(scenario, now=1_780_000_000)
    elapsed = time.monotonic() - started
    assert len(first) == 500 and elapsed < 10
    assert _digest(first) == _digest(generate_fleet(scenario, now=1_780_000_000))
    small = Scenario(seed=42, hosts=20)
    other = small.model_copy(update={"seed": 43})
    assert _digest(generate_fleet(small, now=1_780_000_000)) != _digest(generate_fleet(other, now=1_780_000_000))


async def test_fault_adds_missing_hardware() -> None:
    scenario = Scenario.model_validate(
        {
            "hosts": 1,
            "hosts_overrides": {"node-1": {"board": "dell-r720"}},
            "faults": {
                "node-1": [{"kind": "nvme_wearout", "percentage_used": 97}, {"kind": "disk_full", "mount": "/x"}]
            },
        }
    )
    profile = generate_fleet(scenario, now=1_780_000_000)[0].machine.profile
    nvme = [d for d in profile.disks if d.name.startswith("nvme")]
    assert len(nvme) == 1 and nvme[0].smart.percentage_used == 97
    assert any(fs.mount == "/x" and fs.used * 100 / (fs.used + fs.avail) > 94 for fs in profile.filesystems)


async def test_bad_scenario_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts: 3\nfaults:\n  node-2: [{kind: disk_full, used_percent: 50}]\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: faults\.node-2\.0\.disk_full\.used_percent"):
        load_scenario(bad)
    bad.write_text("hosts: 3\nfaults:\n  node-9: [slow]\n")
    with pytest.raises(ScenarioError, match="outside the fleet"):
        load_scenario(bad)
    assert load_scenario("healthy").faults == {}


async def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simfleet", "--hosts", "3", "--scenario", "healthy", "--out", str(out),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        assert line.startswith("simfleet ready: 3 hosts on 127.0.1.1:") and "inventory.yaml" in line
        host = yaml.safe_load((out / "inventory.yaml").read_text())["hosts"][0]
        async with asyncssh.connect(
            host["address"], host["port"], username="ops", client_keys=[host["identity_file"]],
            known_hosts=str(out / "known_hosts"), connect_timeout=5,
        ) as conn:  # fmt: skip
            assert (await conn.run("nproc", timeout=5)).exit_status == 0
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
