"""What a person reads in the Dagster UI: counts, previews, batches, rejections.

Nothing here prints a setting, a resource or an attachment URL: records are shown by
identity and a text snippet, and URL-looking strings are never used as snippets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from evermuse_connectors.connector import ExtractStats
from evermuse_connectors.connector._normalise import NormaliseFailure
from evermuse_connectors.envelope import Record
from evermuse_connectors.ingest import BatchResult, SendSummary

__all__ = [
    "delivery_metadata",
    "extract_metadata",
    "markdown_table",
    "records_metadata",
    "snippet",
]

_MAX_ROWS = 25


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(data: Any, limit: int = 80) -> str:
    """The first readable text in a record's data, cut short."""
    stack = [data]
    while stack:
        value = stack.pop(0)
        if isinstance(value, str):
            if len(value) >= 3 and "://" not in value:
                return _cut(value, limit)
        elif isinstance(value, dict):
            for key in ("subject", "topic", "text", "body", "title"):
                if isinstance(value.get(key), str) and "://" not in value[key]:
                    return _cut(value[key], limit)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value[:5])
    return ""


def markdown_table(rows: Sequence[dict[str, Any]], *, empty: str = "(none)") -> str:
    if not rows:
        return empty
    frame = pd.DataFrame(list(rows)[:_MAX_ROWS])
    text = str(frame.to_markdown(index=False))
    if len(rows) > _MAX_ROWS:
        text += f"\n\n… and {len(rows) - _MAX_ROWS} more"
    return text


def extract_metadata(
    items: int, kinds: dict[str, int], stats: ExtractStats
) -> dict[str, Any]:
    skipped = [
        {"item": s.item_id, "reason": _cut(s.reason, 120)} for s in stats.skipped
    ]
    return {
        "dagster/row_count": dg.MetadataValue.int(items),
        "raw items by kind": dg.MetadataValue.json(dict(sorted(kinds.items()))),
        "api calls": dg.MetadataValue.int(sum(stats.calls.values())),
        "api calls by method": dg.MetadataValue.json(dict(sorted(stats.calls.items()))),
        "skipped": dg.MetadataValue.int(len(skipped)),
        "skipped items": dg.MetadataValue.md(markdown_table(skipped)),
        "source reports": dg.MetadataValue.json(dict(sorted(stats.expected.items()))),
        **({"notes": dg.MetadataValue.json(stats.notes)} if stats.notes else {}),
    }


def _preview_row(record: Record) -> dict[str, Any]:
    return {
        "type": record.type.value,
        "vendor ids": ", ".join(
            f"{k}={v}" for k, v in sorted(record.vendor_ids.items())
        ),
        "event at": record.event_at_text,
        "participants": len(record.participants or ()),
        "attachments": len(record.attachments or ()),
        "text": snippet(record.data),
    }


def records_metadata(
    items: int,
    records: int,
    by_type: dict[str, int],
    failures: Iterable[NormaliseFailure],
    preview: Iterable[Record],
    attachments: int,
) -> dict[str, Any]:
    failed = [
        {"raw item": f.item_id, "kind": f.kind, "error": _cut(f.error, 160)}
        for f in failures
    ]
    return {
        "dagster/row_count": dg.MetadataValue.int(records),
        "raw items read": dg.MetadataValue.int(items),
        "records by type": dg.MetadataValue.json(dict(sorted(by_type.items()))),
        "attachments referenced": dg.MetadataValue.int(attachments),
        "not normalised": dg.MetadataValue.int(len(failed)),
        "not normalised items": dg.MetadataValue.md(markdown_table(failed)),
        "preview": dg.MetadataValue.md(
            markdown_table([_preview_row(r) for r in preview])
        ),
    }


def _batch_row(batch: BatchResult) -> dict[str, Any]:
    return {
        "batch id": batch.batch_id,
        "type": batch.record_type,
        "records": batch.records,
        "accepted": batch.accepted,
        "rejected": batch.rejected,
        "attempts": batch.attempts,
        "idempotency key": batch.key,
    }


def delivery_metadata(summary: SendSummary) -> dict[str, Any]:
    rejections = [
        {
            "identity": r.identity or "(not named by Evermuse)",
            "code": r.code,
            "reason": _cut(r.message, 200),
        }
        for r in summary.rejections
    ] + [
        {
            "identity": r.identity or f"input #{r.position}",
            "code": r.code,
            "reason": _cut(r.message, 200),
        }
        for r in summary.local_rejections
    ]
    return {
        "dagster/row_count": dg.MetadataValue.int(summary.sent),
        "batches": dg.MetadataValue.int(len(summary.batches)),
        "accepted": dg.MetadataValue.int(summary.accepted),
        "rejected": dg.MetadataValue.int(summary.rejected),
        "refused before sending": dg.MetadataValue.int(summary.refused),
        "duplicates sent once": dg.MetadataValue.int(summary.duplicates),
        "retries": dg.MetadataValue.int(sum(b.attempts - 1 for b in summary.batches)),
        "batch ids": dg.MetadataValue.json([b.batch_id for b in summary.batches][:200]),
        "batch table": dg.MetadataValue.md(
            markdown_table([_batch_row(b) for b in summary.batches])
        ),
        "rejections": dg.MetadataValue.md(markdown_table(rejections)),
    }
