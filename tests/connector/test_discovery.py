"""Plugins are found through entry points, from packages outside this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evermuse_connectors.connector import discover_connectors
from evermuse_connectors.testing import install_fake_distribution

PLUGIN = """
from datetime import datetime
from pydantic import BaseModel
from evermuse_connectors.connector import Connector
from evermuse_connectors.envelope import RecordType


class Settings(BaseModel):
    pass


class Outside(Connector[Settings]):
    name = "outside"
    config_model = Settings
    record_types = (RecordType.DOCUMENT,)

    def extract(self, config, ctx):
        return iter(())

    def normalise(self, item, config, ctx):
        return []

    def fake_source(self, *, seed: int, now: datetime):
        raise NotImplementedError("this test plugin has no fake")
"""


def _discover_in_subprocess(site: Path) -> dict[str, object]:
    script = (
        "import json; from evermuse_connectors.connector import discover_connectors; "
        "d = discover_connectors(); "
        "print(json.dumps({'loaded': sorted(d.connectors), 'failures': d.failures, "
        "'dists': d.distributions}))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_package_installed_outside_the_repo_adds_a_connector(tmp_path: Path) -> None:
    install_fake_distribution(
        tmp_path,
        "outside_plugin",
        "outside_plugin",
        PLUGIN,
        "outside = outside_plugin:Outside",
    )
    found = _discover_in_subprocess(tmp_path)
    assert "outside" in found["loaded"]  # type: ignore[operator]
    assert found["dists"]["outside"] == "outside_plugin"  # type: ignore[index]
    # The repository's own plugins load the same way, side by side.
    assert "example" in found["loaded"]  # type: ignore[operator]


def test_a_broken_plugin_is_reported_by_name_and_the_others_still_load(
    tmp_path: Path,
) -> None:
    install_fake_distribution(
        tmp_path,
        "broken_plugin",
        "broken_plugin",
        "import not_a_module_anywhere\n",
        "broken = broken_plugin:Whatever",
    )
    install_fake_distribution(
        tmp_path,
        "misnamed_plugin",
        "misnamed_plugin",
        PLUGIN,
        "misnamed = misnamed_plugin:Outside",
    )
    found = _discover_in_subprocess(tmp_path)
    failures = found["failures"]
    assert "not_a_module_anywhere" in failures["broken"]  # type: ignore[index]
    assert "entry-point name" in failures["misnamed"]  # type: ignore[index]
    assert "example" in found["loaded"]  # type: ignore[operator]


def test_the_built_in_plugins_are_found_through_the_same_entry_points() -> None:
    found = discover_connectors()
    assert found.distributions["example"] == "evermuse-connector-example"
    assert "evermuse_example" in type(found.connectors["example"]).__module__
