"""``dg scaffold defs`` for a source: a template that loads once it is filled in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster.components.core.component_tree import ComponentTreeException
from dagster.components.scaffold.scaffold import NoParams, get_scaffolder

import evermuse_connectors.components as components


def _scaffold(type_name: str, target: Path) -> Path:
    component = getattr(components, type_name.rpartition(".")[2])
    scaffolder = get_scaffolder(component)
    assert isinstance(scaffolder, dg.Scaffolder)
    target.mkdir()
    scaffolder.scaffold(
        dg.ScaffoldRequest(
            type_name=type_name,
            target_path=target,
            scaffold_format="yaml",
            project_root=None,
            params=NoParams(),
        )
    )
    return target / "defs.yaml"


def _chain(exc: BaseException) -> str:
    parts, current = [], exc
    while current is not None:
        parts.append(str(current))
        current = current.__cause__
    return "\n".join(parts)


def test_the_template_names_what_to_fill_in_then_loads(
    project_copy: Callable[[], Path], components_env: Path, example_fake: object
) -> None:
    defs_folder = project_copy()
    file = _scaffold(
        "evermuse_connectors.components.ExampleSource", defs_folder / "example-gamma"
    )
    template = yaml.safe_load(file.read_text())
    assert template["type"] == "evermuse_connectors.components.ExampleSource"
    assert template["attributes"]["name"] == "example_gamma"
    assert template["attributes"]["settings"] == {"base_url": None}
    assert '# token_env: "EXAMPLE_API_TOKEN"' in file.read_text()

    with pytest.raises(ComponentTreeException) as caught:
        dg.load_from_defs_folder(path_within_project=defs_folder)
    message = _chain(caught.value)
    assert str(file) in message, message
    assert "base_url" in message, message

    text = file.read_text()
    text = text.replace("product_id: null", "product_id: prod-gamma")
    text = text.replace("project_ids: []", "project_ids: [proj-9]")
    text = text.replace("base_url: null", 'base_url: "{{ env.EXAMPLE_FAKE_URL }}"')
    file.write_text(text)
    defs = dg.load_from_defs_folder(path_within_project=defs_folder)
    graph = defs.resolve_asset_graph()
    assert (
        graph.get(dg.AssetKey(["example_gamma", "raw"])).group_name == "example_gamma"
    )


def test_the_generic_template_asks_for_the_connector(tmp_path: Path) -> None:
    file = _scaffold("evermuse_connectors.components.EvermuseSource", tmp_path / "s")
    attributes = yaml.safe_load(file.read_text())["attributes"]
    assert attributes["connector"] is None
    assert attributes["settings"] == {}
    assert attributes["name"] == "s"
