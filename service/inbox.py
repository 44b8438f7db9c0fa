"""The durable inbox in Postgres: webhook deliveries folded into incidents, runs claimed by dispatchers, answers.

`ingest` stores a delivery in one transaction (service/inbox_ingest.py: deliveries fold as if they came one
after another, and a failure leaves nothing behind). Dispatchers claim runs with `FOR NO KEY UPDATE SKIP LOCKED`
in one statement and hold them by a lease; a lease that expires is re-driven. Times come from
the database clock unless a caller passes `now` (tests), so replicas on different hosts agree.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from service import inbox_sql as q
from service.alert_payload import AlertmanagerWebhook
from service.folding import Topology
from service.inbox_ingest import IngestResult, fold_delivery
from service.settings import ServiceSettings

MAX_RUN_ATTEMPTS = 3
"""Claims of one piece of work without a finished run. A run that keeps crashing its worker (or keeps failing on
late alerts) is not claimed again after this many: the incident stays failed, with the reason in last_error."""

RunState = Literal["pending", "running", "waiting", "done", "failed"]
ClaimReason = Literal["new", "redrive", "followup", "answer"]
_REASONS: dict[str, ClaimReason] = {"pending": "new", "running": "redrive", "waiting": "answer"}
_FINISH_STATES = ("pending", "waiting", "done", "failed")
# Any constant; it only has to be the same in every process that uses this database.
_SETUP_LOCK = 0x6F707377_64696E73  # "opswdins"

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
Conn = psycopg.AsyncConnection[Any]
Row = dict[str, Any]


class InboxError(RuntimeError):
    """The inbox cannot do what was asked."""


class InboxUnavailable(InboxError):
    """The inbox database cannot be reached or its tables cannot be created."""


class UnknownIncident(InboxError, LookupError):
    """No incident has that id."""


@dataclass(frozen=True)
class RunClaim:
    """A run a dispatcher now holds (until its lease expires): what to run it on and why."""

    incident_id: str
    thread_id: str
    reason: ClaimReason
    status: str
    severity: str
    group_key: str
    hosts: list[str]
    alerts: list[Row]
    """Firing alerts in Alertmanager's shape (all alerts when none is firing any more)."""
    run_revision: int
    attempt: int
    answers: list[Row] = field(default_factory=list)
    """Unapplied approval answers, oldest first."""

    @property
    def redrive(self) -> bool:
        """The previous run lost its lease (worker crashed or hung): resume the thread from its checkpoint."""
        return self.reason == "redrive"

    @property
    def answer(self) -> Row | None:
        """The oldest unapplied approval answer, if any."""
        return self.answers[0] if self.answers else None


