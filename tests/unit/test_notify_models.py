"""Validation of notification messages and settings (no network, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools_server.notify import Message, NotifySettings
from tools_server.notify.models import wire_body
from tools_server.tools_notify import NotifySendInput

GOOD: dict[str, Any] = {"idempotency_key": "incident:a1b2.c3_d-4:notify", "channel": "webhook", "title": "disk full"}


def _message(**kw: Any) -> Message:
    return Message.model_validate(GOOD | kw)


def test_defaults() -> None:
    m = _message()
    assert (m.severity, m.lang, m.body_markdown, m.incident_id, m.links, m.extra) == ("info", "en", "", None, [], {})
    assert isinstance(NotifySendInput.model_validate(GOOD), Message)


@pytest.mark.parametrize("key", ["", "has space", "a/b", "键", "a\nb", "x" * 201, "semi;colon"])
def test_bad_idempotency_keys(key: str) -> None:
    with pytest.raises(ValidationError, match="idempotency_key"):
        _message(idempotency_key=key)


def test_longest_key_and_every_allowed_character() -> None:
    assert _message(idempotency_key="x" * 200).idempotency_key == "x" * 200
    assert _message(idempotency_key="Az09:._-").idempotency_key == "Az09:._-"


@pytest.mark.parametrize("title", ["", "   ", "two\nlines", "tab\there", "x" * 201])
def test_bad_titles(title: str) -> None:
    with pytest.raises(ValidationError, match="title"):
        _message(title=title)


def test_title_is_stripped_and_may_be_chinese() -> None:
    assert _message(title="  内存使用率 93%  ").title == "内存使用率 93%"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("channel", "slack"),
        ("severity", "fatal"),
        ("lang", "fr"),
        ("body_markdown", "x" * 20_001),
        ("incident_id", ""),
        ("incident_id", "a\nb"),
        ("links", [{"title": "x", "url": "javascript:alert(1)"}]),
        ("links", [{"title": "", "url": "https://example.org"}]),
        ("links", [{"title": "x", "url": "https://example.org"}] * 21),
        ("extra", {"blob": "x" * 17_000}),
        ("extra", {"not_json": {1, 2}}),
    ],
)
def test_bad_fields(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        _message(**{name: value})


def test_wire_body_has_exactly_the_documented_fields_in_order() -> None:
    m = _message(links=[{"title": "Runbook", "url": "https://rb.example/disk"}], extra={"n": 1})
    when = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    body = wire_body(m.idempotency_key, m.content(), when)
    assert list(body) == [
        "idempotency_key",
        "title",
        "body_markdown",
        "severity",
        "incident_id",
        "lang",
        "links",
        "extra",
        "sent_at",
    ]
    assert body["sent_at"] == "2024-05-01T08:30:00+00:00"
    assert body["links"] == [{"title": "Runbook", "url": "https://rb.example/disk"}]


class _Nested(BaseSettings):
    """The way the main Settings nests NotifySettings."""

    model_config = SettingsConfigDict(env_prefix="OPSWD_", env_nested_delimiter="__", extra="ignore")
    notify: NotifySettings = NotifySettings()


def test_settings_from_env_and_token_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSWD_NOTIFY__WEBHOOK_URL", "https://hooks.example/ops")
    monkeypatch.setenv("OPSWD_NOTIFY__WEBHOOK_TOKEN", "tok-123456")
    monkeypatch.setenv("OPSWD_NOTIFY__RETRIES", "5")
    s = _Nested().notify
    assert (s.webhook_url, s.retries, s.resolved_webhook_token()) == ("https://hooks.example/ops", 5, "tok-123456")
    assert "tok-123456" not in repr(s) and "tok-123456" not in s.model_dump_json()
    monkeypatch.delenv("OPSWD_NOTIFY__WEBHOOK_TOKEN")
    (tmp_path / "tok").write_text("from-file\n")
    monkeypatch.setenv("OPSWD_NOTIFY__WEBHOOK_TOKEN_FILE", str(tmp_path / "tok"))
    assert _Nested().notify.resolved_webhook_token() == "from-file"


def test_settings_defaults_and_refusals() -> None:
    s = NotifySettings()
    assert (s.outbox_db, s.outbox_file, s.webhook_url) == (Path("var/outbox.db"), Path("var/notifications.jsonl"), None)
    assert NotifySettings(webhook_url="  ").webhook_url is None
    for bad in ("ftp://x/y", "hooks.example/ops", "http://"):
        with pytest.raises(ValidationError, match="webhook_url"):
            NotifySettings(webhook_url=bad)
    with pytest.raises(ValidationError, match="retries"):
        NotifySettings(retries=-1)


def test_lease_outlasts_the_longest_send() -> None:
    s = NotifySettings(timeout_s=2, retries=3, backoff_s=1)
    assert s.lease_s > 2 * 4 + (1 + 2 + 4)
    assert NotifySettings(backoff_s=30, retries=10).backoff_delay(9) == 30
