"""The inbox's SQL: the schema (idempotent DDL, run by Inbox.setup) and every query, named by what it does.

Tables carry the `opswd_` prefix so the inbox can share a database with the LangGraph checkpoints.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS opswd_incidents (
    id                   text PRIMARY KEY,
    thread_id            text NOT NULL UNIQUE,
    group_key            text NOT NULL,
    receiver             text NOT NULL,
    status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    run_state            text NOT NULL DEFAULT 'pending'
                         CHECK (run_state IN ('pending', 'running', 'waiting', 'done', 'failed')),
    severity             text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    topology_keys        text[] NOT NULL DEFAULT '{}',
    hosts                text[] NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    last_alert_at        timestamptz NOT NULL,
    -- firing alerts joined so far; a run covers the revision it was claimed at (run_revision)
    alert_revision       integer NOT NULL DEFAULT 1,
    run_revision         integer NOT NULL DEFAULT 0,
    lease_owner          text,
    lease_until          timestamptz,
    -- claims since the last run that ended done or waiting
    run_attempts         integer NOT NULL DEFAULT 0,
    last_error           text,
    resolved_at          timestamptz,
    resolved_notice_sent boolean NOT NULL DEFAULT false,
    outcome              jsonb
);
-- added after the first release: ALTER keeps databases created before it working
ALTER TABLE opswd_incidents ADD COLUMN IF NOT EXISTS run_finished_at timestamptz;
CREATE INDEX IF NOT EXISTS opswd_incidents_status_run_state ON opswd_incidents (status, run_state);
CREATE INDEX IF NOT EXISTS opswd_incidents_open_last_alert ON opswd_incidents (last_alert_at)
    WHERE status = 'open';

CREATE TABLE IF NOT EXISTS opswd_alerts (
    fingerprint   text NOT NULL,
    starts_at     timestamptz NOT NULL,
    incident_id   text REFERENCES opswd_incidents (id),
    status        text NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertname     text NOT NULL,
    labels        jsonb NOT NULL,
    annotations   jsonb NOT NULL,
    ends_at       timestamptz,
    generator_url text NOT NULL DEFAULT '',
    host          text,
    group_key     text NOT NULL,
    received_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deliveries    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX IF NOT EXISTS opswd_alerts_incident ON opswd_alerts (incident_id, status);

CREATE TABLE IF NOT EXISTS opswd_approval_answers (
    approval_id  text PRIMARY KEY,
    incident_id  text NOT NULL REFERENCES opswd_incidents (id),
    thread_id    text NOT NULL,
    answer       jsonb NOT NULL,
    approver     text NOT NULL,
    requested_by text,
    answered_at  timestamptz NOT NULL,
    applied_at   timestamptz
);
CREATE INDEX IF NOT EXISTS opswd_approval_answers_unapplied ON opswd_approval_answers (incident_id)
    WHERE applied_at IS NULL;
"""

# --- ingest -------------------------------------------------------------------------------------------------

KNOWN_ALERTS = """
SELECT fingerprint, starts_at, status, incident_id FROM opswd_alerts
WHERE (fingerprint, starts_at) IN (SELECT * FROM unnest(%(fps)s::text[], %(starts)s::timestamptz[]))
"""

# The database clock and the known alerts in one round trip: always one row (k.* NULL when none is known).
NOW_AND_KNOWN_ALERTS = (
    """
SELECT clock_timestamp() AS now, k.* FROM (SELECT 1) AS one
LEFT JOIN LATERAL ("""
    + KNOWN_ALERTS
    + """) AS k ON true
"""
)

LOCK_INGEST = "SELECT pg_advisory_xact_lock(%(lock)s), clock_timestamp() AS now"

# Every alert of a delivery already stored and none of them changing status: one statement, no lock.
DUPLICATE_ALERTS = """
UPDATE opswd_alerts AS a SET deliveries = a.deliveries + d.n, updated_at = %(now)s
FROM (SELECT fp, starts, count(*)::int AS n
      FROM unnest(%(fps)s::text[], %(starts)s::timestamptz[]) AS t(fp, starts) GROUP BY fp, starts) AS d
WHERE a.fingerprint = d.fp AND a.starts_at = d.starts
"""

# Open incidents active within the window (from the given time, or the clock) or holding one of the delivery's
# fingerprints, each with those of the fingerprints it holds (`held`).
OPEN_INCIDENTS = """
SELECT i.id, i.group_key, i.last_alert_at, i.severity, i.topology_keys, i.hosts,
       ARRAY(SELECT DISTINCT a.fingerprint FROM opswd_alerts AS a
             WHERE a.incident_id = i.id AND a.fingerprint = ANY(%(fps)s::text[])) AS held
FROM opswd_incidents AS i
WHERE i.status = 'open'
  AND (i.last_alert_at >= COALESCE(%(now)s::timestamptz, clock_timestamp()) - make_interval(secs => %(window_s)s)
       OR i.id IN (SELECT incident_id FROM opswd_alerts WHERE fingerprint = ANY(%(fps)s::text[])))
"""

