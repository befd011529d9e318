"""One component type per installed connector, found the way ``dg`` finds them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dagster.components.core.package_entry import discover_package_objects
from dagster.components.core.snapshot import get_package_entry_snap
from pydantic import BaseModel, ConfigDict

import evermuse_connectors.components as components
from evermuse_connectors.components import (
    EvermuseSource,
    component_types,
    source_component,
)
from evermuse_connectors.connector import (
    Connector,
    Discovered,
    discover_connectors,
)
from evermuse_connectors.envelope import RecordType
from evermuse_connectors.testing import install_fake_distribution

STATIC = [
    "EvermuseResources",
    "EvermuseSource",
    "SourceScaffolder",
    "component_types",
    "source_component",
]


def test_every_installed_connector_has_its_component_type() -> None:
    installed = sorted(discover_connectors().connectors)
    assert {"example", "gmail", "slack", "zoom"} <= set(installed)
    expected = [f"{name.title()}Source" for name in installed]
    assert components.__all__ == STATIC + sorted(expected)
    for name in installed:
        component = getattr(components, f"{name.title()}Source")
        assert issubclass(component, EvermuseSource)
        assert component.fixed_connector == name
        assert component.__module__ == "evermuse_connectors.components"


def test_dg_lists_the_types_with_each_connectors_settings_schema() -> None:
    # What `dg list components` reads: the registry module's objects and snapshots.
    found = discover_package_objects(["evermuse_connectors.components"])
    names = sorted(key.name for key in found)
    installed = sorted(discover_connectors().connectors)
    assert names == sorted(
        ["EvermuseResources", "EvermuseSource"]
        + [f"{n.title()}Source" for n in installed]
    )
    for key, component in found.items():
        snap = get_package_entry_snap(key, component)
        assert snap.key.to_typename() == f"evermuse_connectors.components.{key.name}"
    slack = next(k for k in found if k.name == "SlackSource")
    schema = _schema(get_package_entry_snap(slack, found[slack]))
    settings = schema["$defs"]["SlackConfigSettings"]
    assert settings["additionalProperties"] is False
    assert {"token_env", "channel_types", "rate_regime"} <= set(settings["properties"])


def _schema(snap: Any) -> dict[str, Any]:
    for data in snap.feature_data:
        if hasattr(data, "schema") and data.schema:
            return dict(data.schema)
    raise AssertionError(f"no schema in {snap}")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str


class _Plugin(Connector[_Settings]):
    name = "plugin"
    config_model = _Settings
    record_types = (RecordType.DOCUMENT,)

    def extract(self, config: Any, ctx: Any) -> Any:
        return iter(())

    def normalise(self, item: Any, config: Any, ctx: Any) -> list[Any]:
        return []

    def fake_source(self, *, seed: int, now: datetime) -> Any:
        raise NotImplementedError("this test connector has no fake")


class _NotAModel(_Plugin):
    name = "odd"
    config_model = dict  # type: ignore[assignment]


class _Clash(_Plugin):
    name = "evermuse"  # would make "EvermuseSource", the generic type's name


def test_a_broken_or_clashing_connector_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    discovered = Discovered(
        connectors={"plugin": _Plugin(), "odd": _NotAModel(), "evermuse": _Clash()},
        failures={"gone": "ImportError: no module named gone"},
    )
    with caplog.at_level(logging.ERROR, logger="evermuse_connectors.components"):
        made = component_types(discovered)
    assert sorted(made) == ["PluginSource"]
    logged = caplog.text
    assert "connector gone failed to load" in logged
    assert "connector odd has no component type" in logged
    assert "EvermuseSource, a name already taken" in logged


def test_a_factory_made_type_requires_settings_only_when_the_connector_does() -> None:
    required = source_component("plugin", _Settings, module=__name__)
    assert required.model_fields["settings"].is_required()

    class _Optional(BaseModel):
        page_size: int = 50

    optional = source_component("other", _Optional, module=__name__)
    assert not optional.model_fields["settings"].is_required()
    assert optional.__name__ == "OtherSource"
    assert optional.model_fields["connector"].default == "other"


def test_a_connector_name_that_makes_no_class_name_is_refused() -> None:
    with pytest.raises(ValueError, match="does not make a class name"):
        source_component("my-plugin", _Settings)


PLUGINS = """
from datetime import datetime
from pydantic import BaseModel
from evermuse_connectors.connector import Connector
from evermuse_connectors.envelope import RecordType


class Settings(BaseModel):
    region: str = "eu"


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


def test_a_newly_installed_plugin_gets_a_type_and_a_broken_one_breaks_nothing(
    tmp_path: Path,
) -> None:
    install_fake_distribution(
        tmp_path,
        "outside_plugin",
        "outside_plugin",
        PLUGINS,
        "outside = outside_plugin:Outside",
    )
    install_fake_distribution(
        tmp_path,
        "broken_plugin",
        "broken_plugin",
        "raise ImportError('nope')",
        "broken = broken_plugin:Gone",
    )
    script = (
        "import json, evermuse_connectors.components as c; "
        "print(json.dumps({'all': c.__all__, "
        "'outside': c.OutsideSource.model_fields['settings'].is_required()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert "OutsideSource" in found["all"]
    assert "SlackSource" in found["all"]
    assert not any(name.startswith("Broken") for name in found["all"])
    assert found["outside"] is False
    assert "connector broken failed to load" in done.stderr
