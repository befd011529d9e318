"""``dg scaffold defs <type> <path>`` for sources: a ``defs.yaml`` to fill in.

The template lists the connector's required settings as ``null`` (so the file fails
to load, naming each one, until they are filled) and its optional settings as
comments with their defaults.
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster.components.component_scaffolding import scaffold_component
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

__all__ = ["SourceScaffolder", "source_template"]


class SourceScaffolder(dg.Scaffolder):
    """Writes a commented ``defs.yaml`` for an Evermuse source component."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        if request.scaffold_format != "yaml":
            scaffold_component(request)  # Dagster's own component.py stub
            return
        component = _load(request.type_name)
        text = source_template(
            request.type_name,
            fixed_connector=getattr(component, "fixed_connector", None),
            settings_model=getattr(component, "settings_model", None),
            name=request.target_path.name,
        )
        if request.append:
            with request.target_path.open("a", encoding="utf-8") as file:
                file.write("---\n" + text)
        else:
            (request.target_path / "defs.yaml").write_text(text, encoding="utf-8")


def _load(type_name: str) -> Any:
    module, _, attribute = type_name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def source_template(
    type_name: str,
    *,
    fixed_connector: str | None,
    settings_model: type[BaseModel] | None,
    name: str,
) -> str:
    """The text of a ``defs.yaml`` declaring one source of ``type_name``."""
    today = datetime.now(UTC).date().isoformat()
    lines = [
        f"type: {type_name}",
        "",
        "attributes:",
        f"  name: {_source_name(name, fixed_connector)}"
        "  # lower-case, digits, _: prefixes asset keys",
    ]
    if fixed_connector is None:
        lines.append("  connector: null  # required: an installed connector")
    lines += [
        "  routing:",
        "    product_id: null  # required: the Evermuse product",
        "    project_ids: []  # required: at least one Evermuse project",
        f'  start: "{today}"  # the first window',
        "  window: day  # or hour",
        "  # refresh_windows: 3  # windows each tick re-runs; default: the connector's",
        "  settings:" + ("" if settings_model else " {}"),
    ]
    if settings_model is not None:
        lines += _settings_lines(settings_model)
    return "\n".join(lines) + "\n"


def _source_name(folder: str, connector: str | None) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", folder.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"{connector or 'source'}_{name}".strip("_")
    return name[:63]


def _settings_lines(model: type[BaseModel]) -> list[str]:
    lines = []
    for field_name, info in model.model_fields.items():
        key = info.alias or field_name
        about = f": {info.description}" if info.description else ""
        if info.is_required():
            lines.append(f"    {key}: null  # required{about}")
            continue
        default = info.get_default(call_default_factory=True)
        try:
            shown = json.dumps(to_jsonable_python(default), ensure_ascii=False)
        except (PydanticSerializationError, TypeError, ValueError):
            shown = "..."
        lines.append(f"    # {key}: {shown}{'  #' + about[1:] if about else ''}")
    return lines
