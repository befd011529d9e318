"""The SQL of the emulator's file: its tables and the statements used often."""

from __future__ import annotations

__all__ = [
    "ALL_BATCHES",
    "ALL_DOWNLOADS",
    "BATCH_BY_ID",
    "BATCH_PAGE",
    "DOWNLOAD_FIELDS",
    "INSERT_DOWNLOAD",
    "SCHEMA",
    "UPSERT_RECORD",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    next_step_at REAL NOT NULL,
    fail INTEGER NOT NULL,
    type TEXT,
    idempotency_key TEXT UNIQUE,
    body_sha256 TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    errors BLOB NOT NULL,
    response BLOB NOT NULL,
    processed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_status ON batches (status, next_step_at);
CREATE INDEX IF NOT EXISTS batches_by_body ON batches (body_sha256);
CREATE TABLE IF NOT EXISTS records (
    identity TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    batch_id TEXT NOT NULL,
    versions INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_type ON records (type);
-- AUTOINCREMENT: ids still queued from before a reset must not name new rows.
CREATE TABLE IF NOT EXISTS downloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL,
    identity TEXT NOT NULL,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    mime_type TEXT,
    declared_size INTEGER,
    declared_sha1 TEXT,
    declared_md5 TEXT,
    status TEXT NOT NULL,
    host TEXT,
    size INTEGER,
    sha1 TEXT,
    sha256 TEXT,
    md5 TEXT,
    content_type TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS downloads_by_batch ON downloads (batch_id, status);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

UPSERT_RECORD = """
INSERT INTO records (identity, type, body, batch_id, versions) VALUES (?, ?, ?, ?, 1)
ON CONFLICT (identity) DO UPDATE SET
    body = excluded.body, batch_id = excluded.batch_id, versions = versions + 1
"""
INSERT_DOWNLOAD = """
INSERT INTO downloads (batch_id, identity, position, url, mime_type, declared_size,
    declared_sha1, declared_md5, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PENDING')
"""
# The download counts ride along as correlated subqueries on (batch_id, status).
SELECT_BATCH = """
SELECT b.seq, b.batch_id, b.created_at_ms, b.status, b.type, b.accepted, b.rejected,
    b.errors,
    (SELECT COUNT(*) FROM downloads d
        WHERE d.batch_id = b.batch_id AND d.status = 'PENDING'),
    (SELECT COUNT(*) FROM downloads d
        WHERE d.batch_id = b.batch_id AND d.status = 'IN_PROGRESS'),
    (SELECT COUNT(*) FROM downloads d
        WHERE d.batch_id = b.batch_id AND d.status = 'COMPLETE'),
    (SELECT COUNT(*) FROM downloads d
        WHERE d.batch_id = b.batch_id AND d.status = 'FAILED')
FROM batches b
"""
BATCH_BY_ID = SELECT_BATCH + "WHERE b.batch_id = ?"
BATCH_PAGE = SELECT_BATCH + "WHERE b.seq < ? ORDER BY b.seq DESC LIMIT ?"
ALL_BATCHES = SELECT_BATCH + "ORDER BY b.seq DESC"
DOWNLOAD_FIELDS = (
    "batch_id",
    "identity",
    "position",
    "status",
    "host",
    "size",
    "sha1",
    "sha256",
    "md5",
    "content_type",
    "reason",
    "mime_type",
)
ALL_DOWNLOADS = """
SELECT batch_id, identity, position, status, host, size, sha1, sha256, md5,
    content_type, reason, mime_type
FROM downloads ORDER BY id
"""
