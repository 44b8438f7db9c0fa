"""The real Alertmanager harness against a recording webhook receiver on 127.0.0.1.

Observed with Alertmanager 0.25.0 (Debian), group_wait 1s, group_interval 2s:
- The first post comes group_wait (1.01 s) after `amtool alert add`.
- A 5xx is retried inside the same flush with exponential backoff (about 0.5 s x 1.5 per attempt, jittered):
  one 500 was followed by the same body 0.35-0.67 s later (4 runs). Answering 500 six times gave arrivals at
  +0.67, +0.90, +1.41, +1.51, +3.34 s; the flush is cancelled 10 s after it began (notify.MinTimeout, as
  group_interval is shorter) and the next flush posts again at once, so delivery never stops.
- A 4xx is not retried within the flush, but nothing is written to the notification log either, so the same
  body is posted again at every group_interval (2 s) until a 2xx: a 4xx does not drop the alert.
- The body posted again is the same JSON: same groupKey, fingerprint and startsAt (a receiver dedups on
  them). Firing alerts carry endsAt "0001-01-01T00:00:00Z"; startsAt set by Alertmanager has nanoseconds,
  startsAt given through amtool is cut to milliseconds.
- Resolving = `amtool alert add --end=<now>`: the resolved post comes at the next group_interval tick (about
  2 s), same fingerprint and startsAt. An end before the original start does not merge: the alert is
  replaced and the resolved post carries startsAt = endsAt = that end. Fire + resolve inside group_wait, or
  resolving an alert never notified, posts nothing. Re-firing with a changed annotation posts nothing
  until repeat_interval.
- Headers: `Authorization: Bearer <token>` or `Basic base64(user:password)`, `Content-Type:
  application/json`, `User-Agent: Alertmanager/0.25.0`. externalURL is http://<hostname>:<port> unless
  --web.external-url is given (the harness gives http://127.0.0.1:<port>).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.alertmanager import Alertmanager, start_alertmanager

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN = "am-token-" + "x" * 16
HOST_DOWN = {"alertname": "HostDown", "instance": "web-01:9100", "severity": "critical"}


@dataclass
class Request:
    """One POST the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival
    answered: int


