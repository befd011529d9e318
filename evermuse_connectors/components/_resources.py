"""The two resources every source needs, provided once per project by a component.

Dagster merges the Definitions of all components in a defs folder with
``Definitions.merge``, which raises when two of them bind the same resource key to
different objects (it compares identity, so two equal ``StoreResource`` objects
still conflict). A source component therefore provides no resources at all: it only
declares that its assets need ``evermuse_store`` and ``evermuse``, and this
component, placed once in the defs folder, binds them. Several sources coexist, and
the store and the Evermuse settings are configured in one place. A project that
leaves this component out fails to load with Dagster's own message naming the
missing resource key.

The API key is never rendered into the configuration: ``api_key_env`` names the
environment variable and the resource gets ``dg.EnvVar(name)``, so the UI and run
config show the name only and the value is read when a run starts. (A
``"{{ env.EVERMUSE_API_KEY }}"`` template would put the key itself into the
resource's configuration at load time.)
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import dagster as dg
from pydantic import Field, TypeAdapter, ValidationError

from evermuse_connectors.components._declared import Declared, refusal
from evermuse_connectors.connector import EnvVarName
from evermuse_connectors.dagster import EvermuseResource, StoreResource
from evermuse_connectors.errors import ConfigError
from evermuse_connectors.ingest import check_base_url

__all__ = ["EvermuseResources"]

_ENV_NAME: TypeAdapter[str] = TypeAdapter(EnvVarName)


class EvermuseResources(Declared):
    """The store and the Evermuse API (resources evermuse_store, evermuse), once.

    Every source component of the project uses them.
    """

    noun: ClassVar[str] = "EvermuseResources"

    store_root: str = Field(
        default=".evermuse/store",
        description="a folder (relative to the project root) or an fsspec URL",
    )
    # A plain str here, checked in build_defs: Dagster's own parse error would
    # print a refused value, and this is where a key gets pasted by mistake.
    api_key_env: str = Field(
        default="EVERMUSE_API_KEY",
        description="the NAME of the environment variable holding the API key",
    )
    base_url: str = Field(
        default="",
        description="Evermuse's API; default: $EVERMUSE_BASE_URL, else "
        "https://api.evermuse.com",
    )
    max_in_flight: int = Field(default=4, ge=1, le=64)
    wait_for_attachments_seconds: float = Field(default=60.0, ge=0)

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        return dg.ComponentTypeSpec(
            description="The store and the Evermuse API for every source; once per "
            "project.",
            tags=["evermuse"],
            produces=["resource"],
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        try:
            _ENV_NAME.validate_python(self.api_key_env)
        except ValidationError as exc:
            raise ConfigError(
                refusal(exc, self.subject(), self._positions, ("api_key_env",))
            ) from None
        if self.base_url:
            try:
                check_base_url(self.base_url, setting="base_url")
            except ConfigError as exc:
                raise ConfigError(
                    f"{self.where(context, ('base_url',))} base_url: {exc}"
                ) from None
        root = self.store_root
        if "://" not in root and not Path(root).is_absolute():
            root = str((Path(context.project_root) / root).resolve())
        evermuse = EvermuseResource(
            api_key=dg.EnvVar(self.api_key_env),
            base_url=self.base_url,
            max_in_flight=self.max_in_flight,
            wait_for_attachments_seconds=self.wait_for_attachments_seconds,
        )
        return dg.Definitions(
            resources={"evermuse_store": StoreResource(root=root), "evermuse": evermuse}
        )
