"""Settings of the notification channels, nested in the main Settings as `notify` (env OPSWD_NOTIFY__WEBHOOK_URL, ...).

The webhook bearer token is a secret: it comes from OPSWD_NOTIFY__WEBHOOK_TOKEN or the file named by
OPSWD_NOTIFY__WEBHOOK_TOKEN_FILE, never from a tool call, and it is never logged. The webhook URL itself may
carry a secret in its query string (many chat robots do), so logs name only its scheme and host.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

MAX_BACKOFF_S = 30.0
LEASE_MARGIN_S = 2.0


class NotifySettings(BaseModel):
    """Where the outbox lives, and how the generic JSON webhook is reached and retried."""

    outbox_db: Path = Field(Path("var/outbox.db"), description="SQLite outbox (relative paths: to the working dir)")
    outbox_file: Path = Field(Path("var/notifications.jsonl"), description="File channel: one JSON line per message")
    webhook_url: str | None = Field(None, description="Generic JSON webhook (http or https); unset = channel off")
    webhook_token: SecretStr | None = Field(None, description="Bearer token for the webhook (env only)")
    webhook_token_file: Path | None = Field(None, description="File holding the webhook bearer token")
    timeout_s: float = Field(10.0, gt=0, le=300, description="Longest single webhook attempt, end to end")
    retries: int = Field(3, ge=0, le=10, description="Retries after the first attempt (5xx, 408/429, timeouts)")
    backoff_s: float = Field(0.5, ge=0, le=MAX_BACKOFF_S, description="First retry delay; doubles, with jitter")

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = "webhook_url must be an absolute http:// or https:// URL"
            raise ValueError(msg)
        return value.strip()

    def resolved_webhook_token(self) -> str | None:
        """Return the webhook bearer token from the setting or its file, or None."""
        if self.webhook_token is not None:
            return self.webhook_token.get_secret_value()
        if self.webhook_token_file is not None:
            return self.webhook_token_file.expanduser().read_text().strip() or None
        return None

    def backoff_delay(self, retry: int) -> float:
        """Upper bound of the delay before retry number `retry` (0-based): backoff_s * 2**retry, capped."""
        return float(min(self.backoff_s * 2**retry, MAX_BACKOFF_S))

    @property
    def lease_s(self) -> float:
        """How long a claim on a message is honoured: the longest a full webhook send can take, plus a margin."""
        waits = sum(self.backoff_delay(i) for i in range(self.retries))
        return self.timeout_s * (self.retries + 1) + waits + LEASE_MARGIN_S
