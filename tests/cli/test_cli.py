"""The evermuse-connectors command: send, sync and sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evermuse_connectors.cli import cli
from evermuse_connectors.envelope import Nature, Record, RecordType


def _line(n: int) -> str:
    record = Record(
        type=RecordType.MESSAGE,
        event_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        vendor_ids={"id": f"m-{n}"},
        product_id="prod",
        project_ids=["proj"],
        nature=Nature.EVIDENCE,
        data={"text": f"feedback {n}"},
    )
    return record.to_bytes().decode()


@pytest.fixture
def runner(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("EVERMUSE_API_KEY", "em_sk_emulator_write")
    monkeypatch.setenv("EVERMUSE_BASE_URL", emulator.url)
    return CliRunner()


def test_send_posts_a_file_and_prints_a_summary(
    runner: CliRunner, tmp_path: Path, emulator: Any
) -> None:
    file = tmp_path / "records.ndjson"
    file.write_text("\n".join(_line(n) for n in range(30)) + "\n")
    result = runner.invoke(
        cli, ["send", str(file), "--rejected-out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output
    assert emulator.stats()["identities"] == 30
    assert not (tmp_path / "r").exists()


def test_send_writes_rejections_with_reasons_and_exits_non_zero(
    runner: CliRunner, tmp_path: Path, emulator: Any
) -> None:
    bad = json.loads(_line(99))
    bad["_nature"] = "opinion"
    lines = [_line(1), json.dumps(bad), "{not json", _line(2)]
    rejected = tmp_path / "rejected.ndjson"
    result = runner.invoke(
        cli, ["send", "-", "--rejected-out", str(rejected)], input="\n".join(lines)
    )
    assert result.exit_code == 1, result.output
    assert emulator.stats()["identities"] == 2
    rows = [json.loads(x) for x in rejected.read_text().splitlines()]
    codes = sorted(r["code"] for r in rows)
    assert codes == ["LOCAL_VALIDATION", "NOT_JSON"]
    validation = next(r for r in rows if r["code"] == "LOCAL_VALIDATION")
    assert "_nature" in validation["message"]
    assert validation["record"]["_vendor_ids"] == {"id": "m-99"}


def test_send_dry_run_prints_keys_and_posts_nothing(
    runner: CliRunner, tmp_path: Path, emulator: Any
) -> None:
    file = tmp_path / "records.ndjson"
    file.write_text("\n".join(_line(n) for n in range(5)))
    result = runner.invoke(cli, ["send", str(file), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "emc1-message-5-" in result.output
    assert emulator.stats()["ingest_requests"] == 0


def test_send_without_a_key_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVERMUSE_API_KEY", raising=False)
    file = tmp_path / "records.ndjson"
    file.write_text(_line(1))
    result = CliRunner().invoke(cli, ["send", str(file)])
    assert result.exit_code == 2
    assert "EVERMUSE_API_KEY" in result.output


def test_sync_runs_the_windows_and_lands_the_records(
    runner: CliRunner, example_project: Path, example_fake: Any, emulator: Any
) -> None:
    result = runner.invoke(
        cli, ["sync", "example_acme", "--from", "2026-03-07", "--to", "2026-03-08"]
    )
    assert result.exit_code == 0, result.output
    assert "2026-03-07" in result.output
    assert "2026-03-08" in result.output
    days = {"2026-03-07", "2026-03-08"}
    expected = [
        e
        for e in example_fake.entries
        if datetime.fromtimestamp(e["created_at"], UTC).strftime("%Y-%m-%d") in days
    ]
    assert emulator.stats()["identities"] == len(expected)


def test_sync_dry_run_writes_records_and_posts_nothing(
    runner: CliRunner, example_project: Path, emulator: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out.ndjson"
    result = runner.invoke(
        cli,
        [
            "sync",
            "example_acme",
            "--from",
            "2026-03-08",
            "--to",
            "2026-03-08",
            "--dry-run",
            "--records-out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [Record.from_json(line) for line in out.read_text().splitlines()]
    assert records
    assert {r.product_id for r in records} == {"prod-acme"}
    assert emulator.stats()["ingest_requests"] == 0


def test_sync_of_an_unknown_source_lists_the_known_ones(
    runner: CliRunner, example_project: Path
) -> None:
    result = runner.invoke(
        cli, ["sync", "nope", "--from", "2026-03-08", "--to", "2026-03-08"]
    )
    assert result.exit_code == 2
    assert "example_acme" in result.output


def test_sources_lists_connectors_and_sources(
    runner: CliRunner, example_project: Path
) -> None:
    result = runner.invoke(cli, ["sources"])
    assert result.exit_code == 0, result.output
    assert "example" in result.output
    assert "example_acme" in result.output
    assert "prod-acme" in result.output