INSERT_INCIDENT = """
INSERT INTO opswd_incidents (id, thread_id, group_key, receiver, severity, topology_keys, hosts,
                             created_at, updated_at, last_alert_at, alert_revision)
VALUES (%(id)s, %(thread_id)s, %(group_key)s, %(receiver)s, %(severity)s, %(keys)s::text[], %(hosts)s::text[],
        %(now)s, %(now)s, %(last_alert_at)s, %(added)s)
"""

GROW_INCIDENT = """
UPDATE opswd_incidents
SET alert_revision = alert_revision + %(added)s, severity = %(severity)s, topology_keys = %(keys)s::text[],
    hosts = %(hosts)s::text[], last_alert_at = %(last_alert_at)s, updated_at = %(now)s
WHERE id = %(id)s
"""

INSERT_ALERT = """
INSERT INTO opswd_alerts (fingerprint, starts_at, incident_id, status, alertname, labels, annotations, ends_at,
                          generator_url, host, group_key, received_at, updated_at)
VALUES (%(fingerprint)s, %(starts_at)s, %(incident_id)s, %(status)s, %(alertname)s, %(labels)s, %(annotations)s,
        %(ends_at)s, %(generator_url)s, %(host)s, %(group_key)s, %(now)s, %(now)s)
"""

RESOLVE_ALERT = """
UPDATE opswd_alerts
SET status = 'resolved', ends_at = COALESCE(%(ends)s::timestamptz, %(now)s), deliveries = deliveries + 1,
    updated_at = %(now)s
WHERE fingerprint = %(fp)s AND starts_at = %(starts)s
"""

DUPLICATE_ALERT = """
UPDATE opswd_alerts SET deliveries = deliveries + 1, updated_at = %(now)s
WHERE fingerprint = %(fp)s AND starts_at = %(starts)s
"""

CLOSE_RESOLVED = """
UPDATE opswd_incidents AS i SET status = 'resolved', resolved_at = %(now)s, updated_at = %(now)s
WHERE i.id = ANY(%(ids)s::text[]) AND i.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM opswd_alerts AS a WHERE a.incident_id = i.id AND a.status = 'firing')
RETURNING i.id
"""

# --- runs ---------------------------------------------------------------------------------------------------

_CLOCK = "COALESCE(%(now)s::timestamptz, clock_timestamp())"

GIVE_UP_EXPIRED = f"""
UPDATE opswd_incidents
SET run_state = 'failed', lease_owner = NULL, lease_until = NULL, updated_at = {_CLOCK},
    last_error = 'the run lost its lease ' || run_attempts || ' times (worker crashed or hung); not claimed again'
WHERE id IN (SELECT id FROM opswd_incidents
             WHERE run_state = 'running' AND lease_until < {_CLOCK} AND run_attempts >= %(max)s
             FOR NO KEY UPDATE SKIP LOCKED)
"""

# Pick and claim in one statement: the row lock lives for one round trip, so a worker starved of CPU (it runs
# at a lower priority) never holds an incident row that a webhook's fold is waiting for.
# Pending and follow-up runs only for open incidents; a crashed run and an answered approval are carried
# through even when the incident resolved meanwhile (the thread is half-way; a human decided). A new or grown
# incident waits until it has settled (no alert joined for settle_s) so that a storm folds before it is
# investigated, but never longer than settle_max_s (from its opening, or from the end of its last run), so that
# an endless storm still gets investigated and re-investigated. `FOR NO KEY UPDATE` leaves the row to the
# foreign-key checks of alerts being inserted meanwhile.
CLAIM_NEXT = f"""
WITH clock AS MATERIALIZED (
    SELECT {_CLOCK} AS now,
           {_CLOCK} - make_interval(secs => %(settle_s)s) AS settled,
           {_CLOCK} - make_interval(secs => %(settle_max_s)s) AS overdue
),
picked AS (
    SELECT i.id, i.run_state FROM opswd_incidents AS i, clock AS c
    WHERE (i.status = 'open' AND i.run_state = 'pending'
           AND (i.last_alert_at <= c.settled OR i.created_at <= c.overdue))
       OR (i.run_state = 'running' AND i.lease_until < c.now AND i.run_attempts < %(max)s)
       OR (i.status = 'open' AND i.run_state = 'done' AND i.alert_revision > i.run_revision
           AND (i.last_alert_at <= c.settled OR COALESCE(i.run_finished_at, i.created_at) <= c.overdue))
       OR (i.status = 'open' AND i.run_state = 'failed' AND i.alert_revision > i.run_revision
           AND i.run_attempts < %(max)s
           AND (i.last_alert_at <= c.settled OR COALESCE(i.run_finished_at, i.created_at) <= c.overdue))
       OR (i.run_state = 'waiting' AND EXISTS (
              SELECT 1 FROM opswd_approval_answers AS a WHERE a.incident_id = i.id AND a.applied_at IS NULL))
    ORDER BY i.run_state = 'waiting' DESC,
             CASE i.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, i.created_at, i.id
    LIMIT 1
    FOR NO KEY UPDATE OF i SKIP LOCKED
)
UPDATE opswd_incidents AS u
SET run_state = 'running', lease_owner = %(owner)s, lease_until = c.now + make_interval(secs => %(lease_s)s),
    run_revision = u.alert_revision, run_attempts = u.run_attempts + 1, updated_at = c.now
FROM picked AS p, clock AS c
WHERE u.id = p.id
RETURNING u.id, u.thread_id, u.status, u.severity, u.group_key, u.hosts, u.run_revision, u.run_attempts,
          p.run_state AS claimed_from
"""

