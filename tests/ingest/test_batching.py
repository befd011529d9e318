"""Deterministic batching: sorted, cut at the limits, identical bytes every time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from evermuse_connectors.envelope import Nature, Record, RecordType
from evermuse_connectors.ingest import Batcher, idempotency_key

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def record(n: int, text: str = "hello") -> Record:
    return Record(
        type=RecordType.MESSAGE,
        event_at=BASE + timedelta(minutes=n),
        vendor_ids={"id": f"m-{n:05d}"},
        product_id="p",
        project_ids=["x"],
        nature=Nature.EVIDENCE,
        data={"text": text},
    )


def _bodies(batcher: Batcher, records: list[Record]) -> list[bytes]:
    return [b.body for b in batcher.batches(records)]


def test_order_of_input_does_not_change_batches() -> None:
    records = [record(n) for n in range(2500)]
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    assert _bodies(Batcher(), records) == _bodies(Batcher(), shuffled)


def test_external_sort_gives_the_same_batches_as_in_memory() -> None:
    records = [record(n, "x" * (n % 50)) for n in range(3000)]
    random.Random(9).shuffle(records)
    in_memory = _bodies(Batcher(), records)
    spilled = Batcher(spill_bytes=20_000)  # forces dozens of sorted runs on disk
    assert _bodies(spilled, records) == in_memory


def test_limits_cut_batches() -> None:
    records = [record(n) for n in range(2500)]
    batches = list(Batcher(max_records=1000).batches(records))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    small = list(Batcher(max_bytes=2048).batches(records[:100]))
    assert all(b.size <= 2048 for b in small)
    assert sum(len(b) for b in small) == 100


def test_exact_duplicates_are_sent_once_and_counted() -> None:
    batcher = Batcher()
    batches = list(batcher.batches([record(1), record(2), record(1)]))
    assert sum(len(b) for b in batches) == 2
    assert batcher.duplicates == 1
    assert batcher.seen == 3


def test_same_identity_different_content_is_kept_and_flagged() -> None:
    batcher = Batcher()
    batches = list(batcher.batches([record(1, "old"), record(1, "new")]))
    assert sum(len(b) for b in batches) == 2
    assert batcher.conflicts == 1


def test_a_record_too_large_for_any_batch_is_refused_alone() -> None:
    batcher = Batcher(max_bytes=4096)
    batches = list(batcher.batches([record(1), record(2, "y" * 5000), record(3)]))
    assert sum(len(b) for b in batches) == 2
    [refused] = batcher.rejections
    assert refused.code == "RECORD_TOO_LARGE"
    assert "m-00002" in (refused.identity or "")


def test_invalid_dicts_are_refused_with_their_position_and_field() -> None:
    good = record(1).to_json()
    bad = {**good, "_nature": "feedback"}
    batcher = Batcher()
    batches = list(batcher.batches([good, bad]))
    assert sum(len(b) for b in batches) == 1
    [refused] = batcher.rejections
    assert refused.position == 1
    assert "_nature" in refused.message


def test_the_key_is_the_hash_of_the_body() -> None:
    [batch] = Batcher().batches([record(1)])
    assert batch.key == idempotency_key(batch.body, "message", 1)
    assert batch.key != idempotency_key(batch.body + b" ", "message", 1)


@pytest.mark.parametrize("bad", [0, 1001])
def test_limits_above_the_spec_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_records"):
        Batcher(max_records=bad)
