"""Open a MetricsStore from a URL: sqlite:///path, mysql://user:pass@host:port/db, prometheus://host:port, http(s)://."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tools_server.metrics.protocol import MetricsStore
from tools_server.metrics.settings import DEFAULT_TIMEZONE, PASSWORD_ENV, MetricsSettings
from tools_server.metrics.times import resolve_zone

_PROMETHEUS_MODULE = "tools_server.metrics.prometheus"


class StoreURLError(ValueError):
    """A metrics store URL that cannot be opened; the message shows the accepted forms."""


def _bad(url: str, why: str) -> StoreURLError:
    forms = "sqlite:///relative/file.db, sqlite:////absolute/file.db, mysql://user@host:3306/db, prometheus://host:9090"
    return StoreURLError(f"metrics store URL {redact(url)!r}: {why} (accepted: {forms})")


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def open_store(
    url: str, *, timezone: str = DEFAULT_TIMEZONE, password: str | None = None, pool_size: int = 4
) -> MetricsStore:
    """Open the store named by `url`; a MySQL password comes from the URL, `password`, or OPSWD_METRICS__PASSWORD."""
    tz = resolve_zone(timezone)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from tools_server.metrics.sqlite import open_sqlite

        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise _bad(url, "a SQLite URL is sqlite:/// followed by a file path")
        return open_sqlite(Path(url[len("sqlite:///") :]), tz=tz, pool_size=pool_size)
    if scheme in ("mysql", "mysql+pymysql", "mariadb"):
        from tools_server.metrics.mysql import open_mysql

        parts = urlsplit(url)
        database = parts.path.lstrip("/")
        if not parts.hostname or not parts.username or not database or "/" in database:
            raise _bad(url, "a MySQL URL needs a user, a host and one database name")
        secret = unquote(parts.password) if parts.password is not None else password
        if secret is None:
            secret = os.environ.get(PASSWORD_ENV, "")
        return open_mysql(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username),
            password=secret,
            database=unquote(database),
            tz=tz,
            pool_size=pool_size,
        )
    if scheme in ("prometheus", "http", "https"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise _bad(url, "a Prometheus URL needs a host")
        base = parts._replace(scheme="http" if scheme == "prometheus" else scheme).geturl().rstrip("/")
        try:
            module = importlib.import_module(_PROMETHEUS_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != _PROMETHEUS_MODULE:
                raise
            msg = f"the Prometheus backend ({_PROMETHEUS_MODULE}) is not available in this build; use sqlite or mysql"
            raise StoreURLError(msg) from exc
        store: MetricsStore = module.PrometheusStore(base, tz=tz)
        return store
    raise _bad(url, f"unknown scheme {scheme or '(none)'!r}")


def open_store_from_settings(settings: MetricsSettings) -> MetricsStore:
    """Open the store the settings name (URL, password, timezone, pool size)."""
    password = settings.password.get_secret_value() if settings.password is not None else None
    return open_store(settings.url, timezone=settings.timezone, password=password, pool_size=settings.pool_size)