RENEW_LEASE = """
UPDATE opswd_incidents
SET lease_until = COALESCE(%(now)s::timestamptz, clock_timestamp()) + make_interval(secs => %(lease_s)s),
    updated_at = COALESCE(%(now)s::timestamptz, clock_timestamp())
WHERE id = %(id)s AND lease_owner = %(owner)s AND run_state = 'running'
RETURNING id
"""

FINISH_RUN = """
UPDATE opswd_incidents
SET run_state = %(state)s, outcome = %(outcome)s, last_error = %(error)s, lease_owner = NULL, lease_until = NULL,
    run_attempts = CASE WHEN %(reset)s THEN 0 ELSE run_attempts END, updated_at = clock_timestamp(),
    run_finished_at = clock_timestamp()
WHERE id = %(id)s AND lease_owner = %(owner)s AND run_state = 'running'
RETURNING id
"""

# Wakes every dispatcher LISTENing (delivered at commit): new work may be claimable.
NOTICE_CHANNEL = "opswd_inbox"
NOTIFY_WORK = "SELECT pg_notify('opswd_inbox', %(what)s)"

# --- approval answers and notices ---------------------------------------------------------------------------

ADD_ANSWER = """
INSERT INTO opswd_approval_answers (approval_id, incident_id, thread_id, answer, approver, requested_by, answered_at)
VALUES (%(approval_id)s, %(incident_id)s, %(thread_id)s, %(answer)s, %(approver)s, %(requested_by)s,
        clock_timestamp())
ON CONFLICT (approval_id) DO NOTHING
RETURNING approval_id
"""

ANSWER_APPLIED = """
UPDATE opswd_approval_answers SET applied_at = clock_timestamp()
WHERE approval_id = %(approval_id)s AND applied_at IS NULL
RETURNING approval_id
"""

UNAPPLIED_ANSWERS = """
SELECT * FROM opswd_approval_answers WHERE incident_id = %(id)s AND applied_at IS NULL
ORDER BY answered_at, approval_id
"""

RESOLVED_WITHOUT_NOTICE = """
SELECT * FROM opswd_incidents WHERE status = 'resolved' AND NOT resolved_notice_sent
ORDER BY resolved_at, id LIMIT %(limit)s
"""

NOTICE_SENT = """
UPDATE opswd_incidents SET resolved_notice_sent = true, updated_at = clock_timestamp()
WHERE id = %(id)s AND status = 'resolved' AND NOT resolved_notice_sent
RETURNING id
"""

# --- queries ------------------------------------------------------------------------------------------------

LIST_INCIDENTS = """
SELECT i.*, c.alerts_total, c.alerts_firing FROM opswd_incidents AS i
CROSS JOIN LATERAL (SELECT count(*)::int AS alerts_total,
                           (count(*) FILTER (WHERE a.status = 'firing'))::int AS alerts_firing
                    FROM opswd_alerts AS a WHERE a.incident_id = i.id) AS c
WHERE %(status)s::text IS NULL OR i.status = %(status)s::text
ORDER BY i.last_alert_at DESC, i.id
LIMIT %(limit)s
"""

GET_INCIDENT = "SELECT * FROM opswd_incidents WHERE id = %(id)s"
INCIDENT_BY_THREAD = "SELECT * FROM opswd_incidents WHERE thread_id = %(thread_id)s"

INCIDENT_ALERTS = """
SELECT fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, host, deliveries,
       group_key, received_at
FROM opswd_alerts WHERE incident_id = %(id)s ORDER BY starts_at, fingerprint
"""

INCIDENT_ANSWERS = "SELECT * FROM opswd_approval_answers WHERE incident_id = %(id)s ORDER BY answered_at, approval_id"

COUNT_INCIDENTS = "SELECT status, run_state, count(*)::int AS n FROM opswd_incidents GROUP BY status, run_state"
COUNT_ALERTS = "SELECT status, count(*)::int AS n FROM opswd_alerts GROUP BY status"
COUNT_UNAPPLIED = "SELECT count(*)::int AS n FROM opswd_approval_answers WHERE applied_at IS NULL"
