"""A real Alertmanager on 127.0.0.1 for tests: one webhook receiver, alerts fired and resolved with amtool.

    with start_alertmanager(tmp_path, "http://127.0.0.1:8080/webhooks/alertmanager", auth=("bearer", "t0k")) as am:
        am.fire({"alertname": "HostDown", "instance": "web-01"}, {"summary": "web-01 is down"})
        ...  # the webhook gets a version "4" body after group_wait
        am.resolve({"alertname": "HostDown", "instance": "web-01"})  # a "resolved" body after group_interval
        am.alerts()  # what Alertmanager holds (GET /api/v2/alerts: resolved alerts are not listed)

Secrets go to files beside the config (`credentials_file`, `password_file`), never into alertmanager.yml.
Clustering is off (`--cluster.listen-address=`), so no gossip port is opened. The calls are blocking; from
an async test they are fine as long as the receiver does not need the same thread to answer amtool (it
does not: amtool talks to Alertmanager, and Alertmanager posts to the receiver later, on its own).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

Auth = tuple[Literal["bearer"], str] | tuple[Literal["basic"], str, str] | None

RECEIVER = "webhook"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(*names: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    msg = f"{names[0]} not found: apt-get install -y prometheus-alertmanager"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _amtool_value(value: str) -> str:
    # amtool parses `k=v` as a matcher: quoting keeps `=`, quotes and edge spaces inside the value.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _pairs(kind: str, values: Mapping[str, str]) -> list[str]:
    for name in values:
        if not _LABEL_NAME.match(name):
            msg = f"{kind} name {name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            raise ValueError(msg)
    return [f"{k}={_amtool_value(str(v))}" for k, v in values.items()]


def _rfc3339(when: datetime) -> str:
    if when.tzinfo is None:
        msg = f"{when!r} has no time zone: pass an aware datetime (e.g. datetime.now(UTC))"
        raise ValueError(msg)
    return when.astimezone(UTC).isoformat()


@dataclass
class Alertmanager:
    """A running Alertmanager: where it listens, its log, and amtool to drive it."""

    url: str
    port: int
    log_path: Path
    config_path: Path
    amtool: str
    process: subprocess.Popen[bytes]

    def fire(
        self, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None, starts_at: datetime | None = None
    ) -> None:
        """Post a firing alert (no end: Alertmanager resolves it by itself after resolve_timeout)."""
        self._add(labels, annotations, starts_at=starts_at, ends_at=None)

    def resolve(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> None:
        """Post the alert again with an end in the past (default: now), which marks it resolved."""
        self._add(labels, annotations, starts_at=starts_at, ends_at=ends_at or datetime.now(UTC))

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds and has not resolved (GET /api/v2/alerts)."""
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts

    def log_tail(self, chars: int = 3000) -> str:
        """The end of Alertmanager's log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def _add(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None,
        *,
        starts_at: datetime | None,
        ends_at: datetime | None,
    ) -> None:
        if not labels:
            msg = "an alert needs at least one label (usually alertname)"
            raise ValueError(msg)
        argv = [self.amtool, "alert", "add", f"--alertmanager.url={self.url}", "--no-version-check"]
        argv += [f"--annotation={a}" for a in _pairs("annotation", annotations or {})]
        if starts_at is not None:
            argv.append(f"--start={_rfc3339(starts_at)}")
        if ends_at is not None:
            argv.append(f"--end={_rfc3339(ends_at)}")
        argv += _pairs("label", labels)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            msg = f"amtool alert add failed ({done.returncode}): {done.stderr.strip()}\n{self.log_tail()}"
            raise RuntimeError(msg)


def _http_config(auth: Auth, tmp: Path) -> dict[str, Any]:
    if auth is None:
        return {}
    secret = tmp / "webhook.secret"
    secret.touch(mode=0o600)
    if auth[0] == "bearer":
        secret.write_text(auth[1])
        return {"http_config": {"authorization": {"type": "Bearer", "credentials_file": str(secret)}}}
    if auth[0] == "basic" and len(auth) == 3:
        secret.write_text(auth[2])
        return {"http_config": {"basic_auth": {"username": auth[1], "password_file": str(secret)}}}
    msg = f"auth must be ('bearer', token), ('basic', user, password) or None, not {auth[0]!r}"
    raise ValueError(msg)


def write_config(
    tmp: Path,
    webhook_url: str,
    *,
    auth: Auth,
    group_by: Sequence[str],
    group_wait: str,
    group_interval: str,
    repeat_interval: str,
    resolve_timeout: str,
    send_resolved: bool,
    max_alerts: int,
) -> Path:
    """Write alertmanager.yml: one route to one webhook receiver; returns its path."""
    if urlsplit(webhook_url).hostname not in _LOOPBACK:
        msg = f"webhook_url {webhook_url!r} is not on the loopback interface: tests talk to 127.0.0.1 only"
        raise ValueError(msg)
    webhook = {"url": webhook_url, "send_resolved": send_resolved, "max_alerts": max_alerts, **_http_config(auth, tmp)}
    config = {
        "global": {"resolve_timeout": resolve_timeout},
        "route": {
            "receiver": RECEIVER,
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": RECEIVER, "webhook_configs": [webhook]}],
    }
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _wait_ready(am: Alertmanager, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{am.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        if am.process.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {am.process.returncode}" if am.process.poll() is not None else "not ready"
            msg = f"Alertmanager {state} after {timeout_s:.0f} s (config {am.config_path}):\n{am.log_tail()}"
            raise RuntimeError(msg)
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def start_alertmanager(
    tmp_path: Path,
    webhook_url: str,
    *,
    auth: Auth = None,
    group_by: Sequence[str] = ("alertname", "instance"),
    group_wait: str = "1s",
    group_interval: str = "2s",
    repeat_interval: str = "1h",
    resolve_timeout: str = "5m",
    send_resolved: bool = True,
    max_alerts: int = 0,
    ready_timeout_s: float = 15.0,
) -> Iterator[Alertmanager]:
    """Run Alertmanager on a free 127.0.0.1 port, posting to `webhook_url`; stop it on exit.

    group_by ["..."] groups by every label (one group per alert). On an error inside the block the log tail
    is printed to stderr.
    """
    server, amtool = _binary("prometheus-alertmanager", "alertmanager"), _binary("amtool")
    tmp = tmp_path / "alertmanager"
    tmp.mkdir(parents=True, exist_ok=True)
    config = write_config(
        tmp, webhook_url, auth=auth, group_by=group_by, group_wait=group_wait, group_interval=group_interval,
        repeat_interval=repeat_interval, resolve_timeout=resolve_timeout, send_resolved=send_resolved,
        max_alerts=max_alerts,
    )  # fmt: skip
    port = free_port()
    argv = [
        server,
        f"--config.file={config}",
        f"--storage.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",  # else it is http://<hostname>:<port>
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    log_path = tmp / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    am = Alertmanager(f"http://127.0.0.1:{port}", port, log_path, config, amtool, process)
    try:
        _wait_ready(am, ready_timeout_s)
        yield am
    except BaseException:
        print(f"--- Alertmanager log tail ({log_path}) ---\n{am.log_tail()}", file=sys.stderr)
        raise
    finally:
        _stop(process)
