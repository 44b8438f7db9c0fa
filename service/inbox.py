"""The durable inbox in Postgres: webhook deliveries folded into incidents, runs claimed by dispatchers, answers.

`ingest` stores a delivery in ONE transaction serialised by an advisory lock, so concurrent deliveries fold as if
they came one after another and a failure leaves nothing behind (Alertmanager retries on 5xx). Dispatchers claim
runs with `FOR UPDATE SKIP LOCKED` and hold them by a lease; a lease that expires is re-driven. Times come from
the database clock unless a caller passes `now` (tests), so replicas on different hosts agree.
"""

from __future__ import annotations

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
from service.folding import DeliveryPlan, OpenIncident, StoredAlert, Topology, plan_delivery, thread_id_for

MAX_RUN_ATTEMPTS = 3
"""Claims of one piece of work without a finished run. A run that keeps crashing its worker (or keeps failing on
late alerts) is not claimed again after this many: the incident stays failed, with the reason in last_error."""

RunState = Literal["pending", "running", "waiting", "done", "failed"]
ClaimReason = Literal["new", "redrive", "followup", "answer"]
_REASONS: dict[str, ClaimReason] = {"pending": "new", "running": "redrive", "waiting": "answer"}
_FINISH_STATES = ("pending", "waiting", "done", "failed")
# Any constants; they only have to be the same in every process that uses this database.
_INGEST_LOCK = 0x6F707377_64696E62  # "opswdinb"
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


@dataclass
class IngestResult:
    """What one delivery did: alerts stored first time (`new`), seen again, resolved; incidents concerned."""

    new: int = 0
    duplicates: int = 0
    resolved: int = 0
    """Alerts resolved by this delivery: stored firing alerts now resolved, and new alerts arriving resolved."""
    incidents: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    """Incidents this delivery resolved (all their alerts are resolved)."""


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
        """Store a delivery: dedupe, fold new alerts into incidents, resolve; all or nothing.

        A delivery whose alerts are all stored already and change no status (a retry, a repeat_interval
        notification, another Alertmanager replica: most of a storm) only counts the delivery, in one statement
        and without the ingest lock. Anything else folds under the lock, so concurrent deliveries fold as if
        they came one after another. The statements go out pipelined: two round trips for duplicates, three for
        a fold, of which the lock is held over two (under load every round trip is also a turn of the event
        loop, so a lock held over many of them serialises the storm).
        """
        keys = _alert_keys(webhook)
        async with self.pool.connection() as conn, conn.pipeline():
            async with conn.transaction():
                db_now, known = await _now_and_known(conn, keys)
                if _only_duplicates(webhook, known):
                    await conn.execute(q.DUPLICATE_ALERTS, {**keys, "now": now or db_now})
                    touched = {known[(a.fingerprint, a.starts_at)].incident_id for a in webhook.alerts}
                    return IngestResult(duplicates=len(webhook.alerts), incidents=sorted(i for i in touched if i))
                # Under the lock: the clock again (incidents' times follow the order deliveries fold in), the known
                # alerts again (another delivery may have stored some meanwhile), the open incidents.
                locked = await conn.execute(q.LOCK_INGEST, {"lock": _INGEST_LOCK})
                known_again = await conn.execute(q.KNOWN_ALERTS, keys)
                window = {"now": now, "window_s": self.window_s, "fps": sorted({a.fingerprint for a in webhook.alerts})}
                open_rows = await (await conn.execute(q.OPEN_INCIDENTS, window)).fetchall()
                now = now or (await locked.fetchall())[0]["now"]
                known = _known_from(await known_again.fetchall())
                incidents = {r["id"]: _open_incident(r) for r in open_rows}
                plan = plan_delivery(webhook, known, incidents.values(), self.topology, now, self.window_s)
                await _write_plan(conn, plan, webhook, incidents, now)
                closing = await conn.execute(q.CLOSE_RESOLVED, {"ids": list(plan.touched), "now": now})
                await conn.execute(q.NOTIFY_WORK, {"what": "alerts"})
            closed = await closing.fetchall()  # the COMMIT went out with the writes
        arrived_resolved = sum(1 for n in plan.inserts if n.alert.status == "resolved")
        return IngestResult(
            new=len(plan.inserts),
            duplicates=len(plan.duplicates),
            resolved=len(plan.resolutions) + arrived_resolved,
            incidents=list(plan.touched),
            created=[i.id for i in plan.created],
            closed=[r["id"] for r in closed],
        )

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


