"""Notifications: the message model, the SQLite outbox that makes sends idempotent, and the channels."""

from tools_server.notify.models import Channel, Link, Message, MessageContent, SendResult, Severity
from tools_server.notify.outbox import Outbox, OutboxRow
from tools_server.notify.settings import NotifySettings

__all__ = [
    "Channel",
    "Link",
    "Message",
    "MessageContent",
    "NotifySettings",
    "Outbox",
    "OutboxRow",
    "SendResult",
    "Severity",
]
