"""Folding one Alertmanager delivery into the inbox, in one transaction on one connection.

A delivery whose alerts are all stored already and change no status (a retry, a repeat_interval notification,
another Alertmanager replica: most of a storm) only counts the delivery, in one statement and without the ingest
lock. Anything else folds under an advisory lock, so concurrent deliveries (from any process) fold as if they
came one after another; a failure leaves nothing behind (Alertmanager retries on 5xx). The statements go out
pipelined: two round trips for duplicates, three for a fold, of which the lock is held over two (under load every
round trip is also a turn of the event loop, so a lock held over many of them serialises the storm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from service import inbox_sql as q
from service.alert_payload import AlertmanagerWebhook
from service.folding import DeliveryPlan, OpenIncident, StoredAlert, Topology, plan_delivery, thread_id_for

# Any constant; it only has to be the same in every process that uses this database.
_INGEST_LOCK = 0x6F707377_64696E62  # "opswdinb"

Conn = psycopg.AsyncConnection[Any]
Row = dict[str, Any]


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


async def fold_delivery(
    conn: Conn, webhook: AlertmanagerWebhook, topology: Topology, window_s: float, now: datetime | None = None
) -> IngestResult:
    """Store a delivery on `conn` (no transaction open): dedupe, fold new alerts into incidents, resolve; all or
    nothing. Times come from the database clock unless `now` is given (tests)."""
    keys = _alert_keys(webhook)
    async with conn.pipeline():
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
            window = {"now": now, "window_s": window_s, "fps": sorted({a.fingerprint for a in webhook.alerts})}
            open_rows = await (await conn.execute(q.OPEN_INCIDENTS, window)).fetchall()
            now = now or (await locked.fetchall())[0]["now"]
            known = _known_from(await known_again.fetchall())
            incidents = {r["id"]: _open_incident(r) for r in open_rows}
            plan = plan_delivery(webhook, known, incidents.values(), topology, now, window_s)
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
