"""Settings of the metrics store, nested in the main Settings as `metrics` (env OPSWD_METRICS__URL, ...).

Defaults:
- url `sqlite:///var/opswatchdog/metrics.db`: SQLAlchemy's convention, three slashes = relative to the
  working directory (four = absolute), so a checkout or a container workdir holds its own store.
- timezone `Asia/Shanghai`: the reference schema stores naive local DATETIMEs written by collectors in
  China Standard Time; the process's own zone (often UTC in a container) would shift every window by 8 h
  without a word. Naive database times are read in this zone and ISO output carries its offset.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from tools_server.metrics.protocol import EnvironmentLimits, MetricThresholds
from tools_server.metrics.times import resolve_zone

DEFAULT_URL = "sqlite:///var/opswatchdog/metrics.db"
DEFAULT_TIMEZONE = "Asia/Shanghai"
PASSWORD_ENV = "OPSWD_METRICS__PASSWORD"


class MetricsSettings(BaseModel):
    """Where the metrics store is, how to read its times, and the default thresholds and limits."""

    url: str = Field(
        DEFAULT_URL,
        description="sqlite:///relative.db, sqlite:////abs.db, mysql://user@host:3306/db, prometheus://host:9090",
    )
    password: SecretStr | None = Field(None, description=f"MySQL password ({PASSWORD_ENV}); keep it out of the URL")
    timezone: str = Field(DEFAULT_TIMEZONE, description="Zone of the naive database datetimes (IANA name or 'local')")
    pool_size: int = Field(4, ge=1, le=64, description="Connections the SQL backends keep at most")
    thresholds: MetricThresholds = MetricThresholds()
    limits: EnvironmentLimits = EnvironmentLimits()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        resolve_zone(value)
        return value
