"""The body Alertmanager posts to a webhook receiver (format version 4), validated strictly.

Types are strict (label values must be strings, times RFC 3339) and unknown fields are kept, because later
Alertmanager versions add fields. `parse_webhook` raises WebhookFormatError whose message starts with the path
of the bad field (`alerts[3].labels.severity: expected a string`), so a 400 answer tells the sender what to fix.

An alert without a fingerprint (older Alertmanager) gets the one Alertmanager itself would compute: FNV-1a 64
over the labels sorted by name, each name and value followed by the byte 0xff, printed as 16 hex digits
(prometheus/common `model.LabelSet.Fingerprint`). So replays from old and new senders dedupe alike.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

MAX_ALERTS = 5000
"""Alerts accepted in one body; Alertmanager's `max_alerts` should be set at or below it."""

# Go's zero time.Time: Alertmanager's way of saying "no end time".
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})")
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK64 = (1 << 64) - 1


class WebhookFormatError(ValueError):
    """The body is not an Alertmanager version 4 webhook; the message starts with the bad field's path."""

    def __init__(self, message: str, path: str = "body") -> None:
        super().__init__(message)
        self.path = path


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 time as an aware UTC datetime (nanoseconds truncated to microseconds)."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        msg = f"expected an RFC 3339 time, got {json.dumps(value)}"
        raise ValueError(msg)
    day, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}.{(fraction or '').ljust(6, '0')[:6]}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        msg = f"expected an RFC 3339 time, got {json.dumps(value)} ({exc})"
        raise ValueError(msg) from exc


def _time(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise PydanticCustomError("rfc3339_type", "expected an RFC 3339 time string")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise PydanticCustomError("rfc3339", str(exc)) from exc


def _end_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = _time(value)
    return None if parsed == _ZERO_TIME else parsed


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64, labels sorted by name), as 16 hex digits."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return f"{h:016x}"


Labels = dict[StrictStr, StrictStr]


class Alert(BaseModel):
    """One alert of the group: its labels identify it, (fingerprint, starts_at) identifies this firing."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = {}
    starts_at: Annotated[datetime, BeforeValidator(_time)] = Field(alias="startsAt")
    ends_at: Annotated[datetime | None, BeforeValidator(_end_time)] = Field(None, alias="endsAt")
    generator_url: StrictStr = Field("", alias="generatorURL")
    fingerprint: StrictStr = Field("", max_length=128)

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise PydanticCustomError("alertname_missing", "must contain a non-empty alertname")
        return labels

    @model_validator(mode="after")
    def _fill_fingerprint(self) -> Alert:
        if not self.fingerprint:
            self.fingerprint = label_fingerprint(self.labels)
        return self

    @property
    def alertname(self) -> str:
        """The alert's name (always present)."""
        return self.labels["alertname"]


class AlertmanagerWebhook(BaseModel):
    """The whole body of one webhook delivery: one notification of one aggregation group."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

    version: Literal["4"]
    group_key: StrictStr = Field(alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: StrictStr
    group_labels: Labels = Field({}, alias="groupLabels")
    common_labels: Labels = Field({}, alias="commonLabels")
    common_annotations: Labels = Field({}, alias="commonAnnotations")
    external_url: StrictStr = Field("", alias="externalURL")
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)


def parse_webhook(body: bytes) -> AlertmanagerWebhook:
    """Validate a webhook body; raise WebhookFormatError naming the first bad field."""
    try:
        return AlertmanagerWebhook.model_validate_json(body, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        path = _path(first["loc"])
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        if first["type"] == "json_invalid":
            raise WebhookFormatError(f"body is not JSON: {_ctx(first).get('error', first['msg'])}") from None
        raise WebhookFormatError(f"{path}: {_problem(first)}{more}", path) from None


def _ctx(error: ErrorDetails) -> dict[str, Any]:
    return dict(error.get("ctx") or {})


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


_PROBLEMS = {
    "missing": "required",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "dict_type": "expected an object",
    "list_type": "expected a list",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
}


def _problem(error: ErrorDetails) -> str:
    kind, ctx = error["type"], _ctx(error)
    if kind == "model_type" and not error["loc"]:
        return "expected a JSON object"
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    if kind == "literal_error":
        return f"expected {str(ctx['expected']).replace(chr(39), chr(34))}, got {json.dumps(error['input'])}"
    if kind == "too_long" and error["loc"] == ("alerts",):
        return f"at most {MAX_ALERTS} alerts per body, got {ctx.get('actual_length', 'more')}"
    if kind == "greater_than_equal":
        return f"expected at least {ctx['ge']}, got {json.dumps(error['input'])}"
    return error["msg"]
