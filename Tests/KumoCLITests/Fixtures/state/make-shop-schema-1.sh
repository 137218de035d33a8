#!/usr/bin/env bash
# Makes shop-schema-1.db: the state of examples/shop as a kumo with state schema 1 stored it
# (every release up to 0c5778c; schema 2 came with the runtime in 57d4439). The tables are the
# "v1" migration of Sources/KumoState/StateStore.swift, verbatim (unchanged since 0c5778c), as
# GRDB's migrator records it; the rows are those of ../../../KumoStateTests/Fixtures/state/
# shop-kumo-0.1.0.db (kumo 0.1.0, schema 2), whose v1 columns they fill. Run from this folder.
set -euo pipefail
rm -f shop-schema-1.db
sqlite3 shop-schema-1.db <<'SQL'
PRAGMA journal_mode = wal;
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES ('v1');
CREATE TABLE schema_info (version INTEGER NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO schema_info VALUES (1, '2026-11-20T09:12:44Z');
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    lineage TEXT NOT NULL,
    serial INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE resources (
    address TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    code_hash TEXT,
    secrets TEXT NOT NULL,
    dependencies TEXT NOT NULL,
    status TEXT NOT NULL,
    applied_serial INTEGER NOT NULL
);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT NOT NULL,
    plan_hash TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT NOT NULL,
    serial_before INTEGER NOT NULL,
    serial_after INTEGER
);
CREATE TABLE timings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    journal_id INTEGER REFERENCES journal(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    wave INTEGER NOT NULL,
    wave_size INTEGER NOT NULL,
    parallelism INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX timings_kind ON timings(kind, action);
CREATE TABLE lock (
    single INTEGER PRIMARY KEY CHECK (single = 1),
    id TEXT NOT NULL,
    operation TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    user TEXT NOT NULL,
    since TEXT NOT NULL
);
ATTACH '../../../KumoStateTests/Fixtures/state/shop-kumo-0.1.0.db' AS old;
INSERT INTO meta SELECT * FROM old.meta;
INSERT INTO resources SELECT * FROM old.resources;
INSERT INTO journal SELECT * FROM old.journal;
INSERT INTO timings (id, journal_id, address, kind, action, duration_ms, wave, wave_size, parallelism, recorded_at)
    SELECT id, journal_id, address, kind, action, duration_ms, wave, wave_size, parallelism, recorded_at FROM old.timings;
DETACH old;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
