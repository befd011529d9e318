"""A source declared as a Dagster component: one ``defs.yaml`` per source.

``EvermuseSource`` takes any installed connector (``connector:`` plus a free
``settings`` mapping); :func:`source_component` makes a subclass for one connector
whose ``settings`` has that connector's fields, so ``dg`` shows them and a typo inside
``settings`` fails when the file is parsed. Either way ``build_defs`` turns the
component into the same :class:`~evermuse_connectors.sources.SourceSpec` the sources
file holds and resolves it through the same
:func:`~evermuse_connectors.sources.resolve_sources`, so both ways of declaring a
source accept and refuse exactly the same values.
"""

from __future__ import annotations

import types
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import dagster as dg
from pydantic import BaseModel, Field, ValidationError

from evermuse_connectors.components._declared import Declared, refusal
from evermuse_connectors.components._scaffold import SourceScaffolder
from evermuse_connectors.components._settings import settings_shape
from evermuse_connectors.connector import Routing, discover_connectors
from evermuse_connectors.dagster import build_source_definitions
from evermuse_connectors.errors import ConfigError
from evermuse_connectors.sources import Source, SourceSpec, resolve_sources

__all__ = ["EvermuseSource", "source_component"]

_PRODUCES = ["asset", "asset_check", "job", "schedule"]


def _render(context: dg.ResolutionContext, value: Any) -> Any:
    # ``value`` is the parsed shape (typos already refused) or, when the whole
    # mapping was one template, what it rendered to. Only what the file set is
    # passed on, so the connector's own defaults apply to the rest.
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True, by_alias=True)
    return context.resolve_value(value)


def _shaped(model: type[BaseModel], description: str) -> Any:
    """A mapping field parsed by ``model``'s shape and handed on as a plain dict."""
    return Annotated[
        dict[str, Any],
        dg.Resolver(
            _render, model_field_type=settings_shape(model), description=description
        ),
    ]


_ROUTING = "where the records go in Evermuse: product_id, project_ids, nature, tags"
_SETTINGS = "the connector's own settings (secrets as environment-variable names)"

if TYPE_CHECKING:
    RoutingField = dict[str, Any]
else:
    RoutingField = _shaped(Routing, _ROUTING)


@dg.scaffold_with(SourceScaffolder)
class EvermuseSource(Declared):
    """An Evermuse source: one configured instance of an installed connector.

    Becomes the assets ``<name>/raw``, ``<name>/records`` and ``<name>/delivery`` (in
    the group ``<name>``, partitioned by window), their checks, ``<name>_sync_job``
    and ``<name>_schedule``. Needs the ``EvermuseResources`` component once in the
    project.
    """

    noun: ClassVar[str] = "source"
    # Set on the subclasses source_component makes; None for the generic type.
    fixed_connector: ClassVar[str | None] = None
    settings_model: ClassVar[type[BaseModel] | None] = None

    name: str = Field(
        description="lower-case letters, digits and _; prefixes the asset keys, "
        "names the group, the job, the schedule and the store folder"
    )
    connector: str = Field(description="an installed connector, e.g. slack")
    routing: RoutingField
    start: Annotated[
        date,
        dg.Resolver.default(
            model_field_type=date, description="the first window, e.g. 2026-01-01"
        ),
    ]
    window: Literal["day", "hour"] = Field(
        default="day", description="the length of one window (one partition)"
    )
    schedule: str | None = Field(
        default=None,
        description="cron (UTC) for the sync schedule; default: 15 minutes past "
        "each window",
    )
    schedule_running: bool = Field(
        default=False, description="start the schedule running instead of stopped"
    )
    refresh_windows: int | None = Field(
        default=None,
        description="windows before the newest that each tick re-runs, for late "
        "replies; default: the connector's",
    )
    timezone: str = "UTC"
    owners: list[str] = Field(
        default_factory=list, description="asset owners: emails or team:<name>"
    )
    settings: dict[str, Any] = Field(default_factory=dict, description=_SETTINGS)

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        about = cls.fixed_connector or "any installed connector"
        return dg.ComponentTypeSpec(
            description=(
                f"An Evermuse source of {about}: three partitioned assets (raw, "
                "records, delivery), their checks, a sync job and a schedule."
            ),
            tags=["evermuse", *([cls.fixed_connector] if cls.fixed_connector else [])],
            produces=_PRODUCES,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_source_definitions(self.to_source(context))

    def to_source(self, context: dg.ComponentLoadContext | None = None) -> Source:
        """This component as a resolved source; ConfigError naming file and field."""
        fields = self.model_dump(exclude={"settings", "routing"})
        fields["routing"], fields["settings"] = self.routing, self.settings
        try:
            spec = SourceSpec.model_validate(fields)
        except ValidationError as exc:
            raise ConfigError(refusal(exc, self.subject(), self._positions)) from None
        where = self.where(context)
        return resolve_sources([spec], discover_connectors(), file=where)[0]


def source_component(
    connector_name: str,
    config_model: type[BaseModel],
    *,
    module: str = "evermuse_connectors.components",
) -> type[EvermuseSource]:
    """An ``EvermuseSource`` subclass for one connector, named ``<Name>Source``.

    Its ``connector`` is fixed and its ``settings`` has ``config_model``'s fields.
    ``module`` is where the class will be importable from (the ``type:`` a
    ``defs.yaml`` names); bind the class to that name there.
    """
    class_name = f"{connector_name.title()}Source"
    if not class_name.isidentifier():
        raise ValueError(
            f"connector name {connector_name!r} does not make a class name "
            f"({class_name!r}); connector names should be letters, digits and _"
        )
    settings_type = _shaped(config_model, _SETTINGS)  # refuses a non-model first
    required = any(f.is_required() for f in config_model.model_fields.values())
    namespace: dict[str, Any] = {
        "__module__": module,
        "__qualname__": class_name,
        "__doc__": (
            f"An Evermuse source of the {connector_name} connector.\n\n"
            f"Its settings are {config_model.__name__}'s fields."
        ),
        "__annotations__": {
            "connector": Literal[connector_name],
            "settings": settings_type,
        },
        "fixed_connector": connector_name,
        "settings_model": config_model,
        "connector": Field(
            default=connector_name, description="fixed by the component type"
        ),
    }
    if not required:
        namespace["settings"] = Field(default_factory=dict)
    made = types.new_class(
        class_name, (EvermuseSource,), exec_body=lambda ns: ns.update(namespace)
    )
    return made
