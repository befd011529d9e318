"""The fixture project through the command lines a user runs against it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent / "fixture_project"
DG = Path(sys.executable).parent / "dg"
DAGSTER = [sys.executable, "-m", "dagster"]


def _run(
    command: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        "DAGSTER_HOME": str(home),
        "EXAMPLE_FAKE_URL": "http://127.0.0.1:9",  # loading calls no API
        "EVERMUSE_FIXTURE_STORE": str(tmp_path / "store"),
    }


@pytest.mark.slow
def test_the_project_validates_as_a_code_location(tmp_path: Path) -> None:
    done = _run(
        [*DAGSTER, "definitions", "validate", "-w", "workspace.yaml"],
        _env(tmp_path),
        PROJECT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Validation successful for code location evermuse_fixture" in output
    # workspace.yaml's location_name matches code_location_name, so the warning
    # about component discovery under another name stays away.
    assert "does not match the name" not in output


def _dg_or_skip() -> Path:
    if not DG.exists():
        pytest.skip(
            f"the dg command is not installed in this environment ({DG} is missing; "
            "it comes with the dagster-dg-cli package, not a dependency here)"
        )
    return DG


@pytest.mark.slow
def test_dg_lists_the_source_component_types(tmp_path: Path) -> None:
    dg = _dg_or_skip()
    done = _run([str(dg), "list", "components", "--json"], _env(tmp_path), PROJECT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    listing = json.loads(done.stdout[done.stdout.index('{"items"') :])
    keys = {item["key"] for item in listing["items"]}
    for name in ("EvermuseResources", "EvermuseSource", "ExampleSource"):
        assert f"evermuse_connectors.components.{name}" in keys


@pytest.mark.slow
def test_dg_checks_the_yaml_and_names_a_typo(tmp_path: Path) -> None:
    dg = _dg_or_skip()
    env = _env(tmp_path)
    done = _run([str(dg), "check", "yaml"], env, PROJECT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    broken = tmp_path / "project"
    shutil.copytree(PROJECT, broken)
    file = broken / "evermuse_fixture" / "defs" / "example_beta" / "defs.yaml"
    file.write_text(file.read_text().replace("  window: hour", "  windw: hour"))
    done = _run([str(dg), "check", "yaml"], env, broken)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "windw" in output, output[-3000:]
    assert "example_beta" in output, output[-3000:]
