"""The notification message a tool call asks for, and the outcome of sending it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, JsonValue, StringConstraints, field_validator

Channel = Literal["outbox", "webhook"]
Severity = Literal["info", "warning", "critical"]
SendStatus = Literal["sent", "duplicate", "failed"]

KEY_PATTERN = r"^[A-Za-z0-9:._-]+$"
MAX_BODY_CHARS = 20_000
MAX_EXTRA_BYTES = 16 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _single_line(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        msg = "must be a single line without control characters"
        raise ValueError(msg)
    return value


class Link(BaseModel):
    """A link shown under the message (runbook, dashboard, incident page)."""

    title: Line = Field(description="Link text")
    url: str = Field(max_length=2000, pattern=r"^https?://\S+$", description="Absolute http(s) URL")

    _title_line = field_validator("title")(_single_line)


class MessageContent(BaseModel):
    """What a message says: the part recorded in the outbox and delivered, identical on every resend."""

    title: Line = Field(description="One-line title, e.g. 'disk /data at 96% on db-01'")
    body_markdown: str = Field("", max_length=MAX_BODY_CHARS, description="Message body in Markdown")
    severity: Severity = Field("info", description="info, warning or critical")
    incident_id: str | None = Field(None, min_length=1, max_length=200, description="Incident this message is about")
    lang: Literal["zh", "en"] = Field("en", description="Language the text is written in")
    links: list[Link] = Field(default_factory=list, max_length=20, description="Links shown under the body")
    extra: dict[str, JsonValue] = Field(default_factory=dict, description="Channel-neutral structured data (JSON)")

    _one_line = field_validator("title", "incident_id")(_single_line)

    @field_validator("extra")
    @classmethod
    def _small_extra(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_EXTRA_BYTES:
            msg = f"extra is {size} bytes of JSON; keep it under {MAX_EXTRA_BYTES}"
            raise ValueError(msg)
        return value


class Message(MessageContent):
    """A message to send once: the idempotency key names it across retries, resumes and replays."""

    idempotency_key: str = Field(
        min_length=1,
        max_length=200,
        pattern=KEY_PATTERN,
        description="Stable key of this message, e.g. 'incident:<thread>:notify:webhook' (letters, digits, :._-)",
    )
    channel: Channel = Field(description="outbox (file + stderr) or webhook (generic JSON webhook)")

    def content(self) -> MessageContent:
        """The recorded part of the message (without key and channel)."""
        return MessageContent.model_validate(self.model_dump(include=set(MessageContent.model_fields)))


def wire_body(key: str, content: MessageContent, sent_at: datetime) -> dict[str, Any]:
    """The JSON object both channels deliver: the content plus key and send time."""
    return {"idempotency_key": key, **content.model_dump(mode="json"), "sent_at": sent_at.isoformat()}


class SendResult(BaseModel):
    """What happened to one message."""

    idempotency_key: str
    channel: Channel
    status: SendStatus = Field(description="sent now, duplicate (sent before, not sent again), or failed")
    attempts: int = Field(description="Delivery attempts recorded for this key so far, across calls")
    detail: str = Field(description="What was done or what went wrong")
    sent_at: datetime | None = Field(None, description="When the message was delivered (UTC), if it was")
