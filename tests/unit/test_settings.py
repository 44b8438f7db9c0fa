from pathlib import Path

import pytest

from tools_server.settings import Settings


def test_env_prefix_and_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSWD_INVENTORY", "/etc/opswd/fleet.yaml")
    monkeypatch.setenv("OPSWD_SSH__CONNECT_TIMEOUT_S", "4.5")
    monkeypatch.setenv("OPSWD_THRESHOLDS__DISK_CRITICAL_PCT", "95")
    monkeypatch.setenv("OPSWD_LOG_ROOTS", '["/var/log", "/srv/app/logs"]')
    s = Settings()
    assert s.inventory == Path("/etc/opswd/fleet.yaml")
    assert s.ssh.connect_timeout_s == 4.5
    assert s.thresholds.disk_critical_pct == 95
    assert s.log_roots == ["/var/log", "/srv/app/logs"]
    assert s.ssh.verify_host_keys is True


def test_secrets_from_env_or_file_and_never_in_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSWD_MCP_TOKEN", "s3cr3t-token-value")
    s = Settings()
    assert s.resolved_mcp_token() == "s3cr3t-token-value"
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in s.model_dump_json()
    monkeypatch.delenv("OPSWD_MCP_TOKEN")
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    monkeypatch.setenv("OPSWD_SSH__PASSWORD_FILE", str(secret))
    assert Settings().ssh.resolved_password() == "hunter2"
    assert Settings().resolved_mcp_token() is None


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSWD_SSH__MAX_HANDSHAKES", "0")
    with pytest.raises(ValueError, match="max_handshakes"):
        Settings()