class Inbox:
    """The inbox on a psycopg pool (autocommit off, dict rows); one transaction per method."""

    def __init__(self, pool: Pool, topology: Topology, *, window_s: float = 900.0) -> None:
        self.pool, self.topology, self.window_s = pool, topology, window_s

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        topology: Topology,
        *,
        window_s: float = 900.0,
        pool_min: int = 1,
        pool_max: int = 10,
        password: str | None = None,
        connect_timeout_s: float = 10.0,
    ) -> AsyncIterator[Inbox]:
        """Open a pool on `url` (`password` replaces the URL's), create the tables, yield the inbox."""
        conninfo, shown = _conninfo(url, password)
        pool: Pool = AsyncConnectionPool(
            conninfo,
            min_size=pool_min,
            max_size=pool_max,
            kwargs={"autocommit": False, "row_factory": dict_row},
            timeout=connect_timeout_s,
            name="opswd-inbox",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=connect_timeout_s)
        except PoolTimeout as exc:
            await pool.close()
            msg = f"cannot reach the inbox database {shown} within {connect_timeout_s:g} s: check "
            msg += "OPSWD_SERVICE__INBOX_URL and that Postgres is running"
            raise InboxUnavailable(msg) from exc
        try:
            inbox = cls(pool, topology, window_s=window_s)
            await inbox.setup()
            yield inbox
        finally:
            await pool.close()

    async def setup(self) -> None:
        """Create the tables and indexes if they do not exist (safe to run from many processes at once)."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK,))
                await conn.execute(q.SCHEMA)
        except psycopg.Error as exc:
            msg = f"cannot create the inbox tables: {exc}"
            raise InboxUnavailable(msg) from exc

    async def ingest(self, webhook: AlertmanagerWebhook, now: datetime | None = None) -> IngestResult:
        """Store a delivery: dedupe, fold new alerts into incidents, resolve; all or nothing (inbox_ingest)."""
        async with self.pool.connection() as conn:
            return await fold_delivery(conn, webhook, self.topology, self.window_s, now)

    async def claim_run(
        self,
        owner: str,
        lease_s: float,
        now: datetime | None = None,
        *,
        settle_s: float = 0.0,
        settle_max_s: float = 0.0,
    ) -> RunClaim | None:
        """Claim one incident that needs a run (new, lease expired, late alerts, an answer), or None.

        New alerts are claimed once their incident has settled: no alert joined it for `settle_s`, or
        `settle_max_s` passed since it opened (since its last run ended, for a follow-up).
        """
        args = {
            "now": now,
            "max": MAX_RUN_ATTEMPTS,
            "owner": owner,
            "lease_s": float(lease_s),
            "settle_s": float(settle_s),
            "settle_max_s": float(settle_max_s),
        }
        async with self.pool.connection() as conn, conn.pipeline():
            async with conn.transaction():  # one round trip: BEGIN, give up, claim, COMMIT
                await conn.execute(q.GIVE_UP_EXPIRED, args)
                claimed = await conn.execute(q.CLAIM_NEXT, args)
            rows = await claimed.fetchall()
            if not rows:
                return None
            row = rows[0]
            alerts_read = await conn.execute(q.INCIDENT_ALERTS, {"id": row["id"]})
            answers_read = await conn.execute(q.UNAPPLIED_ANSWERS, {"id": row["id"]})
            alerts = [_alert_shape(a) for a in await alerts_read.fetchall()]
            answers = list(await answers_read.fetchall())
        firing = [a for a in alerts if a["status"] == "firing"]
        return RunClaim(
            incident_id=row["id"],
            thread_id=row["thread_id"],
            reason=_REASONS.get(row["claimed_from"], "followup"),
            status=row["status"],
            severity=row["severity"],
            group_key=row["group_key"],
            hosts=list(row["hosts"]),
            alerts=firing or alerts,
            run_revision=row["run_revision"],
            attempt=row["run_attempts"],
            answers=answers,
        )

    async def renew_lease(self, incident_id: str, owner: str, lease_s: float, now: datetime | None = None) -> bool:
        """Extend a held run's lease to `lease_s` from now; False when `owner` no longer holds it (stop the run)."""
        args = {"id": incident_id, "owner": owner, "lease_s": float(lease_s), "now": now}
        return bool(await self._write(q.RENEW_LEASE, args))

    async def finish_run(
        self, incident_id: str, owner: str, run_state: RunState, outcome: Mapping[str, Any], error: str | None = None
    ) -> bool:
        """End a held run as done, waiting (at an approval), failed or pending (given back); False if not held."""
        if run_state not in _FINISH_STATES:
            msg = f"a run ends as one of {', '.join(_FINISH_STATES)}, not {run_state!r}"
            raise ValueError(msg)
        args = {
            "id": incident_id,
            "owner": owner,
            "state": run_state,
            "outcome": Jsonb(dict(outcome)),
            "error": error,
            "reset": run_state in ("done", "waiting"),
        }
        return bool(await self._write(q.FINISH_RUN, args))

    async def add_answer(
        self,
        approval_id: str,
        incident_id: str,
        thread_id: str,
        answer: Mapping[str, Any],
        approver: str,
        requested_by: str | None = None,
    ) -> bool:
        """Record a human's answer to an approval; False when that approval was already answered."""
        args = {
            "approval_id": approval_id,
            "incident_id": incident_id,
            "thread_id": thread_id,
            "answer": Jsonb(dict(answer)),
            "approver": approver,
            "requested_by": requested_by,
        }
        try:
            async with self.pool.connection() as conn, conn.transaction():
                stored = bool(await _rows(conn, q.ADD_ANSWER, args))
                if stored:
                    await conn.execute(q.NOTIFY_WORK, {"what": "answer"})
                return stored
        except psycopg.errors.ForeignKeyViolation as exc:
            msg = f"unknown incident {incident_id!r}: an answer must belong to an incident of the inbox"
            raise UnknownIncident(msg) from exc

    async def mark_answer_applied(self, approval_id: str) -> bool:
        """Record that an answer resumed its thread; False when unknown or already applied."""
        return bool(await self._write(q.ANSWER_APPLIED, {"approval_id": approval_id}))

    async def resolved_without_notice(self, limit: int = 100) -> list[Row]:
        """Resolved incidents whose "resolved" notice has not been sent, oldest first."""
        return await self._read(q.RESOLVED_WITHOUT_NOTICE, {"limit": limit})

    async def mark_resolved_notice_sent(self, incident_id: str) -> bool:
        """Record that an incident's "resolved" notice went out."""
        return bool(await self._write(q.NOTICE_SENT, {"id": incident_id}))

    async def list_incidents(self, status: Literal["open", "resolved"] | None = None, limit: int = 100) -> list[Row]:
        """Incidents, most recently alerted first, with their alert counts."""
        if status not in (None, "open", "resolved"):
            msg = f"status is open or resolved, not {status!r}"
            raise ValueError(msg)
        return await self._read(q.LIST_INCIDENTS, {"status": status, "limit": limit})

    async def get_incident(self, incident_id: str) -> Row | None:
        """One incident with its alerts and approval answers, or None."""
        async with self.pool.connection() as conn:
            found = await _rows(conn, q.GET_INCIDENT, {"id": incident_id})
            if not found:
                return None
            alerts = await _rows(conn, q.INCIDENT_ALERTS, {"id": incident_id})
            answers = await _rows(conn, q.INCIDENT_ANSWERS, {"id": incident_id})
        return {**found[0], "alerts": [_alert_shape(a) for a in alerts], "answers": answers}

    async def incident_for_thread(self, thread_id: str) -> Row | None:
        """The incident whose run lives on `thread_id` (its row without alerts), or None."""
        found = await self._read(q.INCIDENT_BY_THREAD, {"thread_id": thread_id})
        return found[0] if found else None

    async def notices(self) -> AsyncIterator[str]:
        """Yield each NOTIFY of new work (alerts folded, an answer stored), from any process, on a connection of
        its own; raises psycopg.Error when that connection breaks (the caller reconnects)."""
        conninfo = self.pool.conninfo if isinstance(self.pool.conninfo, str) else ""
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=10)
        async with conn:
            await conn.execute(f"LISTEN {q.NOTICE_CHANNEL}")
            async for notice in conn.notifies():
                yield notice.payload

    async def ping(self) -> None:
        """One round trip to the database (raises psycopg.Error when it does not answer)."""
        async with self.pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def stats(self) -> dict[str, Any]:
        """Counts for a health check: incidents by status and by run state, alerts by status, unapplied answers."""
        async with self.pool.connection() as conn:
            incidents = await _rows(conn, q.COUNT_INCIDENTS)
            alerts = await _rows(conn, q.COUNT_ALERTS)
            answers = await _rows(conn, q.COUNT_UNAPPLIED)
        by_status: dict[str, int] = {}
        by_run: dict[str, int] = {}
        for r in incidents:
            by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
            by_run[r["run_state"]] = by_run.get(r["run_state"], 0) + r["n"]
        return {
            "incidents": by_status,
            "run_states": by_run,
            "alerts": {r["status"]: r["n"] for r in alerts},
            "unapplied_answers": answers[0]["n"],
        }

    async def _read(self, query: str, args: Mapping[str, Any]) -> list[Row]:
        async with self.pool.connection() as conn:
            return await _rows(conn, query, args)

    async def _write(self, query: str, args: Mapping[str, Any]) -> list[Row]:
        # BEGIN, the statement and COMMIT in one round trip: row locks never outlive it.
        async with self.pool.connection() as conn, conn.pipeline():
            async with conn.transaction():
                cur = await conn.execute(query, args)
            return list(await cur.fetchall()) if cur.description else []