class Receiver:
    """A webhook receiver that records every POST; answers `fail_status` to the first `fail_first` of them."""

    def __init__(self, fail_first: int = 0, fail_status: int = 500) -> None:
        self.requests: list[Request] = []
        self.fail_first = fail_first
        self.fail_status = fail_status
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    status = receiver.fail_status if len(receiver.requests) < receiver.fail_first else 200
                    receiver.requests.append(
                        Request(self.command, self.path, dict(self.headers), json.loads(raw), time.monotonic(), status)
                    )
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/alertmanager"

    def wait_for(self, count: int, am: Alertmanager, timeout_s: float = 15.0) -> list[Request]:
        """The first `count` requests, waiting up to `timeout_s` for them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout=timeout_s):
                got = [r.body.get("status") for r in self.requests]
                pytest.fail(f"{count} webhook posts expected in {timeout_s} s, got {got}\n{am.log_tail()}")
            return list(self.requests[:count])

    def first(self, match: Callable[[Request], bool], am: Alertmanager, timeout_s: float = 15.0) -> Request:
        """The first request that `match`es, waiting up to `timeout_s` for it."""
        with self._changed:
            if not self._changed.wait_for(lambda: any(map(match, self.requests)), timeout=timeout_s):
                got = [r.body.get("status") for r in self.requests]
                pytest.fail(f"no matching webhook post in {timeout_s} s, got {got}\n{am.log_tail()}")
            return next(filter(match, self.requests))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    thread = threading.Thread(target=recv.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recv
    recv.server.shutdown()
    recv.server.server_close()
    thread.join(timeout=5)


def _status(status: str) -> Callable[[Request], bool]:
    return lambda r: r.body["status"] == status


@pytest.mark.parametrize(
    ("auth", "header"),
    [
        (("bearer", TOKEN), f"Bearer {TOKEN}"),
        (("basic", "alertmanager", "s3cret:pw"), "Basic " + base64.b64encode(b"alertmanager:s3cret:pw").decode()),
    ],
    ids=["bearer", "basic"],
)
def test_fired_alert_arrives_as_v4_with_auth(receiver: Receiver, tmp_path: Path, auth: Any, header: str) -> None:
    annotations = {"summary": 'web-01 down: disk "root" = 95%', "runbook": "host-down"}
    with start_alertmanager(tmp_path, receiver.url, auth=auth) as am:
        am.fire(HOST_DOWN, annotations)
        [post] = receiver.wait_for(1, am)
        held = am.alerts()
    assert auth[-1] not in am.config_path.read_text()  # the secret lives in a 0600 file beside it
    assert (post.method, post.path) == ("POST", "/webhooks/alertmanager")
    assert post.headers["Authorization"] == header
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["User-Agent"].startswith("Alertmanager/")
    body = post.body
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "webhook"
    assert body["groupLabels"] == {"alertname": "HostDown", "instance": "web-01:9100"}
    assert body["commonLabels"] == HOST_DOWN
    assert body["commonAnnotations"] == annotations
    assert body["groupKey"] == '{}:{alertname="HostDown", instance="web-01:9100"}'
    assert body["truncatedAlerts"] == 0
    assert body["externalURL"] == am.url
    [alert] = body["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == HOST_DOWN
    assert alert["annotations"] == annotations
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert len(alert["fingerprint"]) == 16 and int(alert["fingerprint"], 16) >= 0
    assert [a["fingerprint"] for a in held] == [alert["fingerprint"]]


def test_resolve_sends_resolved_for_the_same_fingerprint(receiver: Receiver, tmp_path: Path) -> None:
    started = datetime.now(UTC) - timedelta(minutes=3)
    with start_alertmanager(tmp_path, receiver.url, auth=("bearer", TOKEN)) as am:
        am.fire(HOST_DOWN, starts_at=started)
        firing = receiver.first(_status("firing"), am).body["alerts"][0]
        asked = time.monotonic()
        am.resolve(HOST_DOWN)
        resolved = receiver.first(_status("resolved"), am)
        held = am.alerts()
    [alert] = resolved.body["alerts"]
    assert alert["status"] == "resolved"
    assert alert["fingerprint"] == firing["fingerprint"]
    assert alert["startsAt"] == firing["startsAt"]
    # amtool sends startsAt in milliseconds (go-openapi strfmt.DateTime)
    assert datetime.fromisoformat(firing["startsAt"]) == started.replace(microsecond=started.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(alert["endsAt"]) > started
    assert resolved.body["groupKey"] == receiver.requests[0].body["groupKey"]
    assert resolved.at - asked < 3.5  # the next group_interval flush (2s) sends it
    assert held == []  # /api/v2/alerts does not list resolved alerts


@pytest.mark.parametrize(
    ("status", "low", "high"),
    [(500, 0.1, 1.9), (400, 1.5, 5.0)],
    ids=["500-retried-in-flush", "400-resent-next-flush"],
)
def test_failed_post_arrives_again_with_the_same_alert(
    tmp_path: Path, receiver: Receiver, status: int, low: float, high: float
) -> None:
    receiver.fail_first, receiver.fail_status = 1, status
    with start_alertmanager(tmp_path, receiver.url) as am:
        am.fire(HOST_DOWN)
        first, again = receiver.wait_for(2, am, timeout_s=30)
    assert (first.answered, again.answered) == (status, 200)
    assert first.body == again.body
    [a], [b] = first.body["alerts"], again.body["alerts"]
    assert (a["fingerprint"], a["startsAt"]) == (b["fingerprint"], b["startsAt"])
    assert low <= again.at - first.at < high, f"arrived again after {again.at - first.at:.3f} s"


@pytest.mark.parametrize(
    ("group_by", "max_alerts", "posts"),
    [
        (["alertname", "instance"], 0, [["web-01:9100"], ["web-02:9100"]]),
        (["alertname"], 0, [["web-01:9100", "web-02:9100"]]),
        (["alertname"], 1, [["web-01:9100"]]),
    ],
    ids=["per-instance", "per-alertname", "max-alerts-1"],
)
def test_grouping(
    receiver: Receiver, tmp_path: Path, group_by: list[str], max_alerts: int, posts: list[list[str]]
) -> None:
    with start_alertmanager(tmp_path, receiver.url, group_by=group_by, max_alerts=max_alerts) as am:
        for instance in ("web-01:9100", "web-02:9100"):
            am.fire({**HOST_DOWN, "instance": instance})
        got = receiver.wait_for(len(posts), am)
    bodies = sorted((r.body for r in got), key=lambda b: b["groupKey"])
    assert [sorted(a["labels"]["instance"] for a in b["alerts"]) for b in bodies] == posts
    for body in bodies:
        assert set(body["groupLabels"]) == set(group_by)
        assert body["truncatedAlerts"] == (1 if max_alerts else 0)
    assert len({b["groupKey"] for b in bodies}) == len(posts)


@pytest.mark.parametrize(
    ("url", "auth", "labels", "error"),
    [
        ("http://10.0.0.1/hook", None, HOST_DOWN, "not on the loopback"),
        ("http://127.0.0.1/hook", ("digest", "x"), HOST_DOWN, "auth must be"),
        ("http://127.0.0.1/hook", None, {"--alertmanager.url": "x"}, "not a Prometheus label name"),
        ("http://127.0.0.1/hook", None, {}, "at least one label"),
    ],
    ids=["non-loopback", "unknown-auth", "flag-as-label", "no-labels"],
)
def test_harness_refuses_bad_input(tmp_path: Path, url: str, auth: Any, labels: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error), start_alertmanager(tmp_path, url, auth=auth) as am:
        am.fire(labels)
