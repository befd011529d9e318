"""A window of a component-declared source, run end to end through Dagster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from evermuse_connectors.store import Store
from evermuse_connectors.testing import materialization_metadata as _metadata

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _of_source(defs: dg.Definitions, source: str) -> list[dg.AssetsDefinition]:
    return [
        a
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition) and a.key.path[0] == source
    ]


def _entries(fake: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
    low, high = start.timestamp(), end.timestamp()
    return [e for e in fake.entries if low <= e["created_at"] < high]


def test_one_daily_window_goes_from_the_fake_to_the_emulator(
    fixture_project: Path, components_env: Path, example_fake: Any, emulator: Any
) -> None:
    defs = dg.load_from_defs_folder(path_within_project=fixture_project)
    result = dg.materialize(
        _of_source(defs, "example_alpha"),
        partition_key="2026-03-08",
        resources=dict(defs.resources or {}),
        run_config=QUIET,
    )
    assert result.success
    expected = _entries(
        example_fake, datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)
    )
    assert expected, "the fake should hold entries on that day"
    assert _metadata(result, "raw")["dagster/row_count"] == len(expected)
    assert _metadata(result, "records")["dagster/row_count"] == len(expected)
    delivery = _metadata(result, "delivery")
    assert delivery["accepted"] == len(expected)
    assert delivery["rejected"] == 0
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "complete": True,
        "all_items_normalised": True,
        "no_rejected_records": True,
        "attachments_downloaded": True,
    }
    # The store is the one the resources component names, the routing the source's.
    records = list(
        Store(str(components_env)).read("example_alpha", "records", "2026-03-08")
    )
    assert len(records) == len(expected)
    assert {r["_product_id"] for r in records} == {"prod-alpha"}
    assert all(r["_tags"] == ["fixture"] for r in records)
    assert emulator.stats()["identities"] == len(expected)


def test_the_generic_component_runs_an_hourly_window_through_its_job(
    fixture_project: Path, components_env: Path, example_fake: Any, emulator: Any
) -> None:
    start = datetime.fromtimestamp(example_fake.entries[-1]["created_at"], UTC).replace(
        minute=0, second=0
    )
    key = start.strftime("%Y-%m-%d-%H:%M")
    expected = _entries(example_fake, start, start + timedelta(hours=1))
    defs = dg.load_from_defs_folder(path_within_project=fixture_project)
    job = defs.resolve_job_def("example_beta_sync_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            partition_key=key, instance=instance, run_config=QUIET
        )
    assert result.success
    delivery = _metadata(result, "delivery")
    assert delivery["accepted"] == len(expected) > 0
    records = list(Store(str(components_env)).read("example_beta", "records", key))
    assert {r["_product_id"] for r in records} == {"prod-beta"}
    assert {r["_nature"] for r in records} == {"context"}