def _conninfo(url: str, password: str | None) -> tuple[str, str]:
    """The conninfo (with password) and its printable form (without)."""
    extra = {"password": password} if password is not None else {}
    try:
        conninfo = make_conninfo(url, **extra)
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        msg = f"malformed inbox database URL: {exc}"
        raise InboxError(msg) from exc
    return conninfo, make_conninfo("", **{k: v for k, v in params.items() if k != "password" and v is not None})


async def _rows(conn: Conn, query: str, args: Mapping[str, Any] | None = None) -> list[Row]:
    cur = await conn.execute(query, args)
    return list(await cur.fetchall()) if cur.description else []


def _alert_shape(row: Row) -> Row:
    """A stored alert in Alertmanager's field names (times as RFC 3339 strings), plus the matched host."""
    ends = row["ends_at"]
    return {
        "fingerprint": row["fingerprint"],
        "status": row["status"],
        "labels": row["labels"],
        "annotations": row["annotations"],
        "startsAt": row["starts_at"].isoformat(),
        "endsAt": ends.isoformat() if ends is not None else None,
        "generatorURL": row["generator_url"],
        "host": row["host"],
        "deliveries": row["deliveries"],
        **({"groupKey": row["group_key"]} if "group_key" in row else {}),
        **({"receivedAt": row["received_at"].isoformat()} if row.get("received_at") else {}),
    }


def open_inbox(settings: ServiceSettings, *, pool_size: int) -> contextlib.AbstractAsyncContextManager[Inbox]:
    """The inbox of the service settings (HTTP process and workers alike): folding by the inventory's topology,
    `pool_size` connections."""
    from tools_server.settings import Settings

    return Inbox.open(
        settings.resolved_inbox_url(),
        Topology.from_inventory(Settings().inventory),
        window_s=settings.fold_window_s,
        pool_min=pool_size,
        pool_max=pool_size,
    )
