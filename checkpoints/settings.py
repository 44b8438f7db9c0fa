"""Where checkpoints live: a `sqlite:` or `postgresql:` URL, the password kept apart, and the pool size.

`sqlite:///rel/path.db` is relative to the working directory, `sqlite:////abs/path.db` absolute and
`sqlite:///:memory:` in memory (tests only). `postgresql://user@host:5432/db` takes its password from
`password` (env OPSWD_CHECKPOINTS__PASSWORD), `password_file`, or the URL itself — never from code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_URL = "sqlite:///var/opswatchdog/checkpoints.db"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


class CheckpointError(RuntimeError):
    """The checkpoint store cannot be used (bad configuration or unreachable database)."""


class CheckpointURLError(CheckpointError):
    """The checkpoint URL is malformed or names an unsupported backend."""


class CheckpointDatabaseUnavailable(CheckpointError):
    """The checkpoint database could not be opened or reached."""


class CheckpointSettings(BaseModel):
    """The checkpoint store; nested in the main settings as `checkpoints` (env OPSWD_CHECKPOINTS__URL)."""

    url: str = Field(DEFAULT_URL, description="sqlite:///relative.db, sqlite:////absolute.db or postgresql://...")
    password: SecretStr | None = Field(None, description="Postgres password; wins over one in the URL")
    password_file: Path | None = Field(None, description="File holding the Postgres password")
    pool_min: int = Field(1, ge=1, description="Postgres connections kept open")
    pool_max: int = Field(10, ge=1, description="Postgres connections at most")
    connect_timeout_s: float = Field(10.0, gt=0, description="Longest wait for the database at start-up")

    @model_validator(mode="after")
    def _pool_bounds(self) -> CheckpointSettings:
        if self.pool_min > self.pool_max:
            msg = f"checkpoints.pool_min ({self.pool_min}) must not exceed pool_max ({self.pool_max})"
            raise ValueError(msg)
        return self

    def resolved_password(self) -> str | None:
        """Return the password from the setting or its file, or None (then the URL's, if any, applies)."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.expanduser().read_text().strip()
        return None

    def target(self) -> SqliteTarget | PostgresTarget:
        """Parse the URL into a backend target (raises CheckpointURLError with what to write instead)."""
        return parse_checkpoint_url(self.url, password=self.resolved_password())


@dataclass(frozen=True)
class SqliteTarget:
    """An SQLite file (or `:memory:`)."""

    path: Path | Literal[":memory:"]
    kind: Literal["sqlite"] = "sqlite"

    def describe(self) -> str:
        """Where the checkpoints are, for logs and errors."""
        return f"sqlite:{self.path}"


@dataclass(frozen=True)
class PostgresTarget:
    """A Postgres database as a libpq conninfo string (may hold the password: never log it)."""

    conninfo: str
    redacted: str
    kind: Literal["postgres"] = "postgres"

    def describe(self) -> str:
        """Where the checkpoints are, for logs and errors (no password)."""
        return self.redacted


def parse_checkpoint_url(url: str, *, password: str | None = None) -> SqliteTarget | PostgresTarget:
    """Parse a checkpoint URL; `password`, when given, replaces the URL's."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _sqlite_target(url, parts.netloc, parts.path)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_target(url, password)
    msg = (
        f"unsupported checkpoint URL {_redact(url)!r}: use sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db or postgresql://user@host:5432/dbname"
    )
    raise CheckpointURLError(msg)


def _sqlite_target(url: str, netloc: str, path: str) -> SqliteTarget:
    if netloc:
        msg = f"checkpoint URL {url!r} has a host part; write sqlite:///relative.db or sqlite:////absolute.db"
        raise CheckpointURLError(msg)
    relative = path[1:] if path.startswith("/") else path
    if relative in ("", "/") or relative.endswith("/"):
        msg = f"checkpoint URL {url!r} names no file; write sqlite:///var/opswatchdog/checkpoints.db"
        raise CheckpointURLError(msg)
    if relative == ":memory:":
        return SqliteTarget(":memory:")
    return SqliteTarget(Path(relative))


def _postgres_target(url: str, password: str | None) -> PostgresTarget:
    extra = {"password": password} if password is not None else {}
    try:
        conninfo = make_conninfo(url, **extra)
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        msg = f"malformed Postgres checkpoint URL {_redact(url)!r}: {exc}"
        raise CheckpointURLError(msg) from exc
    for port in str(params.get("port") or "5432").split(","):
        if not port.isdigit() or not 0 < int(port) < 65536:
            msg = f"Postgres checkpoint URL {_redact(url)!r} has a bad port {port!r}"
            raise CheckpointURLError(msg)
    shown = {k: v for k, v in params.items() if k != "password" and v is not None}
    return PostgresTarget(conninfo, make_conninfo("", **shown))


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSWD_", env_nested_delimiter="__", extra="ignore")

    checkpoints: CheckpointSettings = Field(default_factory=CheckpointSettings)


def checkpoint_settings_from_env() -> CheckpointSettings:
    """Read CheckpointSettings from OPSWD_CHECKPOINTS__* (for entry points without the main settings)."""
    return _EnvSettings().checkpoints
