"""Settings of the HTTP service (env OPSWD_SERVICE__*): auth, the inbox database, folding, the dispatcher.

Secrets come from the environment or files only. The inbox database defaults to the checkpoint database when
that is Postgres (OPSWD_CHECKPOINTS__URL), so one Postgres holds both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from psycopg.conninfo import make_conninfo
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceConfigError(ValueError):
    """The service settings cannot work (no inbox database, no credentials)."""


def _read_secret(value: SecretStr | None, path: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        return path.expanduser().read_text().strip()
    return None


class ServiceSettings(BaseModel):
    """Nested in ServiceEnv as `service` (OPSWD_SERVICE__TOKEN, OPSWD_SERVICE__INBOX_URL, ...)."""

    host: str = Field("127.0.0.1", description="Standalone listen address")
    port: int = Field(8080, ge=1, le=65535)
    token: SecretStr | None = Field(None, description="Bearer token (Alertmanager http_config.authorization)")
    token_file: Path | None = None
    basic_user: str | None = Field(None, description="Basic-auth user (Alertmanager http_config.basic_auth)")
    basic_password: SecretStr | None = None
    basic_password_file: Path | None = None
    inbox_url: str | None = Field(None, description="postgresql://... (default: the checkpoint URL if Postgres)")
    inbox_password: SecretStr | None = Field(None, description="Inbox Postgres password; wins over the URL's")
    inbox_password_file: Path | None = None
    inbox_pool_size: int = Field(
        10, ge=2, le=100, description="Inbox connections, all opened at start (a storm must not wait for connects)"
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Webhook bodies above this get 413")
    fold_window_s: float = Field(900.0, gt=0, description="Alerts this close in time fold by group/topology")
    lease_s: float = Field(30.0, gt=0, description="A run's claim expires this long after its last renewal")
    poll_s: float = Field(2.0, gt=0, description="Dispatcher wakes at least this often")
    max_concurrent_runs: int = Field(4, ge=1)
    runs: Literal["worker", "inline"] = Field(
        "worker",
        description="opswatchdog serve: run investigations in a child worker process (default) or in the HTTP "
        "process's own event loop (inline: one process, but a run's CPU delays webhook answers)",
    )
    worker_nice: int = Field(5, ge=0, le=19, description="CPU priority offset of the worker (webhooks first)")
    settle_s: float = Field(
        3.0, ge=0, description="An incident's run starts once no alert joined it for this long (storms fold first)"
    )
    settle_max_s: float = Field(
        30.0, ge=0, description="...or at the latest this long after it opened (or after its last run ended)"
    )
    lang: str = Field("en", pattern="^(en|zh)$", description="Report language of alert incidents")

    def resolved_token(self) -> str | None:
        """The bearer token from the setting or its file, or None."""
        return _read_secret(self.token, self.token_file)

    def resolved_basic_password(self) -> str | None:
        """The basic-auth password from the setting or its file, or None."""
        return _read_secret(self.basic_password, self.basic_password_file)

    def resolved_inbox_url(self) -> str:
        """The inbox's Postgres URL or conninfo (raises ServiceConfigError when none is configured)."""
        url = self.inbox_url or os.environ.get("OPSWD_CHECKPOINTS__URL", "")
        if not url.startswith(("postgresql://", "postgres://")):
            msg = (
                "the webhook inbox needs Postgres: set OPSWD_SERVICE__INBOX_URL=postgresql://user@host/db "
                "(or a Postgres OPSWD_CHECKPOINTS__URL)"
            )
            raise ServiceConfigError(msg)
        password = _read_secret(self.inbox_password, self.inbox_password_file)
        return url if password is None else make_conninfo(url, password=password)

    def require_credentials(self) -> None:
        """Refuse to serve with no credentials configured."""
        if self.resolved_token() is None and not (self.basic_user and self.resolved_basic_password()):
            msg = "set OPSWD_SERVICE__TOKEN(_FILE) or OPSWD_SERVICE__BASIC_USER + BASIC_PASSWORD(_FILE)"
            raise ServiceConfigError(msg)


class ServiceEnv(BaseSettings):
    """Reads ServiceSettings from the environment."""

    model_config = SettingsConfigDict(env_prefix="OPSWD_", env_nested_delimiter="__", extra="ignore")

    service: ServiceSettings = ServiceSettings()


def service_settings_from_env() -> ServiceSettings:
    """ServiceSettings from OPSWD_SERVICE__* variables."""
    return ServiceEnv().service