Known = dict[tuple[str, datetime], StoredAlert]


def _alert_keys(webhook: AlertmanagerWebhook) -> dict[str, list[Any]]:
    return {"fps": [a.fingerprint for a in webhook.alerts], "starts": [a.starts_at for a in webhook.alerts]}


def _known_from(rows: list[Row]) -> Known:
    return {
        (r["fingerprint"], r["starts_at"]): StoredAlert(r["status"], r["incident_id"])
        for r in rows
        if r["fingerprint"] is not None
    }


async def _now_and_known(conn: Conn, keys: Mapping[str, Any]) -> tuple[datetime, Known]:
    rows = await (await conn.execute(q.NOW_AND_KNOWN_ALERTS, keys)).fetchall()
    return rows[0]["now"], _known_from(rows)


def _open_incident(row: Row) -> OpenIncident:
    return OpenIncident(
        row["id"],
        row["group_key"],
        row["last_alert_at"],
        set(row["held"]),
        set(row["topology_keys"]),
        row["severity"],
        set(row["hosts"]),
    )


def _only_duplicates(webhook: AlertmanagerWebhook, known: Known) -> bool:
    """Every alert is stored and none resolves a firing one (the rules of plan_delivery for duplicates)."""
    for alert in webhook.alerts:
        stored = known.get((alert.fingerprint, alert.starts_at))
        if stored is None or (stored.status == "firing" and alert.status == "resolved"):
            return False
    return True


async def _write_plan(
    conn: Conn, plan: DeliveryPlan, webhook: AlertmanagerWebhook, incidents: Mapping[str, OpenIncident], now: datetime
) -> None:
    async with conn.cursor() as cur:
        if plan.created:
            await cur.executemany(q.INSERT_INCIDENT, [_incident_row(i, webhook, plan, now) for i in plan.created])
        if plan.inserts:
            rows = [
                {
                    "fingerprint": n.alert.fingerprint,
                    "starts_at": n.alert.starts_at,
                    "incident_id": n.incident_id,
                    "status": n.alert.status,
                    "alertname": n.alert.alertname,
                    "labels": Jsonb(n.alert.labels),
                    "annotations": Jsonb(n.alert.annotations),
                    "ends_at": n.alert.ends_at,
                    "generator_url": n.alert.generator_url,
                    "host": n.host,
                    "group_key": webhook.group_key,
                    "now": now,
                }
                for n in plan.inserts
            ]
            await cur.executemany(q.INSERT_ALERT, rows)
        if plan.resolutions:
            resolutions = [
                {"fp": a.fingerprint, "starts": a.starts_at, "ends": a.ends_at, "now": now} for a in plan.resolutions
            ]
            await cur.executemany(q.RESOLVE_ALERT, resolutions)
        if plan.duplicates:
            duplicates = [{"fp": a.fingerprint, "starts": a.starts_at, "now": now} for a in plan.duplicates]
            await cur.executemany(q.DUPLICATE_ALERT, duplicates)
        grown = [_incident_row(incidents[i], webhook, plan, now) for i in plan.added if i in incidents]
        if grown:
            await cur.executemany(q.GROW_INCIDENT, grown)


def _incident_row(incident: OpenIncident, webhook: AlertmanagerWebhook, plan: DeliveryPlan, now: datetime) -> Row:
    return {
        "id": incident.id,
        "thread_id": thread_id_for(incident.id),
        "group_key": incident.group_key,
        "receiver": webhook.receiver,
        "severity": incident.severity,
        "keys": sorted(incident.keys),
        "hosts": sorted(incident.hosts),
        "added": plan.added.get(incident.id, 0),
        "last_alert_at": incident.last_alert_at,
        "now": now,
    }


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
