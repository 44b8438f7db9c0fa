"""Process settings of the tools server (pydantic-settings, env prefix OPSWD_): config and secrets.

Secrets (SSH password, MCP bearer token) come only from the environment or from files named here;
they never appear in inventories, graph state or logs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.settings import KnowledgeSettings
from tools_server.metrics.settings import MetricsSettings
from tools_server.notify.settings import NotifySettings

log = logging.getLogger(__name__)


class SshSettings(BaseModel):
    """How the SSH client connects, verifies and bounds its work."""

    known_hosts: Path = Field(Path("~/.ssh/known_hosts"), description="OpenSSH known_hosts file to verify host keys")
    verify_host_keys: bool = Field(True, description="Turning this off accepts any host key (logged as a warning)")
    connect_timeout_s: float = Field(10.0, gt=0, description="TCP connect + SSH handshake + auth")
    command_timeout_s: float = Field(60.0, gt=0, description="One batch exec on a connected host")
    slot_timeout_s: float = Field(600.0, gt=0, description="Longest wait for a free concurrency slot")
    max_handshakes: int = Field(50, ge=1, description="Global limit of SSH handshakes in flight (CPU bound)")
    per_host_limit: int = Field(2, ge=1, description="Connections at once to one host")
    connect_retries: int = Field(3, ge=0, description="Retries when a connection is reset before the banner")
    retry_backoff_s: float = Field(0.25, ge=0, description="First retry delay; doubles each retry, with jitter")
    encryption_algs: list[str] = Field(
        ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"],
        description="Cipher preference: AES-GCM first, it costs the client far less CPU per packet than "
        "asyncssh's chacha20-poly1305 on hosts with AES-NI",
    )
    default_user: str = "root"
    default_identity_file: Path | None = None
    password: SecretStr | None = Field(None, description="Password auth, only when set (env OPSWD_SSH__PASSWORD)")
    password_file: Path | None = Field(None, description="File holding the SSH password")

    def resolved_password(self) -> str | None:
        """Return the configured SSH password, from the setting or its file, or None."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.expanduser().read_text().strip()
        return None


class Thresholds(BaseModel):
    """Deterministic finding thresholds (percent unless named otherwise)."""

    memory_warning_pct: float = Field(80.0, gt=0, le=100)
    memory_critical_pct: float = Field(90.0, gt=0, le=100)
    swap_used_pct: float = Field(10.0, ge=0, le=100, description="Swap use worth reporting when memory is low")
    disk_warning_pct: float = Field(80.0, gt=0, le=100)
    disk_critical_pct: float = Field(90.0, gt=0, le=100)
    inode_warning_pct: float = Field(80.0, gt=0, le=100)
    inode_critical_pct: float = Field(90.0, gt=0, le=100)
    nvme_wear_warning_pct: float = Field(90.0, gt=0)
    load_per_cpu_warning: float = Field(2.0, gt=0, description="1-minute load divided by CPU count")
    top_processes: int = Field(5, ge=1, le=50, description="Processes named as evidence")
    slow_response_s: float = Field(2.0, gt=0, description="A batch answered slower than this is reported")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        for kind in ("memory", "disk", "inode"):
            warn, crit = getattr(self, f"{kind}_warning_pct"), getattr(self, f"{kind}_critical_pct")
            if warn > crit:
                msg = f"{kind}_warning_pct ({warn}) must not exceed {kind}_critical_pct ({crit})"
                raise ValueError(msg)
        return self


class Settings(BaseSettings):
    """All settings of the tools server; nested fields use `__` (OPSWD_SSH__CONNECT_TIMEOUT_S=5)."""

    model_config = SettingsConfigDict(env_prefix="OPSWD_", env_nested_delimiter="__", extra="ignore")

    inventory: Path = Field(Path("inventory.yaml"), description="YAML or Ansible YAML inventory")
    ssh: SshSettings = SshSettings()
    thresholds: Thresholds = Thresholds()
    metrics: MetricsSettings = MetricsSettings()
    notify: NotifySettings = NotifySettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    log_roots: list[str] = Field(["/var/log"], description="Only files under these roots can be tailed")
    mcp_host: str = "127.0.0.1"
    mcp_port: int = 8765
    mcp_token: SecretStr | None = Field(None, description="Bearer token for the streamable-http transport")
    mcp_token_file: Path | None = None

    def resolved_mcp_token(self) -> str | None:
        """Return the MCP bearer token from the environment or its file, or None."""
        if self.mcp_token is not None:
            return self.mcp_token.get_secret_value()
        if self.mcp_token_file is not None:
            return self.mcp_token_file.expanduser().read_text().strip()
        return None
