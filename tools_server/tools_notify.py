"""notify_send: deliver one message on its channel at most once per idempotency key, through the outbox.

The outbox row is claimed before anything is sent and the outcome is recorded after; tools_server.notify.outbox
documents the protocol (duplicates are not resent; a claimed but never confirmed message is resent:
at-least-once). Delivery failures are data in the result (status "failed"); a channel that is not configured,
or a key reused for another channel, is a ToolInputError.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx

from tools_server.context import ToolInputError
from tools_server.notify.channels import Delivery, send_to_file, send_to_webhook
from tools_server.notify.models import Message, SendResult, wire_body
from tools_server.notify.outbox import Outbox, OutboxRow
from tools_server.notify.settings import NotifySettings

POLL_FIRST_S = 0.02
POLL_MAX_S = 0.5


class NotifySendInput(Message):
    """A message to send: its idempotency key, channel and content."""


class NotifySendResult(SendResult):
    """The outcome: sent, duplicate (sent before, not again) or failed, with the attempts recorded."""


def _webhook_token(settings: NotifySettings, channel: str) -> str | None:
    """Check the channel is usable before anything is claimed; return the webhook token if any."""
    if channel != "webhook":
        return None
    if settings.webhook_url is None:
        msg = "the webhook channel is not configured: set OPSWD_NOTIFY__WEBHOOK_URL, or send on channel 'outbox'"
        raise ToolInputError(msg)
    try:
        return settings.resolved_webhook_token()
    except OSError as exc:
        msg = f"cannot read the webhook token file {settings.webhook_token_file}: {exc.strerror or exc}"
        raise ToolInputError(msg) from exc


def _result(row: OutboxRow, status: str, detail: str) -> NotifySendResult:
    return NotifySendResult.model_validate(
        {
            "idempotency_key": row.key,
            "channel": row.channel,
            "status": status,
            "attempts": row.attempts,
            "detail": detail,
            "sent_at": row.sent_at,
        }
    )


async def _settled(outbox: Outbox, key: str) -> OutboxRow:
    """Wait until no live call holds the row (it finished, released it, or its lease ran out)."""
    delay = POLL_FIRST_S
    while True:
        row = await outbox.get(key)
        if row is None:
            msg = f"outbox row {key!r} disappeared while another call was sending it"
            raise RuntimeError(msg)
        if not row.leased():
            return row
        await asyncio.sleep(delay)
        delay = min(delay * 2, POLL_MAX_S)


async def _claim(outbox: Outbox, args: NotifySendInput, owner: str) -> OutboxRow | NotifySendResult:
    """Own the row of args' key (returned), or the result of a call that already settled it."""
    waited = False
    while True:
        # After waiting on a concurrent call, its failure is our answer: retrying it at once would only repeat it.
        claim = await outbox.claim(args.idempotency_key, args.channel, args.content(), owner, retry_failed=not waited)
        row = claim.row
        if row.channel != args.channel:
            msg = (
                f"idempotency key {row.key!r} is already used for channel {row.channel!r}; "
                f"use one key per message and channel (e.g. append ':{args.channel}')"
            )
            raise ToolInputError(msg)
        if claim.owned:
            return row
        if row.status == "sent":
            when = row.sent_at.isoformat() if row.sent_at else "an unrecorded time"
            return _result(row, "duplicate", f"already sent at {when}; not sent again")
        if waited and row.status == "failed":
            return _result(row, "failed", f"a concurrent call with this key failed: {row.last_error}")
        # Another call is sending it now: wait for its outcome. If it died, its lease runs out and we take over.
        await _settled(outbox, args.idempotency_key)
        waited = True


async def notify_send(
    ctx_settings: NotifySettings, args: NotifySendInput, *, client: httpx.AsyncClient | None = None
) -> NotifySendResult:
    """Send a message on the outbox (file + stderr) or webhook channel, once per idempotency key."""
    token = _webhook_token(ctx_settings, args.channel)
    outbox = Outbox(ctx_settings.outbox_db, lease_s=ctx_settings.lease_s)
    owner = uuid.uuid4().hex
    claimed = await _claim(outbox, args, owner)
    if isinstance(claimed, NotifySendResult):
        return claimed
    key = claimed.key
    sent_at = datetime.now(UTC)
    body = wire_body(key, claimed.content, sent_at)  # the first recorded content, on every resend

    async def on_attempt() -> None:
        await outbox.begin_attempt(key)

    try:
        if args.channel == "webhook":
            delivery: Delivery = await send_to_webhook(ctx_settings, body, on_attempt, token=token, client=client)
        else:
            delivery = await send_to_file(ctx_settings.outbox_file, body, on_attempt)
    except BaseException:
        # Outcome unknown (cancelled, or a bug): leave the row pending so the next call resends it, now.
        await asyncio.shield(outbox.release(key, owner))
        raise
    if delivery.ok:
        return _result(await outbox.mark_sent(key, sent_at), "sent", delivery.detail)
    row = await outbox.mark_failed(key, owner, delivery.detail)
    return _result(row, "failed", delivery.detail)
