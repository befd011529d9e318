"""The shape of a connector's settings as a component field, checked before templates.

Dagster parses a ``defs.yaml`` into the component's model first and renders its Jinja
templates (``{{ env.X }}``) afterwards. Typing ``settings`` by the connector's own
config model would run the connector's validators on the raw text, so
``base_url: "{{ env.FEEDBACK_URL }}"`` would be refused as "not a URL" before it is
rendered. The model built here has the same field names, types, descriptions and
required fields, and forbids unknown fields, so ``dg`` shows the connector's schema
and a typo fails at parse time; but it runs none of the connector's validators and
accepts a string (a template) for every field. The connector's own model validates
the rendered values afterwards, in the same call the sources file goes through.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError, to_jsonable_python

__all__ = ["settings_shape"]


@cache
def settings_shape(config_model: type[BaseModel]) -> type[BaseModel]:
    """A lenient twin of ``config_model``: same fields, unknown fields refused."""
    if not (isinstance(config_model, type) and issubclass(config_model, BaseModel)):
        raise TypeError(
            f"a connector's config_model must be a pydantic BaseModel subclass, got "
            f"{config_model!r}"
        )
    fields: dict[str, Any] = {
        name: (_lenient(info), _field(info))
        for name, info in config_model.model_fields.items()
    }
    shape: type[BaseModel] = create_model(
        f"{config_model.__name__}Settings",
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        __doc__=config_model.__doc__,
        __module__=config_model.__module__,
        **fields,
    )
    return shape


def _lenient(info: FieldInfo) -> Any:
    # rebuild_annotation() keeps constraints and Annotated validators of the field's
    # type (EnvVarName's name check, ge=/le=), which the string branch sidesteps for
    # a template; the connector's model applies them once the value is rendered.
    annotation = info.rebuild_annotation()
    if annotation is str:
        return str
    return annotation | str


def _field(info: FieldInfo) -> Any:
    extra: dict[str, Any] = {"description": info.description, "alias": info.alias}
    extra = {k: v for k, v in extra.items() if v is not None}
    if info.is_required():
        return Field(**extra)
    # The default is only shown (in the JSON schema dg prints): an unset field is
    # not passed on, so the connector's model applies its own default.
    default = info.get_default(call_default_factory=True)
    try:
        shown = to_jsonable_python(default)
    except PydanticSerializationError:
        shown = None
    return Field(default=shown, **extra)
