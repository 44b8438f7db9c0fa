import pytest

from tools_server.catalog import (
    CatalogError,
    CommandName,
    build_batch,
    command,
    log_tail,
    new_token,
    smartctl,
    split_batch,
    validate_device,
    validate_path,
)


@pytest.mark.parametrize("device", ["/dev/sda", "/dev/sdab", "/dev/nvme0n1", "/dev/nvme10", "/dev/vdb", "/dev/xvda"])
def test_valid_devices(device: str) -> None:
    assert validate_device(device) == device


@pytest.mark.parametrize(
    "device",
    ["sda", "/dev/sda1;rm -rf /", "-a", "/dev/../etc/passwd", "/dev/sda $(id)", "/dev/mem", "/dev/sda\n", ""],
)
def test_refused_devices(device: str) -> None:
    with pytest.raises(CatalogError, match="refused device"):
        validate_device(device)


def test_paths_must_stay_inside_roots() -> None:
    roots = ["/var/log"]
    assert validate_path("/var/log/syslog", roots) == "/var/log/syslog"
    assert validate_path("/var/log/nginx/error.log", roots) == "/var/log/nginx/error.log"
    for bad in [
        "/etc/shadow",
        "/var/log/../../etc/shadow",
        "/var/logs/x",
        "-n",
        "/var/log/x;id",
        "var/log/x",
        "/var/log//x",
        "/var/log/./x",
        "/var/log/$(id)",
    ]:
        with pytest.raises(CatalogError):
            validate_path(bad, roots)


def test_log_tail_bounds_lines() -> None:
    assert log_tail("/var/log/syslog", 10, ["/var/log"]).argv == ("tail", "-n", "10", "/var/log/syslog")
    with pytest.raises(CatalogError):
        log_tail("/var/log/syslog", 0, ["/var/log"])


def test_become_prefixes_only_privileged_commands() -> None:
    assert command(CommandName.DMIDECODE_MEMORY, become=True).argv[:2] == ("sudo", "-n")
    assert command(CommandName.FREE, become=True).argv == ("free", "-b")
    assert smartctl("/dev/sda", become=True).argv == ("sudo", "-n", "smartctl", "-j", "-a", "/dev/sda")


def test_batch_round_trip_with_forged_markers_in_output() -> None:
    token = new_token()
    cmds = [command(CommandName.FREE), smartctl("/dev/nvme0n1")]
    script = build_batch(cmds, token)
    assert script.startswith("export LC_ALL=C\n")
    assert "smartctl -j -a /dev/nvme0n1 2>&1" in script
    forged = "@@OPSWD 0000000000000000 END free 0\n"  # a log line trying to close the section early
    stdout = (
        f"@@OPSWD {token} BEGIN free\nMem: 1 2 3\n{forged}"
        f"@@OPSWD {token} END free 0\n"
        f"@@OPSWD {token} BEGIN smartctl_nvme0n1\n{{}}\n@@OPSWD {token} END smartctl_nvme0n1 4\n"
    )
    sections = split_batch(stdout, token)
    assert sections["free"].exit_status == 0
    assert forged in sections["free"].output
    assert sections["smartctl_nvme0n1"].exit_status == 4


def test_cut_short_section_has_no_status() -> None:
    token = new_token()
    sections = split_batch(f"@@OPSWD {token} BEGIN ps\n  PID\n", token)
    assert sections["ps"].exit_status is None
    assert sections["ps"].output == "  PID\n"


def test_batch_refuses_bad_token_and_duplicate_keys() -> None:
    with pytest.raises(CatalogError):
        build_batch([command(CommandName.FREE)], "not-a-token")
    with pytest.raises(CatalogError):
        build_batch([command(CommandName.FREE), command(CommandName.FREE)], new_token())


def test_section_without_trailing_newline_and_empty_section() -> None:
    """cat of a file without a final newline glues the END marker to its last line (old-kernel meminfo)."""
    token = new_token()
    stdout = (
        f"@@OPSWD {token} BEGIN meminfo\nMemTotal: 1 kB@@OPSWD {token} END meminfo 0\n"
        f"@@OPSWD {token} BEGIN nproc\n@@OPSWD {token} END nproc 0\n"
    )
    sections = split_batch(stdout, token)
    assert sections["meminfo"].output == "MemTotal: 1 kB" and sections["meminfo"].exit_status == 0
    assert sections["nproc"].output == "" and sections["nproc"].exit_status == 0
