"""The SQLite outbox: one row per idempotency key, so a resumed or replayed node never sends a message twice.

Protocol of one send (tools_notify.notify_send drives it):

1. Claim: ``INSERT ... ON CONFLICT DO NOTHING`` inside ``BEGIN IMMEDIATE``. A new row is ours, leased to us
   for ``lease_s`` (longer than any send can take). An existing row is:
   - ``sent``: a duplicate; nothing is sent again.
   - leased by another call (it is sending right now): the caller waits for that call's outcome.
   - ``pending`` and not leased: an earlier call claimed it and crashed, or was cancelled, before the outcome
     was recorded. Whether the receiver got it is unknown, so we take it over and send it again: delivery of a
     never-confirmed message is at-least-once, and receivers deduplicate on the key (the Idempotency-Key header
     and the ``idempotency_key`` field). A crashed process's lease must expire first; a cancelled call releases
     its lease at once.
   - ``failed`` and not leased: a later call may retry it.
2. Every delivery attempt increments ``attempts`` before it starts, so a crash mid-attempt still counts.
3. ``mark_sent`` / ``mark_failed`` record the outcome and release the lease.

The first recorded content of a key is what every resend delivers: a replayed node whose LLM wrote different
text still repeats the original message. Blocking sqlite3 calls run in ``asyncio.to_thread``, one short-lived
connection per call; the database is in WAL mode, so readers never block the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from tools_server.notify.models import Channel, MessageContent

RowStatus = Literal["pending", "sent", "failed"]
T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 500
_SETUP_LOCK = threading.Lock()

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    idempotency_key TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     REAL
)
"""
COLUMNS = (
    "idempotency_key, channel, status, payload, attempts, created_at, sent_at, last_error, lease_owner, lease_until"
)


@dataclass(frozen=True)
class OutboxRow:
    """One message as the outbox records it."""

    key: str
    channel: Channel
    status: RowStatus
    content: MessageContent
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    lease_owner: str | None
    lease_until: float | None

    def leased(self, now: float | None = None) -> bool:
        """Whether some call holds a live claim on this row (it is being sent right now)."""
        return self.lease_until is not None and self.lease_until > (time.time() if now is None else now)


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: the row, and whether this caller now owns its sending."""

    owned: bool
    row: OutboxRow


def _row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(
        key=r["idempotency_key"],
        channel=r["channel"],
        status=r["status"],
        content=MessageContent.model_validate_json(r["payload"]),
        attempts=r["attempts"],
        created_at=datetime.fromisoformat(r["created_at"]),
        sent_at=datetime.fromisoformat(r["sent_at"]) if r["sent_at"] else None,
        last_error=r["last_error"],
        lease_owner=r["lease_owner"],
        lease_until=r["lease_until"],
    )


def _set_up(conn: sqlite3.Connection) -> None:
    """Switch to WAL and create the table; SQLite answers a journal-mode change "locked" without waiting."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    conn.execute(SCHEMA)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken up front, so read-check-write sequences are atomic across processes."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Outbox:
    """The outbox database at `path` (created with its parent folder on first use)."""

    def __init__(self, path: Path, *, lease_s: float) -> None:
        self.path = path.expanduser()
        self.lease_s = lease_s
        self._ready = False

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._in_connection, work)

    def _in_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if not self._ready:
            with _SETUP_LOCK:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as conn:
                    _set_up(conn)
                self._ready = True
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            return work(conn)

    @staticmethod
    def _select(conn: sqlite3.Connection, key: str) -> OutboxRow | None:
        found = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE idempotency_key = ?", (key,)).fetchone()
        return _row(found) if found else None

    async def claim(
        self, key: str, channel: Channel, content: MessageContent, owner: str, *, retry_failed: bool = True
    ) -> Claim:
        """Insert the key as pending and leased to `owner`, or take over an unleased pending (or failed) row."""

        def work(conn: sqlite3.Connection) -> Claim:
            now = time.time()
            with _immediate(conn):
                inserted = conn.execute(
                    "INSERT INTO outbox (idempotency_key, channel, status, payload, attempts, created_at,"
                    " lease_owner, lease_until) VALUES (?, ?, 'pending', ?, 0, ?, ?, ?)"
                    " ON CONFLICT (idempotency_key) DO NOTHING",
                    (key, channel, content.model_dump_json(), _utc_now().isoformat(), owner, now + self.lease_s),
                ).rowcount
                row = self._select(conn, key) or _missing(key)
                not_ours = row.status == "sent" or row.leased(now) or (row.status == "failed" and not retry_failed)
                if inserted or row.channel != channel or not_ours:
                    return Claim(owned=bool(inserted), row=row)
                conn.execute(
                    "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE idempotency_key = ?",
                    (owner, now + self.lease_s, key),
                )
                return Claim(owned=True, row=self._select(conn, key) or row)

        return await self._run(work)

    async def get(self, key: str) -> OutboxRow | None:
        """The row of `key`, or None."""
        return await self._run(lambda conn: self._select(conn, key))

    async def begin_attempt(self, key: str) -> None:
        """Count one delivery attempt before it starts."""
        await self._run(
            lambda conn: conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE idempotency_key = ?", (key,))
        )

    async def mark_sent(self, key: str, sent_at: datetime) -> OutboxRow:
        """Record the delivery (the first recorded time stands) and release the lease."""

        def work(conn: sqlite3.Connection) -> OutboxRow:
            conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = COALESCE(sent_at, ?), last_error = NULL,"
                " lease_owner = NULL, lease_until = NULL WHERE idempotency_key = ?",
                (sent_at.isoformat(), key),
            )
            return self._select(conn, key) or _missing(key)

        return await self._run(work)

    async def mark_failed(self, key: str, owner: str, error: str) -> OutboxRow:
        """Record a failure unless the row was sent meanwhile, and release `owner`'s lease."""

        def work(conn: sqlite3.Connection) -> OutboxRow:
            conn.execute(
                "UPDATE outbox SET status = 'failed', last_error = ?, lease_owner = NULL, lease_until = NULL"
                " WHERE idempotency_key = ? AND status != 'sent' AND lease_owner = ?",
                (error[:MAX_ERROR_CHARS], key, owner),
            )
            return self._select(conn, key) or _missing(key)

        return await self._run(work)

    async def release(self, key: str, owner: str) -> None:
        """Give up `owner`'s lease without an outcome: the row stays pending and the next call resends it."""
        await self._run(
            lambda conn: conn.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL"
                " WHERE idempotency_key = ? AND lease_owner = ?",
                (key, owner),
            )
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _missing(key: str) -> OutboxRow:
    msg = f"outbox row {key!r} disappeared while it was being sent; was the outbox database replaced?"
    raise RuntimeError(msg)
