"""The emulator's SQLite file: batches, records by identity, downloads, counters.

One connection is shared by every thread behind one lock. SQLite serialises writers
anyway, and a single connection in WAL mode sustains tens of thousands of upserts a
second, far more than the HTTP layer can feed it; it also means no connection is
left behind by the server's short-lived request threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from evermuse_connectors.emulator._sql import (
    ALL_BATCHES,
    ALL_DOWNLOADS,
    BATCH_BY_ID,
    BATCH_PAGE,
    DOWNLOAD_FIELDS,
    INSERT_DOWNLOAD,
    SCHEMA,
    UPSERT_RECORD,
)
from evermuse_connectors.emulator._validation import AcceptedRecord, AttachmentFetch

__all__ = [
    "OPEN_STATUSES",
    "DownloadJob",
    "DownloadResult",
    "NewBatch",
    "Storage",
    "StoreResult",
]

OPEN_STATUSES = ("LANDING", "LANDED", "PROCESSING")
_NEXT = {"LANDING": "LANDED", "LANDED": "PROCESSING", "PROCESSING": "COMPLETE"}
_COUNTERS = (
    "ingest_requests",
    "records_processed",
    "idempotent_replays",
    "reprocessed_bodies",
    "dropped",
    "errors_500",
    "rate_limited",
)


@dataclass(frozen=True)
class NewBatch:
    """An accepted request, ready to be stored in one transaction."""

    batch_id: str
    idempotency_key: str | None
    body_sha256: str
    type: str | None
    accepted: Sequence[AcceptedRecord]
    rejected: int
    errors: list[dict[str, Any]]
    response: bytes
    created_at_ms: int
    next_step_at: float
    fail: bool


@dataclass(frozen=True)
class StoreResult:
    """``stored`` (new), ``replay`` (same key, same body) or ``reused`` (other body)."""

    kind: Literal["stored", "replay", "reused"]
    response: bytes = b""


@dataclass(frozen=True)
class DownloadJob:
    id: int
    batch_id: str
    url: str = field(repr=False)
    mime_type: str | None
    size: int | None
    sha1: str | None
    md5: str | None


@dataclass(frozen=True)
class DownloadResult:
    ok: bool
    host: str
    reason: str | None = None
    size: int | None = None
    sha1: str | None = None
    sha256: str | None = None
    md5: str | None = None
    content_type: str | None = None


class Storage:
    def __init__(self, path: str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode syncs at checkpoints, not at each commit: a power cut
        # may lose the last commits, never corrupt the file. Enough for an emulator.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- ingest ------------------------------------------------------------------

    def find_key(self, key: str) -> tuple[str, bytes] | None:
        """The body hash and response stored under an idempotency key.

        Keys are kept for good and shared by every API key: the published spec says
        neither how long Evermuse remembers a key nor whether keys are per account,
        so the emulator takes the strictest reading of both.
        """
        rows = self._rows(
            "SELECT body_sha256, response FROM batches WHERE idempotency_key = ?",
            (key,),
        )
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def store_batch(self, batch: NewBatch) -> StoreResult:
        """Check the key and store the batch in one transaction.

        Two concurrent retries of one request both pass the early key check; only
        the first to get here stores, the second sees its key and replays.
        """
        with self._write() as db:
            if batch.idempotency_key is not None:
                hit = db.execute(
                    "SELECT body_sha256, response FROM batches "
                    "WHERE idempotency_key = ?",
                    (batch.idempotency_key,),
                ).fetchone()
                if hit is not None and hit[0] != batch.body_sha256:
                    return StoreResult("reused")
                if hit is not None:
                    _bump(db, "idempotent_replays")
                    return StoreResult("replay", bytes(hit[1]))
            self._insert(db, batch)
        return StoreResult("stored", batch.response)

    def _insert(self, db: sqlite3.Connection, batch: NewBatch) -> None:
        if batch.accepted and _body_seen(db, batch.body_sha256):
            _bump(db, "reprocessed_bodies")
        db.execute(
            "INSERT INTO batches (batch_id, created_at_ms, status, next_step_at, "
            "fail, type, idempotency_key, body_sha256, accepted, rejected, errors, "
            "response, processed) VALUES (?, ?, 'LANDING', ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, 1)",
            (
                batch.batch_id,
                batch.created_at_ms,
                batch.next_step_at,
                int(batch.fail),
                batch.type,
                batch.idempotency_key,
                batch.body_sha256,
                len(batch.accepted),
                batch.rejected,
                orjson.dumps(batch.errors),
                batch.response,
            ),
        )
        db.executemany(
            UPSERT_RECORD,
            [(r.identity, r.type, r.body, batch.batch_id) for r in batch.accepted],
        )
        db.executemany(
            INSERT_DOWNLOAD,
            [
                _download_row(batch.batch_id, record.identity, fetch)
                for record in batch.accepted
                for fetch in record.fetches
            ],
        )
        _bump(db, "records_processed", len(batch.accepted))

    def bump(self, name: str, by: int = 1) -> None:
        with self._write() as db:
            _bump(db, name, by)

    # -- batches -----------------------------------------------------------------

    def batch_status(self, batch_id: str) -> dict[str, Any] | None:
        rows = self._rows(BATCH_BY_ID, (batch_id,))
        return _status(rows[0]) if rows else None

    def list_batches(
        self, limit: int, before_seq: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of batches newest first, and the seq to continue before (or None)."""
        before = before_seq if before_seq is not None else 2**62
        rows = self._rows(BATCH_PAGE, (before, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return [_status(row) for row in rows], (rows[-1][0] if more else None)

    def all_batches(self) -> list[dict[str, Any]]:
        return [_status(row) for row in self._rows(ALL_BATCHES)]

    def advance_due(self, now: float, step_seconds: float) -> list[str]:
        """Move every batch whose step is due one status on; the ids now LANDED."""
        landed = []
        with self._write() as db:
            due = db.execute(
                "SELECT batch_id, status, fail FROM batches "
                "WHERE status IN (?, ?, ?) AND next_step_at <= ? LIMIT 1000",
                (*OPEN_STATUSES, now),
            ).fetchall()
            for batch_id, status, fail in due:
                new = "FAILED" if status == "PROCESSING" and fail else _NEXT[status]
                db.execute(
                    "UPDATE batches SET status = ?, next_step_at = ? "
                    "WHERE batch_id = ?",
                    (new, now + step_seconds, batch_id),
                )
                if new == "LANDED":
                    landed.append(batch_id)
        return landed

    def resume_open_batches(self, now: float, step_seconds: float) -> int:
        """Bring open batches' next step within one step of now; how many are open.

        A batch stored by an earlier run under a slower pace walks on at this run's.
        """
        with self._write() as db:
            cursor = db.execute(
                "UPDATE batches SET next_step_at = MIN(next_step_at, ?) "
                "WHERE status IN (?, ?, ?)",
                (now + step_seconds, *OPEN_STATUSES),
            )
        return cursor.rowcount

    # -- downloads ---------------------------------------------------------------

    def pending_downloads(self, batch_id: str | None = None) -> list[int]:
        """Downloads not started, of landed batches (or of one batch)."""
        if batch_id is not None:
            rows = self._rows(
                "SELECT id FROM downloads WHERE batch_id = ? AND status = 'PENDING' "
                "ORDER BY id",
                (batch_id,),
            )
        else:
            rows = self._rows(
                "SELECT d.id FROM downloads d JOIN batches b USING (batch_id) "
                "WHERE d.status = 'PENDING' AND b.status != 'LANDING' ORDER BY d.id"
            )
        return [row[0] for row in rows]

    def restart_interrupted_downloads(self) -> None:
        # A download cut short by a stop is started again from the beginning.
        with self._write() as db:
            db.execute(
                "UPDATE downloads SET status = 'PENDING' WHERE status = 'IN_PROGRESS'"
            )

    def claim_download(self, download_id: int) -> DownloadJob | None:
        with self._write() as db:
            row = db.execute(
                "SELECT id, batch_id, url, mime_type, declared_size, declared_sha1, "
                "declared_md5 FROM downloads WHERE id = ? AND status = 'PENDING'",
                (download_id,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE downloads SET status = 'IN_PROGRESS' WHERE id = ?",
                (download_id,),
            )
        return DownloadJob(*row)

    def finish_download(self, job: DownloadJob, result: DownloadResult) -> int:
        """Store a result; the number of the batch's downloads still open."""
        with self._write() as db:
            db.execute(
                "UPDATE downloads SET status = ?, host = ?, size = ?, sha1 = ?, "
                "sha256 = ?, md5 = ?, content_type = ?, reason = ? WHERE id = ?",
                (
                    "COMPLETE" if result.ok else "FAILED",
                    result.host,
                    result.size,
                    result.sha1,
                    result.sha256,
                    result.md5,
                    result.content_type,
                    result.reason,
                    job.id,
                ),
            )
            row = db.execute(
                "SELECT COUNT(*) FROM downloads WHERE batch_id = ? "
                "AND status IN ('PENDING', 'IN_PROGRESS')",
                (job.batch_id,),
            ).fetchone()
        return int(row[0])

    def downloads(self) -> list[dict[str, Any]]:
        """Every download's outcome. The URL is left out: it may carry a token."""
        return [
            dict(zip(DOWNLOAD_FIELDS, row, strict=True))
            | {"identity": orjson.loads(row[1])}
            for row in self._rows(ALL_DOWNLOADS)
        ]

    # -- read back ---------------------------------------------------------------

    def open_work(self, *, downloads: bool) -> int:
        """Batches not yet final, plus (if asked) downloads not yet finished."""
        rows = self._rows(
            "SELECT COUNT(*) FROM batches WHERE status IN (?, ?, ?)", OPEN_STATUSES
        )
        total = int(rows[0][0])
        if downloads:
            rows = self._rows(
                "SELECT COUNT(*) FROM downloads "
                "WHERE status IN ('PENDING', 'IN_PROGRESS')"
            )
            total += int(rows[0][0])
        return total

    def records(self, type: str | None = None) -> list[dict[str, Any]]:
        if type is None:
            rows = self._rows("SELECT body FROM records ORDER BY identity")
        else:
            rows = self._rows(
                "SELECT body FROM records WHERE type = ? ORDER BY identity",
                (type.lower(),),
            )
        return [orjson.loads(row[0]) for row in rows]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = dict.fromkeys(_COUNTERS, 0)
            counters.update(self._rows("SELECT name, value FROM counters"))
            identities = self._rows("SELECT COUNT(*) FROM records")[0][0]
            per_batch = self._rows(
                "SELECT batch_id, processed FROM batches ORDER BY seq"
            )
            downloads = self._rows(
                "SELECT status, COUNT(*) FROM downloads GROUP BY status"
            )
        return {
            "identities": identities,
            "batches": len(per_batch),
            **counters,
            "processed_per_batch": dict(per_batch),
            "downloads": dict(downloads),
        }

    def reset(self) -> None:
        with self._write() as db:
            for table in ("batches", "records", "downloads", "counters"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def _bump(db: sqlite3.Connection, name: str, by: int = 1) -> None:
    if by:
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )


def _download_row(
    batch_id: str, identity: str, fetch: AttachmentFetch
) -> tuple[Any, ...]:
    return (
        batch_id,
        identity,
        fetch.position,
        fetch.url,
        fetch.mime_type,
        fetch.size,
        fetch.sha1,
        fetch.md5,
    )


def _body_seen(db: sqlite3.Connection, body_sha256: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM batches WHERE body_sha256 = ? AND accepted > 0 LIMIT 1",
        (body_sha256,),
    ).fetchone()
    return row is not None


def _status(row: Any) -> dict[str, Any]:
    batch_id, created_at_ms, status, type_, accepted, rejected, errors = row[1:8]
    body: dict[str, Any] = {
        "batchId": batch_id,
        "status": status,
        "createdAt": created_at_ms,
        "acceptedCount": accepted,
        "rejectedCount": rejected,
        "totalErrorCount": rejected,
        "errors": orjson.loads(errors),
        "source": "api",
    }
    if type_ is not None:
        body["type"] = type_
    pending, in_progress, complete, failed = row[8:12]
    total = pending + in_progress + complete + failed
    if total:
        body |= _download_fields(total, in_progress, complete, failed)
    return body


def _download_fields(
    total: int, in_progress: int, complete: int, failed: int
) -> dict[str, Any]:
    if complete + failed == total:
        overall = (
            "COMPLETE"
            if not failed
            else "FAILED"
            if not complete
            else "PARTIAL_FAILURE"
        )
    elif complete + failed + in_progress:
        overall = "IN_PROGRESS"
    else:
        overall = "PENDING"
    return {
        "attachmentDownloadTotal": total,
        "attachmentDownloadComplete": complete,
        "attachmentDownloadFailed": failed,
        "attachmentDownloadStatus": overall,
    }
