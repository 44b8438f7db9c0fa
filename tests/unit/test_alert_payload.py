"""The Alertmanager webhook (version 4): the real 0.25 capture parses, every bad field is named in the error."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.alert_payload import (
    MAX_ALERTS,
    WebhookFormatError,
    label_fingerprint,
    parse_rfc3339,
    parse_webhook,
)
from tests.conftest import SHARED_REAL

FIXTURE = SHARED_REAL.parent / "alertmanager" / "firing-v4-alertmanager-0.25.json"


def _fixture_path() -> Path:
    if FIXTURE.is_file():
        return FIXTURE
    msg = f"the Alertmanager capture is read in place from {FIXTURE} (set OPSWD_SHARED_FIXTURES to move it)"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def real() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_fixture_path().read_text())
    return data


def _encode(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_real_alertmanager_025_body(real: dict[str, Any]) -> None:
    hook = parse_webhook(_fixture_path().read_bytes())
    assert hook.version == "4" and hook.status == "firing" and hook.receiver == "ops-agent"
    assert hook.group_key == '{}:{alertname="HighCPU", instance="10.0.0.1:9100"}'
    assert hook.truncated_alerts == 0 and hook.external_url == "http://vm:9093"
    assert hook.group_labels == {"alertname": "HighCPU", "instance": "10.0.0.1:9100"}
    assert hook.common_labels["severity"] == "critical"
    assert hook.common_annotations["summary"] == "CPU usage above 90% on 10.0.0.1"
    (alert,) = hook.alerts
    assert alert.alertname == "HighCPU" and alert.status == "firing"
    # Go prints nanoseconds; Postgres and Python keep microseconds.
    assert alert.starts_at == datetime(2026, 11, 22, 10, 23, 35, 877683, tzinfo=UTC)
    assert alert.ends_at is None  # "0001-01-01T00:00:00Z" is Go's zero time: no end
    assert alert.generator_url == ""
    assert alert.fingerprint == "3d8edaac118cc018"


def test_computed_fingerprint_is_alertmanagers(real: dict[str, Any]) -> None:
    alert = real["alerts"][0]
    assert label_fingerprint(alert["labels"]) == alert["fingerprint"]
    del alert["fingerprint"]
    computed = parse_webhook(_encode(real)).alerts[0].fingerprint
    assert computed == "3d8edaac118cc018"
    shuffled = dict(reversed(list(alert["labels"].items())))
    assert label_fingerprint(shuffled) == computed
    assert label_fingerprint({**shuffled, "job": "other"}) != computed


def test_unknown_fields_are_tolerated(real: dict[str, Any]) -> None:
    real["someFutureField"] = {"x": 1}
    real["alerts"][0]["silencedBy"] = []
    hook = parse_webhook(_encode(real))
    assert hook.model_extra == {"someFutureField": {"x": 1}}
    assert hook.alerts[0].model_extra == {"silencedBy": []}


def test_resolved_alert_has_its_end(real: dict[str, Any]) -> None:
    real["status"] = "resolved"
    real["alerts"][0].update(status="resolved", endsAt="2026-11-22T18:25:00+08:00")
    alert = parse_webhook(_encode(real)).alerts[0]
    assert alert.status == "resolved"
    assert alert.ends_at == datetime(2026, 11, 22, 10, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02t03:04:05.5z", datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123456789-02:30", datetime(2026, 1, 2, 5, 34, 5, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", ["2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "2026-02-30T00:00:00Z"])
def test_rfc3339_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339(text)


def _parent(data: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container of the field at a dotted path ("alerts.3.labels") and the field's key or index."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    return node, int(last) if last.isdigit() else last


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node, key = _parent(data, path)
        node[key] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node, key = _parent(data, path)
        del node[key]

    return change


def _fourth_alert(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Four alerts, the change applied to the body (paths name alerts.3)."""

    def apply(data: dict[str, Any]) -> None:
        data["alerts"] = [copy.deepcopy(data["alerts"][0]) for _ in range(4)]
        change(data)

    return apply


