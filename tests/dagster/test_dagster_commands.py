"""The definitions through the ``dagster`` command line, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg

REPO = Path(__file__).resolve().parents[2]
DAGSTER = [sys.executable, "-m", "dagster"]


def _run(args: list[str], *, env: dict[str, str], timeout: int = 240) -> str:
    done = subprocess.run(
        [*DAGSTER, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    # Runs start straight away in their own processes (no daemon needed for a test).
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n"
        "  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    return home


def test_definitions_validate_with_the_example_sources_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EVERMUSE_CONFIG": str(REPO / "examples" / "evermuse.yaml"),
        "DAGSTER_HOME": str(_home(tmp_path)),
    }
    output = _run(["definitions", "validate", "-w", "workspace.yaml"], env=env)
    assert "Validation successful" in output or "success" in output.lower()


def test_a_backfill_of_three_windows_runs_one_run_per_window(
    tmp_path: Path, example_project: Path, emulator: Any, example_fake: Any
) -> None:
    home = _home(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    _run(
        [
            "job",
            "backfill",
            "-w",
            "workspace.yaml",
            "-l",
            "evermuse",
            "-j",
            "example_acme_sync_job",
            "--from",
            "2026-03-05",
            "--to",
            "2026-03-07",
            "--noprompt",
        ],
        env=env,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            runs = instance.get_runs()
            if len(runs) == 3 and all(r.is_finished for r in runs):
                break
            time.sleep(0.5)
        runs = instance.get_runs()
        statuses = sorted(r.status.value for r in runs)
        partitions = sorted(r.tags.get("dagster/partition", "") for r in runs)
    assert partitions == ["2026-03-05", "2026-03-06", "2026-03-07"]
    assert statuses == ["SUCCESS"] * 3
    days = {"2026-03-05", "2026-03-06", "2026-03-07"}
    expected = [
        e
        for e in example_fake.entries
        if time.strftime("%Y-%m-%d", time.gmtime(e["created_at"])) in days
    ]
    assert emulator.stats()["identities"] == len(expected)


def test_the_example_instance_configuration_is_valid(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(
        (REPO / "examples" / "dagster.yaml").read_text()
    )
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_retries_enabled
