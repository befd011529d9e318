"""Each source's assets, checks and schedule, run through Dagster's materialize()."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from evermuse_connectors.dagster import load_definitions
from evermuse_connectors.errors import ConfigError
from evermuse_connectors.store import Store
from evermuse_connectors.testing import materialization_metadata as _metadata

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _assets(defs: dg.Definitions) -> list[dg.AssetsDefinition]:
    return [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]


def _resources(defs: dg.Definitions) -> dict[str, Any]:
    return dict(defs.resources or {})


def _materialize(
    defs: dg.Definitions, key: str, *, selection: str | None = None, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        _assets(defs),
        partition_key=key,
        resources=_resources(defs),
        selection=selection,
        run_config=QUIET,
        **kwargs,
    )


def test_every_stage_materialises_one_window(
    example_project: Path, example_fake: Any, emulator: Any
) -> None:
    defs = load_definitions(example_project)
    result = _materialize(defs, "2026-03-08")
    assert result.success
    expected = [
        e for e in example_fake.entries if _day(e["created_at"]) == "2026-03-08"
    ]
    assert expected, "the fake should hold entries on that day"
    assert _metadata(result, "raw")["dagster/row_count"] == len(expected)
    assert _metadata(result, "records")["dagster/row_count"] == len(expected)
    delivery = _metadata(result, "delivery")
    assert delivery["accepted"] == len(expected)
    assert delivery["rejected"] == 0
    assert "idempotency key" in delivery["batch table"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "complete": True,
        "all_items_normalised": True,
        "no_rejected_records": True,
        "attachments_downloaded": True,
    }
    store = Store(str(example_project.parent / "store"))
    assert len(list(store.read("example_acme", "records", "2026-03-08"))) == len(
        expected
    )
    assert emulator.stats()["identities"] == len(expected)


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def test_a_stage_reruns_alone_without_calling_the_source(
    example_project: Path, example_fake: Any
) -> None:
    defs = load_definitions(example_project)
    assert _materialize(defs, "2026-03-07").success
    calls = example_fake.calls
    again = _materialize(defs, "2026-03-07", selection="example_acme/records")
    assert again.success
    assert example_fake.calls == calls
    assert _metadata(again, "records")["dagster/row_count"] > 0


def test_a_rerun_with_no_change_posts_the_same_keys_and_stores_nothing_new(
    example_project: Path, emulator: Any
) -> None:
    defs = load_definitions(example_project)
    first = _materialize(defs, "2026-03-06")
    stored = emulator.stats()
    second = _materialize(defs, "2026-03-06")
    after = emulator.stats()
    assert (
        _metadata(first, "delivery")["batch table"]
        == _metadata(second, "delivery")["batch table"]
    )
    assert after["identities"] == stored["identities"]
    assert after["records_processed"] == stored["records_processed"]
    assert after["idempotent_replays"] == stored["idempotent_replays"] + 1


def test_the_preview_shows_text_but_no_secret(
    example_project: Path, example_fake: Any
) -> None:
    defs = load_definitions(example_project)
    result = _materialize(defs, "2026-03-05")
    preview = _metadata(result, "records")["preview"]
    assert "message" in preview
    events = " ".join(str(e) for e in result.all_events)
    assert example_fake.token not in events
    assert "em_sk_emulator_write" not in events


def test_a_source_api_failure_fails_the_raw_step_and_keeps_old_data(
    example_project: Path, example_fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = load_definitions(example_project)
    assert _materialize(defs, "2026-03-04").success
    store = Store(str(example_project.parent / "store"))
    before = list(store.read("example_acme", "raw", "2026-03-04"))
    monkeypatch.setenv("EXAMPLE_API_TOKEN", "a-wrong-token")
    failed = _materialize(defs, "2026-03-04", raise_on_error=False)
    assert not failed.success
    assert list(store.read("example_acme", "raw", "2026-03-04")) == before


def test_the_schedule_syncs_the_newest_window_and_refreshes_older_ones(
    example_project: Path,
) -> None:
    defs = load_definitions(example_project)
    schedule = defs.resolve_schedule_def("example_acme_schedule")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 3, 10, 0, 15, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests or []
    keys = [r.partition_key for r in requests]
    assert keys == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert [r.tags["evermuse/refresh"] for r in requests] == ["true", "true", "false"]
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_assets_are_keyed_grouped_and_pooled_per_source(example_project: Path) -> None:
    defs = load_definitions(example_project)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"example_acme/raw", "example_acme/records", "example_acme/delivery"}
    raw = graph.get(dg.AssetKey(["example_acme", "raw"]))
    assert raw.group_name == "example_acme"
    assert set(raw.kinds) == {"example", "evermuse"}
    pools = {a.key.path[-1]: a.op.pool for a in _assets(defs)}
    assert pools == {"raw": "example_api", "records": None, "delivery": "evermuse"}
    assert defs.resolve_job_def("example_acme_sync_job") is not None


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(config))
    return file


def _source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "name": "example_x",
        "connector": "example",
        "routing": {"product_id": "p", "project_ids": ["x"]},
        "start": "2026-01-01",
        "settings": {"base_url": "https://feedback.example.com"},
    }
    source.update(overrides)
    return source


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"sources": [_source(windw="day")]}, ["sources.0.windw", "Extra inputs"]),
        (
            {"sources": [_source(routing={"project_ids": ["x"]})]},
            ["routing.product_id"],
        ),
        (
            {"sources": [_source(settings={"base_url": "https://x", "tokn_env": "T"})]},
            ["source example_x", "settings.tokn_env"],
        ),
        (
            {
                "sources": [
                    _source(settings={"base_url": "http://feedback.example.com"})
                ]
            },
            ["source example_x", "settings.base_url", "https"],
        ),
        ({"sources": [_source(connector="slak")]}, ["source example_x", "'slak'"]),
        ({"sources": [_source(name="Bad Name")]}, ["sources.0.name", "lower-case"]),
        ({"sources": [_source(), _source()]}, ["unique", "example_x"]),
    ],
)
def test_a_misconfigured_source_fails_at_load_naming_file_source_and_field(
    tmp_path: Path, config: dict[str, Any], named: list[str]
) -> None:
    file = _write(tmp_path, config)
    with pytest.raises(ConfigError) as caught:
        load_definitions(file)
    message = str(caught.value)
    assert str(file) in message
    for part in named:
        assert part in message, message


def test_a_pasted_secret_is_not_echoed_in_the_load_error(tmp_path: Path) -> None:
    secret = "xoxb-1234-pasted-secret-value"
    file = _write(
        tmp_path,
        {"sources": [_source(settings={"base_url": "https://x", "token_env": secret})]},
    )
    with pytest.raises(ConfigError) as caught:
        load_definitions(file)
    assert "settings.token_env" in str(caught.value)
    assert secret not in str(caught.value)


def test_loading_the_definitions_calls_no_source_api(
    example_project: Path, example_fake: Any, emulator: Any
) -> None:
    load_definitions(example_project)
    assert example_fake.calls == 0
    assert emulator.stats()["ingest_requests"] == 0