BAD = [
    (_set("version", "3"), 'version: expected "4", got "3"'),
    (_set("version", 4), 'version: expected "4", got 4'),
    (_drop("version"), "version: required"),
    (_drop("groupKey"), "groupKey: required"),
    (_set("groupKey", 7), "groupKey: expected a string"),
    (_set("status", "pending"), 'status: expected "firing" or "resolved", got "pending"'),
    (_set("receiver", None), "receiver: expected a string"),
    (_set("truncatedAlerts", "2"), "truncatedAlerts: expected an integer"),
    (_set("truncatedAlerts", 1.5), "truncatedAlerts: expected an integer"),
    (_set("truncatedAlerts", -1), "truncatedAlerts: expected at least 0, got -1"),
    (_set("groupLabels", ["a"]), "groupLabels: expected an object"),
    (_set("commonLabels.severity", 2), "commonLabels.severity: expected a string"),
    (_set("commonAnnotations.summary", None), "commonAnnotations.summary: expected a string"),
    (_set("externalURL", 9093), "externalURL: expected a string"),
    (_drop("alerts"), "alerts: required"),
    (_set("alerts", {"a": 1}), "alerts: expected a list"),
    (_fourth_alert(_set("alerts.3", "HighCPU")), "alerts[3]: expected an object"),
    (_fourth_alert(_set("alerts.3.labels.severity", 5)), "alerts[3].labels.severity: expected a string"),
    (_fourth_alert(_drop("alerts.3.labels.alertname")), "alerts[3].labels: must contain a non-empty alertname"),
    (_fourth_alert(_set("alerts.3.labels.alertname", "")), "alerts[3].labels: must contain a non-empty alertname"),
    (_fourth_alert(_set("alerts.3.annotations.summary", True)), "alerts[3].annotations.summary: expected a string"),
    (_fourth_alert(_set("alerts.3.status", "ok")), 'alerts[3].status: expected "firing" or "resolved", got "ok"'),
    (_fourth_alert(_drop("alerts.3.startsAt")), "alerts[3].startsAt: required"),
    (_fourth_alert(_set("alerts.3.startsAt", 1700000000)), "alerts[3].startsAt: expected an RFC 3339 time string"),
    (
        _fourth_alert(_set("alerts.3.startsAt", "yesterday")),
        'alerts[3].startsAt: expected an RFC 3339 time, got "yesterday"',
    ),
    (
        _fourth_alert(_set("alerts.3.endsAt", "2026-13-01T00:00:00Z")),
        'alerts[3].endsAt: expected an RFC 3339 time, got "2026-13-01T00:00:00Z"',
    ),
    (_fourth_alert(_set("alerts.3.generatorURL", 1)), "alerts[3].generatorURL: expected a string"),
    (_fourth_alert(_set("alerts.3.fingerprint", 12)), "alerts[3].fingerprint: expected a string"),
]


@pytest.mark.parametrize(
    ("change", "message"), BAD, ids=[m.split(":")[0] + "-" + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_field_is_named(real: dict[str, Any], change: Callable[[dict[str, Any]], None], message: str) -> None:
    change(real)
    with pytest.raises(WebhookFormatError) as caught:
        parse_webhook(_encode(real))
    assert str(caught.value).startswith(message)
    assert caught.value.path == message.split(":")[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body is not JSON: "),
        (b"{not json", "body is not JSON: "),
        (b"\xff\xfe", "body is not JSON: "),
        (b"[]", "body: expected a JSON object"),
        (b'"alert"', "body: expected a JSON object"),
    ],
)
def test_not_a_json_object(body: bytes, message: str) -> None:
    with pytest.raises(WebhookFormatError, match=f"^{message}"):
        parse_webhook(body)


def test_too_many_alerts(real: dict[str, Any]) -> None:
    real["alerts"] = real["alerts"] * MAX_ALERTS
    assert len(parse_webhook(_encode(real)).alerts) == MAX_ALERTS
    real["alerts"].append(real["alerts"][0])
    with pytest.raises(
        WebhookFormatError, match=f"^alerts: at most {MAX_ALERTS} alerts per body, got {MAX_ALERTS + 1}"
    ):
        parse_webhook(_encode(real))


def test_several_problems_are_counted(real: dict[str, Any]) -> None:
    real["version"] = "3"
    real["receiver"] = 1
    with pytest.raises(WebhookFormatError, match=r'^version: expected "4", got "3" \(and 1 more problems\)$'):
        parse_webhook(_encode(real))
