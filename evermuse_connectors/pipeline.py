"""The three stages of one source and one window: extract, normalise, deliver.

Each stage reads what the stage before it stored and stores its own output, so each
can be re-run alone: a normaliser fix re-normalises stored raw items without calling
the source API again; a failed delivery re-sends stored records. The Dagster assets
and the ``evermuse-connectors sync`` command both run exactly these functions.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from evermuse_connectors.attachments import build_store
from evermuse_connectors.connector import (
    Completeness,
    ExtractContext,
    ExtractStats,
    NormaliseContext,
    RawItem,
    Window,
)
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.envelope import Record
from evermuse_connectors.ingest import Batcher, EvermuseClient, SendSummary
from evermuse_connectors.sources import Source
from evermuse_connectors.store import Store

__all__ = [
    "DeliveryReport",
    "ExtractReport",
    "NormaliseReport",
    "deliver_window",
    "extract_window",
    "normalise_window",
]

logger = logging.getLogger(__name__)
PREVIEW_ROWS = 10


def _state_name(stage: str, window: Window) -> str:
    return f"{stage}-{window.key.replace(':', '')}"


@dataclass
class ExtractReport:
    window: str
    items: int
    kinds: dict[str, int]
    stats: ExtractStats
    completeness: Completeness | None
    seconds: float


@dataclass
class NormaliseReport:
    window: str
    items: int
    records: int
    by_type: dict[str, int]
    failures: list[NormaliseFailure]
    preview: list[Record]
    attachments: int


@dataclass
class DeliveryReport:
    window: str
    summary: SendSummary
    dry_run: bool = False
    planned: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def attachments_total(self) -> int:
        return sum(
            int(s.get("attachmentDownloadTotal", 0)) for s in self.statuses.values()
        )

    @property
    def attachments_downloaded(self) -> int:
        return sum(
            int(s.get("attachmentDownloadComplete", 0)) for s in self.statuses.values()
        )

    @property
    def attachments_failed(self) -> int:
        return sum(
            int(s.get("attachmentDownloadFailed", 0)) for s in self.statuses.values()
        )


def raw_items(store: Store, source: str, window: Window) -> Iterator[RawItem]:
    for row in store.read(source, "raw", window.key):
        yield RawItem.from_json(row)


def extract_window(
    source: Source,
    window: Window,
    store: Store,
    *,
    environ: Mapping[str, str] | None = None,
) -> ExtractReport:
    """Stream the source's raw items for ``window`` into the store."""
    started = time.monotonic()
    files = (
        build_store(source.attachments, environ=environ) if source.attachments else None
    )
    ctx = ExtractContext(
        source=source.name,
        window=window,
        store=store,
        environ=environ,
        attachments=files,
        attachment_policy=source.spec.attachment_policy,
    )
    kinds: Counter[str] = Counter()

    def rows() -> Iterator[bytes]:
        for item in source.connector.extract(source.config, ctx):
            kinds[item.kind] += 1
            yield orjson.dumps(item.to_json())

    try:
        count = store.write_bytes(source.name, "raw", window.key, rows())
    finally:
        ctx.close()
        if files is not None:
            files.close()
    store.put_state(source.name, _state_name("extract", window), ctx.stats.to_json())
    completeness = source.connector.completeness(
        raw_items(store, source.name, window), ctx.stats
    )
    logger.info("%s %s: extracted %d raw items", source.name, window.key, count)
    return ExtractReport(
        window.key,
        count,
        dict(kinds),
        ctx.stats,
        completeness,
        time.monotonic() - started,
    )


def normalise_window(source: Source, window: Window, store: Store) -> NormaliseReport:
    """Turn the window's stored raw items into stored records, item by item."""
    ctx = NormaliseContext(source.name, source.spec.routing)
    failures: list[NormaliseFailure] = []
    by_type: Counter[str] = Counter()
    preview: list[Record] = []
    seen = Counter[str]()

    def items() -> Iterator[RawItem]:
        for item in raw_items(store, source.name, window):
            seen["items"] += 1
            yield item

    def rows() -> Iterator[bytes]:
        outputs = normalise_items(source.connector, source.config, items(), ctx)
        for out in outputs:
            if isinstance(out, NormaliseFailure):
                failures.append(out)
                continue
            by_type[out.type.value] += 1
            seen["attachments"] += len(out.attachments or ())
            if len(preview) < PREVIEW_ROWS:
                preview.append(out)
            yield out.to_bytes()

    count = store.write_bytes(source.name, "records", window.key, rows())
    store.write(source.name, "failures", window.key, (f.to_json() for f in failures))
    logger.info(
        "%s %s: %d records from %d raw items, %d not normalised",
        source.name,
        window.key,
        count,
        seen["items"],
        len(failures),
    )
    return NormaliseReport(
        window.key,
        seen["items"],
        count,
        dict(by_type),
        failures,
        preview,
        seen["attachments"],
    )


def stored_records(store: Store, source: str, window: Window) -> Iterator[bytes]:
    """The window's stored records, each one JSON object as bytes."""
    yield from store.read_bytes(source, "records", window.key)


def deliver_window(
    source: Source,
    window: Window,
    store: Store,
    client: EvermuseClient | None,
    *,
    dry_run: bool = False,
    wait_for_attachments: float = 0.0,
) -> DeliveryReport:
    """Send the window's stored records; keep a ledger of batches and rejections.

    With ``dry_run`` (or no client) nothing is posted: the report lists the batches
    and keys a real run would send.
    """
    records = stored_records(store, source.name, window)
    if dry_run or client is None:
        return _plan(window, records)
    summary = client.send(records)
    store.write(
        source.name, "delivery", window.key, (b.to_json() for b in summary.batches)
    )
    store.write(
        source.name,
        "rejections",
        window.key,
        _rejection_rows(summary),
    )
    report = DeliveryReport(window.key, summary)
    if wait_for_attachments > 0 and summary.batches:
        report.statuses = client.wait_until_done(
            [b.batch_id for b in summary.batches], timeout=wait_for_attachments
        )
    return report


def _rejection_rows(summary: SendSummary) -> Iterator[dict[str, Any]]:
    for rejection in summary.rejections:
        row = rejection.to_json()
        row["record"] = orjson.loads(rejection.record) if rejection.record else None
        yield row
    for local in summary.local_rejections:
        row = local.to_json()
        row["record"] = orjson.loads(local.record) if local.record else None
        yield row


def _plan(window: Window, records: Iterator[bytes]) -> DeliveryReport:
    batcher = Batcher()
    planned = [
        {"key": b.key, "type": b.record_type, "records": len(b), "bytes": b.size}
        for b in batcher.batches(records)
    ]
    summary = SendSummary(
        local_rejections=list(batcher.rejections),
        duplicates=batcher.duplicates,
        conflicts=batcher.conflicts,
        received=batcher.seen,
    )
    return DeliveryReport(window.key, summary, dry_run=True, planned=planned)
