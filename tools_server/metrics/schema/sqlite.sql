-- OpsWatchdog metrics store, SQLite: the reference schema's columns with SQLite types. Created on demand.
-- Datetimes are TEXT 'YYYY-MM-DD HH:MM:SS', naive local time (the store's timezone setting), so they sort.

CREATE TABLE IF NOT EXISTS howso_server_performance_metrics (
    id                 TEXT    NOT NULL PRIMARY KEY,
    ip                 TEXT    NOT NULL,
    collect_time       TEXT    NOT NULL,
    cpu_usage          REAL,
    cpu_status         TEXT,
    memory_usage       REAL,
    memory_status      TEXT,
    disk_usage         REAL,
    disk_status        TEXT,
    network_status     TEXT,
    packet_loss_status TEXT,
    user_load_status   TEXT,
    bk_cloud_id        INTEGER,
    insert_time        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_metrics_ip_collect_time ON howso_server_performance_metrics (ip, collect_time);
CREATE INDEX IF NOT EXISTS idx_metrics_collect_time ON howso_server_performance_metrics (collect_time);

CREATE TABLE IF NOT EXISTS plat_service_monitoring (
    id             TEXT    NOT NULL PRIMARY KEY,
    batch_id       TEXT,
    platform       TEXT,
    server_name    TEXT,
    server_ip      TEXT    NOT NULL,
    service_name   TEXT    NOT NULL,
    service_id     TEXT,
    port           INTEGER,
    status         TEXT,
    process_status TEXT,
    response_time  TEXT,
    start_cmd      TEXT,
    stop_cmd       TEXT,
    insert_time    TEXT    NOT NULL,
    local_ip       TEXT,
    hostname       TEXT,
    os_type        TEXT
);
CREATE INDEX IF NOT EXISTS idx_services_insert_time ON plat_service_monitoring (insert_time);
CREATE INDEX IF NOT EXISTS idx_services_ip_insert_time ON plat_service_monitoring (server_ip, insert_time);

CREATE TABLE IF NOT EXISTS power_monitoring_avg_data (
    id                        TEXT NOT NULL PRIMARY KEY,
    room                      TEXT,
    battery_capacity          REAL,
    battery_status            TEXT,
    ups_supply_time           REAL,
    avg_input_voltage         REAL,
    avg_input_voltage_status  TEXT,
    avg_output_voltage        REAL,
    avg_output_voltage_status TEXT,
    avg_input_current         REAL,
    avg_input_current_status  TEXT,
    avg_output_current        REAL,
    avg_output_current_status TEXT,
    avg_temperature           REAL,
    avg_temperature_status    TEXT,
    avg_humidity              REAL,
    avg_humidity_status       TEXT,
    inspection_time           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_power_inspection_time ON power_monitoring_avg_data (inspection_time);

CREATE TABLE IF NOT EXISTS nas_pools_detail (
    id                   TEXT NOT NULL PRIMARY KEY,
    server_name          TEXT,
    pool_name            TEXT NOT NULL,
    used_space           REAL,
    used_space_unit      TEXT,
    available_space      REAL,
    available_space_unit TEXT,
    usage_percentage     REAL,
    status               TEXT,
    inspection_date      TEXT NOT NULL,
    inspection_time      TEXT
);
CREATE INDEX IF NOT EXISTS idx_nas_inspection_date ON nas_pools_detail (inspection_date);

CREATE TABLE IF NOT EXISTS operation_analysis_summary (
    id                   TEXT NOT NULL PRIMARY KEY,
    report_date          TEXT NOT NULL,
    report_type          TEXT NOT NULL,
    operation_daily      TEXT,
    exception_analysis   TEXT,
    exception_data       TEXT,
    risk_prediction      TEXT,
    operation_suggestion TEXT,
    key_focus            TEXT,
    moderate_focus       TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_summary_report_date_type ON operation_analysis_summary (report_date, report_type);
