"""The store: gzip NDJSON per source, stage and window; small JSON state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evermuse_connectors.store import Store


def test_rows_round_trip_and_stream(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    rows = ({"n": n, "text": "é" * n} for n in range(1000))
    assert store.write("src", "raw", "2026-01-01", rows) == 1000
    read = store.read("src", "raw", "2026-01-01")
    assert isinstance(read, Iterator)
    assert [r["n"] for r in read] == list(range(1000))
    assert store.windows("src", "raw") == ["2026-01-01"]


def test_a_window_never_written_reads_as_empty(tmp_path: Path) -> None:
    assert list(Store(str(tmp_path)).read("src", "raw", "2026-01-01")) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    store.write("src", "raw", "w", [{"old": True}])

    def explode() -> Iterator[dict[str, bool]]:
        yield {"new": True}
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError):
        store.write("src", "raw", "w", explode())
    assert list(store.read("src", "raw", "w")) == [{"old": True}]
    leftovers = [p.name for p in (tmp_path / "src" / "raw").iterdir()]
    assert leftovers == ["w.ndjson.gz"]


def test_identical_rows_give_identical_files(tmp_path: Path) -> None:
    one, two = Store(str(tmp_path / "a")), Store(str(tmp_path / "b"))
    one.write("s", "records", "w", [{"a": 1}])
    two.write("s", "records", "w", [{"a": 1}])
    assert (tmp_path / "a/s/records/w.ndjson.gz").read_bytes() == (
        tmp_path / "b/s/records/w.ndjson.gz"
    ).read_bytes()


def test_hourly_keys_and_fsspec_urls_work() -> None:
    store = Store("memory://evermuse-test")
    store.write("src", "raw", "2026-01-01-05:00", [{"x": 1}])
    assert list(store.read("src", "raw", "2026-01-01-05:00")) == [{"x": 1}]
    store.put_state("src", "cursor", {"ts": "1.5"})
    assert store.get_state("src", "cursor") == {"ts": "1.5"}


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        Store(str(tmp_path)).path("../etc", "raw", "w")
