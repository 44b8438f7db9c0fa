"""The MetricsStore over the Prometheus HTTP API (node_exporter and blackbox metrics); read-only.

The PromQL lives in prometheus_queries.py, the conversion of answers into rows in prometheus_rows.py; this
module talks HTTP and maps each protocol question onto those. Secrets (bearer token, basic-auth password)
come from the environment (OPSWD_PROMETHEUS__*) or the store URL, never from arguments in graph state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools_server.metrics import prometheus_queries as pq
from tools_server.metrics import prometheus_rows as pr
from tools_server.metrics.aggregates import RawAggregates, build_aggregates
from tools_server.metrics.evaluate import sample_breaches
from tools_server.metrics.models import (
    AbnormalHost,
    EnvironmentReading,
    HostSample,
    ReportAggregates,
    ServiceStatusRow,
)
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStoreError, MetricThresholds, ReadOnlyStoreError
from tools_server.metrics.rows import ip_key
from tools_server.metrics.times import aware, resolve_zone

log = logging.getLogger(__name__)


class PrometheusSettings(BaseSettings):
    """How to reach Prometheus and read it; env OPSWD_PROMETHEUS__BEARER_TOKEN, ..._PASSWORD, ..._TIMEOUT_S."""

    model_config = SettingsConfigDict(env_prefix="OPSWD_PROMETHEUS__", extra="ignore")

    bearer_token: SecretStr | None = Field(None, description="Sent as `Authorization: Bearer`; env only")
    bearer_token_file: Path | None = Field(None, description="File holding the bearer token")
    username: str | None = Field(None, description="Basic-auth user (or user@host in the store URL)")
    password: SecretStr | None = Field(None, description="Basic-auth password; env only")
    timeout_s: float = Field(30.0, gt=0, description="One API call, query evaluation included")
    connect_timeout_s: float = Field(5.0, gt=0, description="TCP (and TLS) connect")
    verify_tls: bool = Field(True, description="Verify the certificate of an https:// Prometheus")
    node_job: str = Field(pq.NODE_JOB, description="Regex of the scrape jobs whose targets are node_exporters")
    rate_window: str = Field("5m", description="Range of rate() for CPU; at least 4 scrape intervals")
    max_points: int = Field(500, ge=2, le=11000, description="Most points per series in a history or report")


class PrometheusError(MetricsStoreError):
    """Prometheus refused or failed a call; `error_type` is the API's errorType (bad_data, timeout, ...)."""

    def __init__(self, message: str, *, error_type: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status_code = status_code


class PrometheusStore:
    """Answers the MetricsStore questions from Prometheus series; writes raise ReadOnlyStoreError."""

    def __init__(
        self,
        base_url: str,
        *,
        tz: tzinfo | str,
        settings: PrometheusSettings | None = None,
        thresholds: MetricThresholds | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = s = settings or PrometheusSettings()
        self.tz = resolve_zone(tz) if isinstance(tz, str) else tz
        # Statuses of host_history rows, which takes no thresholds: the same defaults as the SQL collectors.
        self.thresholds = thresholds or MetricThresholds()
        self._q = pq.Queries(node_job=s.node_job, rate_window=s.rate_window)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = f"a Prometheus URL is http(s)://host[:port][/prefix], not {parts.scheme!r} on {parts.hostname!r}"
            raise ValueError(msg)
        netloc = parts.netloc.rpartition("@")[2]
        self.url = parts._replace(netloc=netloc).geturl().rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.url,
            auth=_basic_auth(s, parts.username, parts.password),
            headers=_bearer_header(s),
            timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
            verify=s.verify_tls,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    async def __aenter__(self) -> PrometheusStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def ensure_schema(self) -> None:
        """Nothing to create: Prometheus has no tables (the scrape config decides what exists)."""

    async def abnormal_hosts(self, start: datetime, end: datetime, thresholds: MetricThresholds) -> list[AbnormalHost]:
        """Hosts whose latest values in the window breach a threshold, or whose latest scrape failed (丢失)."""
        lo, hi = self._window(start, end)
        window, step = pq.duration((hi - lo).total_seconds()), pq.duration(self._step(lo, hi))
        q = self._q
        answers = await asyncio.gather(
            self._instant(q.cpu(window=window, step=step), hi),
            self._instant(q.memory(window=window), hi),
            self._instant(q.disk(window=window), hi),
            self._instant(q.last_up(window), hi),
            self._instant(q.last_scrape_time(window, step, lo.timestamp()), hi),
        )
        cpu, memory, disk, up, seen = (pq.latest(a) for a in answers)
        found: list[AbnormalHost] = []
        for ip in set(cpu) | set(memory) | set(disk) | set(up):
            # A host without a node job `up` series (federated data) is dated at the window end.
            at = pq.millis(seen.get(ip, hi.timestamp()))
            sample = pr.host_sample(ip, at, cpu.get(ip), memory.get(ip), disk.get(ip), up.get(ip), thresholds, self.tz)
            if (host := sample_breaches(sample, thresholds)) is not None:
                found.append(host)
        return sorted(found, key=lambda h: (-len(h.breaches), ip_key(h.ip)))

    async def host_history(self, ip: str, start: datetime, end: datetime) -> list[HostSample]:
        """One host's points (≤ max_points, oldest first); statuses against the store's thresholds, 丢失 = no data."""
        lo, hi = self._window(start, end)
        samples = await self._samples(lo, hi, pq.host_matcher(ip), self.thresholds)
        return samples.get(ip, [])

    async def environment_anomalies(
        self, start: datetime, end: datetime, limits: EnvironmentLimits
    ) -> list[EnvironmentReading]:
        """Always empty: node_exporter exports no machine-room readings (temperature, humidity, UPS)."""
        self._window(start, end)
        return []

    async def service_status(
        self, start: datetime, end: datetime, ip: str | None = None, service: str | None = None
    ) -> list[ServiceStatusRow]:
        """Every target's `up` / `probe_success` per step, oldest first; service = job (or instance), ip = host."""
        lo, hi = self._window(start, end)
        rows = await self._services(lo, hi)
        return [
            r
            for r in rows
            if (ip is None or r.server_ip == ip) and (service is None or service in (r.service_name, r.service_id))
        ]

    async def report_aggregates(
        self,
        start: datetime,
        end: datetime,
        thresholds: MetricThresholds,
        limits: EnvironmentLimits | None = None,
    ) -> ReportAggregates:
        """Report aggregates over the points of every host and target (a point is a sample; 丢失 checks fail)."""
        lo, hi = self._window(start, end)
        samples, services = await asyncio.gather(self._samples(lo, hi, "", thresholds), self._services(lo, hi))
        raw = RawAggregates(
            hosts=[pr.host_row(ip, rows) for ip, rows in samples.items() if rows],
            days=pr.day_rows([s for rows in samples.values() for s in rows]),
            services_down=pr.services_down_rows(services),
            service_days=pr.service_day_rows(services),
            environment=[],
            nas=[],
        )
        return build_aggregates(raw, lo, hi, limits or EnvironmentLimits(), self.tz)

    async def write_samples(self, samples: Sequence[HostSample]) -> int:
        """Refused: Prometheus is read-only here (samples come from its scrapes)."""
        raise self._read_only("host samples")

    async def write_environment(self, readings: Sequence[EnvironmentReading]) -> int:
        """Refused: Prometheus is read-only here."""
        raise self._read_only("room readings")

    async def write_service_checks(self, rows: Sequence[ServiceStatusRow], batch_id: str) -> int:
        """Refused: Prometheus is read-only here (service status comes from `up` and `probe_success`)."""
        raise self._read_only("service checks")

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    def _read_only(self, what: str) -> ReadOnlyStoreError:
        msg = f"cannot write {what} to Prometheus at {self.url}: it is read-only; seed a sqlite:// or mysql:// store"
        return ReadOnlyStoreError(msg)

    def _window(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        lo, hi = aware(start, self.tz), aware(end, self.tz)
        if lo > hi:
            msg = f"window start {start.isoformat()} is after its end {end.isoformat()}"
            raise ValueError(msg)
        return lo, hi

    def _step(self, lo: datetime, hi: datetime) -> float:
        return pq.range_step(lo, hi, self.settings.max_points)

    async def _samples(
        self, lo: datetime, hi: datetime, host: str, thresholds: MetricThresholds
    ) -> dict[str, list[HostSample]]:
        step = self._step(lo, hi)
        q = self._q
        answers = await asyncio.gather(
            *(self._range(e, lo, hi, step) for e in (q.cpu(host), q.memory(host), q.disk(host), q.up(host)))
        )
        cpu, memory, disk, up = (pq.by_host(a) for a in answers)
        start_ms, step_ms = pq.millis(lo.timestamp()), pq.millis(step)
        out: dict[str, list[HostSample]] = {}
        for ip in sorted(set(cpu) | set(memory) | set(disk) | set(up), key=ip_key):
            c, m, d, u = (series.get(ip, {}) for series in (cpu, memory, disk, up))
            times = pq.grid(set(c) | set(m) | set(d) | set(u), start_ms, step_ms)
            out[ip] = [
                pr.host_sample(ip, t, c.get(t), m.get(t), d.get(t), u.get(t), thresholds, self.tz) for t in times
            ]
        return out

    async def _services(self, lo: datetime, hi: datetime) -> list[ServiceStatusRow]:
        step = self._step(lo, hi)
        up, probe = await asyncio.gather(*(self._range(e, lo, hi, step) for e in self._q.services()))
        return pr.service_rows(up, probe, pq.millis(lo.timestamp()), pq.millis(step), self.tz)

    async def _instant(self, expr: str, at: datetime) -> list[pq.Series]:
        return await self._call("/api/v1/query", {"query": expr, "time": _unix(at)})

    async def _range(self, expr: str, lo: datetime, hi: datetime, step: float) -> list[pq.Series]:
        params = {"query": expr, "start": _unix(lo), "end": _unix(hi), "step": f"{step:g}"}
        return await self._call("/api/v1/query_range", params)

    async def _call(self, path: str, params: dict[str, str]) -> list[pq.Series]:
        query = _short(params["query"])
        params = {**params, "timeout": f"{self.settings.timeout_s:g}s"}
        try:
            resp = await self._client.post(path, data=params)
        except httpx.TimeoutException as exc:
            msg = (
                f"Prometheus at {self.url} did not answer within {self.settings.timeout_s:g} s ({type(exc).__name__}):"
                " narrow the window or raise OPSWD_PROMETHEUS__TIMEOUT_S"
            )
            raise PrometheusError(msg, error_type="timeout") from exc
        except httpx.HTTPError as exc:
            msg = f"cannot reach Prometheus at {self.url} ({type(exc).__name__}: {exc}): is it running at that URL?"
            raise PrometheusError(msg, error_type="unreachable") from exc
        return self._answer(resp, query)

    def _answer(self, resp: httpx.Response, query: str) -> list[pq.Series]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        code = resp.status_code
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            hint = " — check OPSWD_PROMETHEUS__BEARER_TOKEN or the basic-auth user" * (code in (401, 403))
            msg = f"Prometheus at {self.url} answered HTTP {code} without an API body{hint}: {resp.text[:200]!r}"
            raise PrometheusError(msg, error_type="bad_response", status_code=code)
        if body["status"] == "error":
            kind = str(body.get("errorType") or "unknown")
            msg = f"Prometheus rejected a query ({kind}, HTTP {code}): {body.get('error')} — query: {query}"
            raise PrometheusError(msg, error_type=kind, status_code=code)
        for warning in body.get("warnings") or []:
            log.warning("Prometheus warning for %s: %s", query, warning)
        try:
            return pq.parse_result(body.get("data"))
        except pq.PromResultError as exc:
            msg = f"unexpected answer from Prometheus at {self.url} to {query}: {exc}"
            raise PrometheusError(msg, error_type="bad_response", status_code=code) from exc


def _basic_auth(s: PrometheusSettings, url_user: str | None, url_password: str | None) -> httpx.BasicAuth | None:
    user = unquote(url_user) if url_user else s.username
    if user is None:
        return None
    if s.bearer_token is not None or s.bearer_token_file is not None:
        msg = "Prometheus auth: set either a bearer token or a basic-auth user, not both"
        raise ValueError(msg)
    password = unquote(url_password) if url_password else s.password.get_secret_value() if s.password else ""
    return httpx.BasicAuth(user, password)


def _bearer_header(s: PrometheusSettings) -> dict[str, str]:
    if s.bearer_token is not None:
        return {"Authorization": f"Bearer {s.bearer_token.get_secret_value()}"}
    if s.bearer_token_file is not None:
        return {"Authorization": f"Bearer {s.bearer_token_file.expanduser().read_text().strip()}"}
    return {}


def _unix(dt: datetime) -> str:
    return f"{dt.timestamp():.3f}"


def _short(query: str) -> str:
    return query if len(query) <= 300 else query[:297] + "..."
