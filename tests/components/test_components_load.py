"""Loading a dg project whose defs folder declares sources as components."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster.components.core.component_tree import ComponentTreeException

from evermuse_connectors.components import EvermuseSource
from evermuse_connectors.connector import discover_connectors
from evermuse_connectors.dagster import EvermuseResource, StoreResource
from evermuse_connectors.sources import load_project, resolve_sources


def _load(path: Path) -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=path)


def _component_at(project: Path, path: str) -> EvermuseSource:
    # Dagster's YAML parsing calls pydantic's deprecated parse_obj_as; its
    # load_from_defs_folder silences that warning itself, ComponentTree does not.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "`parse_obj_as` is deprecated", category=DeprecationWarning
        )
        return dg.ComponentTree.for_project(project).load_component(
            path, EvermuseSource
        )


def _chain(exc: BaseException) -> str:
    """Every message of an exception's chain as a traceback (and Dagster) shows it.

    Dagster wraps a component's error in its own; ``raise ... from None`` hides the
    context, which tracebacks and Dagster's error records then leave out.
    """
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(str(current))
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    return "\n".join(parts)


def test_both_sources_load_with_their_keys_groups_and_windows(
    fixture_project: Path, components_env: Path
) -> None:
    defs = _load(fixture_project)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string(): graph.get(k) for k in graph.get_all_asset_keys()}
    assert set(keys) == {
        f"{source}/{stage}"
        for source in ("example_alpha", "example_beta")
        for stage in ("raw", "records", "delivery")
    }
    for key, node in keys.items():
        assert node.group_name == key.split("/")[0]
        assert set(node.kinds) == {"example", "evermuse"}
    alpha = graph.get(dg.AssetKey(["example_alpha", "raw"]))
    beta = graph.get(dg.AssetKey(["example_beta", "raw"]))
    assert alpha.owners == ["team:support"]
    assert alpha.partitions_def is not None
    assert beta.partitions_def is not None
    assert alpha.partitions_def.get_first_partition_key() == "2026-02-01"
    assert beta.partitions_def.get_first_partition_key() == "2026-03-01-00:00"
    for source in ("example_alpha", "example_beta"):
        assert defs.resolve_job_def(f"{source}_sync_job") is not None
        assert defs.resolve_schedule_def(f"{source}_schedule") is not None


def test_the_resources_component_binds_store_and_evermuse_once(
    fixture_project: Path, components_env: Path
) -> None:
    resources = dict(_load(fixture_project).resources or {})
    assert set(resources) == {"evermuse_store", "evermuse"}
    store, evermuse = resources["evermuse_store"], resources["evermuse"]
    assert isinstance(store, StoreResource)
    assert store.root == str(components_env)
    assert isinstance(evermuse, EvermuseResource)
    # The key stays a reference to the variable, read when a run starts.
    assert evermuse.api_key == "EVERMUSE_API_KEY"
    assert "em_sk_emulator_write" not in repr(evermuse)
    assert evermuse.wait_for_attachments_seconds == 5


def test_a_component_resolves_to_the_same_source_as_the_sources_file(
    fixture_project: Path, components_env: Path, tmp_path: Path, example_fake: Any
) -> None:
    yaml_file = fixture_project / "evermuse_fixture/defs/example_alpha/defs.yaml"
    attributes = yaml.safe_load(yaml_file.read_text())["attributes"]
    attributes["settings"]["base_url"] = example_fake.url
    sources_file = tmp_path / "evermuse.yaml"
    sources_file.write_text(
        yaml.safe_dump({"sources": [{**attributes, "connector": "example"}]})
    )
    [from_file] = resolve_sources(
        load_project(sources_file).sources, discover_connectors()
    )
    component = _component_at(fixture_project, "example_alpha")
    from_component = component.to_source()
    assert from_component.spec == from_file.spec
    assert from_component.config == from_file.config
    assert from_component.refresh_windows == 2


def test_without_the_resources_component_the_load_names_the_missing_resource(
    project_copy: Callable[[], Path], components_env: Path
) -> None:
    defs_folder = project_copy()
    (defs_folder / "evermuse" / "defs.yaml").unlink()
    (defs_folder / "evermuse").rmdir()
    defs = _load(defs_folder)
    with pytest.raises(dg.DagsterInvalidDefinitionError) as caught:
        defs.get_repository_def()
    assert "'evermuse_store'" in str(caught.value)
    assert "was not provided" in str(caught.value)


def test_a_third_source_of_the_same_connector_coexists(
    project_copy: Callable[[], Path], components_env: Path
) -> None:
    defs_folder = project_copy()
    gamma = defs_folder / "example_gamma"
    gamma.mkdir()
    text = (defs_folder / "example_alpha" / "defs.yaml").read_text()
    (gamma / "defs.yaml").write_text(text.replace("example_alpha", "example_gamma"))
    defs = _load(defs_folder)
    groups = {
        defs.resolve_asset_graph().get(k).group_name
        for k in defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert groups == {"example_alpha", "example_beta", "example_gamma"}
    assert set(defs.resources or {}) == {"evermuse_store", "evermuse"}


def _edit(defs_folder: Path, source: str, old: str, new: str) -> Path:
    file = defs_folder / source / "defs.yaml"
    text = file.read_text()
    assert old in text, f"the fixture no longer contains {old!r}"
    file.write_text(text.replace(old, new))
    return file


@pytest.mark.parametrize(
    ("source", "old", "new", "named"),
    [
        # A typo at the top level, caught by Dagster when it parses the file.
        ("example_beta", "  window: hour", "  windw: hour", ["attributes.windw"]),
        # A typo inside the typed component's settings, caught at parse time too.
        (
            "example_alpha",
            "    internal_domains:",
            "    internal_domain:",
            ["settings", "internal_domain", "Extra inputs"],
        ),
        # A typo inside the generic component's settings, caught by the connector.
        (
            "example_beta",
            "    token_env:",
            "    tokn_env:",
            ["source example_beta", "settings.tokn_env"],
        ),
        # A value the component class refuses after parsing.
        ("example_beta", "window: hour", "window: week", ["window", "'day'"]),
        # A value only the sources-file validation refuses.
        (
            "example_alpha",
            "name: example_alpha",
            "name: Example Alpha",
            ["source Example Alpha", "name", "lower-case"],
        ),
        # A value the connector's own model refuses once the template is rendered.
        (
            "example_alpha",
            '"{{ env.EXAMPLE_FAKE_URL }}"',
            "http://feedback.example.com",
            ["source example_alpha", "settings.base_url", "https"],
        ),
        ("example_beta", "connector: example", "connector: exampel", ["'exampel'"]),
    ],
)
def test_a_misconfigured_component_fails_at_load_naming_file_and_field(
    project_copy: Callable[[], Path],
    components_env: Path,
    source: str,
    old: str,
    new: str,
    named: list[str],
) -> None:
    defs_folder = project_copy()
    file = _edit(defs_folder, source, old, new)
    with pytest.raises(ComponentTreeException) as caught:  # wraps our error
        _load(defs_folder)
    message = _chain(caught.value)
    assert f"{file}:" in message, message
    for part in named:
        assert part in message, message


@pytest.mark.parametrize(
    ("source", "old"),
    [
        ("example_beta", "token_env: EXAMPLE_API_TOKEN"),
        ("example_alpha", "internal_domains: [ours.example]"),
    ],
)
def test_a_pasted_secret_is_not_echoed_in_a_load_error(
    project_copy: Callable[[], Path], components_env: Path, source: str, old: str
) -> None:
    secret = "xoxb-1234-pasted-secret-value"
    defs_folder = project_copy()
    _edit(defs_folder, source, old, f"token_env: {secret}")
    with pytest.raises(ComponentTreeException) as caught:
        _load(defs_folder)
    message = _chain(caught.value)
    assert "settings.token_env" in message
    assert secret not in message


@pytest.mark.parametrize(
    ("new", "named"),
    [
        ("api_key_env: sk-live-pasted-value", "api_key_env"),
        ("base_url: http://api.evermuse.example", "base_url"),
        ("max_in_flight: 0", "max_in_flight"),
    ],
)
def test_a_wrong_resources_setting_fails_naming_the_file_and_field(
    project_copy: Callable[[], Path], components_env: Path, new: str, named: str
) -> None:
    defs_folder = project_copy()
    file = _edit(defs_folder, "evermuse", "api_key_env: EVERMUSE_API_KEY", new)
    with pytest.raises(ComponentTreeException) as caught:
        _load(defs_folder)
    message = _chain(caught.value)
    assert f"{file}:" in message, message
    assert named in message, message
    assert "sk-live-pasted-value" not in message
