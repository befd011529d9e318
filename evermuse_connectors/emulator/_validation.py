"""What the ingest endpoint checks: the body's shape, the batch, each record.

The batch-level rules (one ``_type``, one ``_product_id``, 1 to 1,000 records) refuse
the whole request with 400; a record that breaks the envelope is rejected alone and
listed in the 202 answer, as Evermuse's Data Lake page describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from evermuse_connectors.emulator._errors import ApiError
from evermuse_connectors.envelope import Record, ValidationError, describe_errors
from evermuse_connectors.errors import shorten

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ERRORS_LISTED",
    "MAX_RECORDS",
    "AcceptedRecord",
    "AttachmentFetch",
    "Outcome",
    "check_batch",
    "parse_body",
    "validate_records",
]

MAX_BODY_BYTES = 5_000_000
MAX_RECORDS = 1000
MAX_ERRORS_LISTED = 20
_MAX_MESSAGE = 2048
_JSON = "application/json"
_NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class AttachmentFetch:
    """One ``vendor_url`` to download after the batch lands, and what it claims."""

    position: int
    url: str = field(repr=False)
    mime_type: str | None
    size: int | None
    sha1: str | None
    md5: str | None


@dataclass(frozen=True)
class AcceptedRecord:
    identity: str
    type: str
    body: bytes = field(repr=False)
    fetches: tuple[AttachmentFetch, ...] = ()


@dataclass
class Outcome:
    """The verdict on every record of one request."""

    accepted: list[AcceptedRecord] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0


def parse_body(content_type: str | None, body: bytes) -> list[Any]:
    """The request's records, from any of the body shapes the documentation shows."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == _JSON:
        return _parse_json(body)
    if media_type == _NDJSON:
        return _parse_ndjson(body)
    raise ApiError(
        400,
        "unsupported_content_type",
        f"Content-Type must be {_JSON} or {_NDJSON}, got "
        f"{shorten(content_type or '(none)', 100)}: send records as a JSON array, "
        '{"records": [...]}, or one JSON object per line',
    )


def _parse_json(body: bytes) -> list[Any]:
    # orjson refuses integers past 64 bits and unpaired surrogate escapes ("\ud800")
    # that a JavaScript server would take: such bodies get 400 here.
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"the body is not valid UTF-8 JSON ({exc}): send a JSON array of "
            'records, {"records": [...]}, or a single record object',
        ) from exc
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and "records" in value:
        return _unwrap(value)
    if isinstance(value, dict):
        # The documentation pages show a bare record object being accepted too.
        return [value]
    raise ApiError(
        400,
        "invalid_body",
        f"expected a JSON array or object, got {type(value).__name__} "
        f"{shorten(value, 60)}: wrap the records in an array",
    )


def _unwrap(value: dict[str, Any]) -> list[Any]:
    extra = sorted(key for key in value if key != "records")
    if extra:
        raise ApiError(
            400,
            "invalid_body",
            f'the {{"records": [...]}} wrapper allows no other key, got '
            f"{shorten(extra, 100)}: move them into the records or drop them",
        )
    records = value["records"]
    if not isinstance(records, list):
        raise ApiError(
            400,
            "invalid_body",
            f'"records" must be an array, got {type(records).__name__}: '
            'send {"records": [{...}, {...}]}',
        )
    return records


def _parse_ndjson(body: bytes) -> list[Any]:
    records = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                400,
                "invalid_json",
                f"line {number} of the NDJSON body is not valid UTF-8 JSON ({exc}): "
                "send one complete JSON object per line",
                details={"line": number},
            ) from exc
    return records


def check_batch(records: list[Any]) -> str | None:
    """The batch's ``_type`` (if any record names one), or 400 for a wrong batch."""
    if not records:
        raise ApiError(
            400,
            "empty_batch",
            "the request holds no records: send between 1 and 1000",
        )
    if len(records) > MAX_RECORDS:
        raise ApiError(
            400,
            "too_many_records",
            f"a batch holds at most {MAX_RECORDS} records, got {len(records)}: "
            "split it into several requests",
            details={"limit": MAX_RECORDS, "received": len(records)},
        )
    # The type is compared lower-cased because Evermuse lower-cases it on arrival.
    types = _distinct(records, "_type", lower=True)
    products = _distinct(records, "_product_id", lower=False)
    _refuse_mixed("_type", "mixed_type", types)
    _refuse_mixed("_product_id", "mixed_product_id", products)
    return next(iter(types), None)


def _distinct(records: Iterable[Any], key: str, *, lower: bool) -> list[str]:
    # Records with a missing or non-string value are left to per-record validation.
    seen: dict[str, None] = {}
    for record in records:
        value = record.get(key) if isinstance(record, dict) else None
        if isinstance(value, str):
            seen[value.lower() if lower else value] = None
    return list(seen)


def _refuse_mixed(key: str, code: str, values: list[str]) -> None:
    if len(values) > 1:
        raise ApiError(
            400,
            code,
            f"all records of a batch must share one {key}, got {len(values)}: "
            f"{shorten(values[:5], 200)}; send one request per {key}",
            details={"values": values[:20]},
        )


def validate_records(records: list[Any]) -> Outcome:
    """Each record through the envelope models; the valid ones, normalised."""
    outcome = Outcome()
    for index, value in enumerate(records):
        try:
            outcome.accepted.append(_accept(value))
        except ValidationError as exc:
            outcome.rejected += 1
            if len(outcome.errors) < MAX_ERRORS_LISTED:
                outcome.errors.append(_record_error(index, exc))
    return outcome


def _accept(value: Any) -> AcceptedRecord:
    # Strict, from JSON text, by the _ names only: see Record.from_json.
    record = Record.from_json(value)
    event_at = record.event_at_text
    # Evermuse normalises on arrival: _type lower-cased, _event_at cut to the second.
    stored = {**value, "_type": record.type.value, "_event_at": event_at}
    identity = orjson.dumps(
        [record.type.value, record.vendor_ids, event_at], option=orjson.OPT_SORT_KEYS
    ).decode()
    return AcceptedRecord(
        identity=identity,
        type=record.type.value,
        body=orjson.dumps(stored),
        fetches=_fetches(record),
    )


def _fetches(record: Record) -> tuple[AttachmentFetch, ...]:
    return tuple(
        AttachmentFetch(
            position=position,
            url=attachment.vendor_url,
            mime_type=attachment.mime_type,
            size=attachment.size,
            sha1=attachment.sha1,
            md5=attachment.md5,
        )
        for position, attachment in enumerate(record.attachments or ())
        if attachment.vendor_url is not None
    )


def _record_error(index: int, exc: ValidationError) -> dict[str, Any]:
    message = "; ".join(describe_errors(exc)) or "the record is not a valid envelope"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return {"index": index, "code": "VALIDATION_ERROR", "message": message}
