"""Sources as Dagster components, one component type per installed connector.

A project's defs folder holds one ``defs.yaml`` per source and one for the
resources::

    # defs/slack_acme/defs.yaml
    type: evermuse_connectors.components.SlackSource
    attributes:
      name: slack_acme
      routing: {product_id: prod-abc, project_ids: [proj-1]}
      start: 2026-01-01
      settings: {token_env: ACME_SLACK_TOKEN}

    # defs/evermuse/defs.yaml
    type: evermuse_connectors.components.EvermuseResources
    attributes: {store_root: .evermuse/store}

``<Name>Source`` exists for every connector installed when this module is imported
(``Connector.name.title()`` + ``Source``), built from the connector's config model:
a newly installed plugin gets its component type with no change here. A connector
that fails to load, or whose config model cannot be made into a component, is left
out with a logged error; the other types are still there. ``EvermuseSource`` takes
any connector by name, with unchecked ``settings`` until the definitions build.
"""

from __future__ import annotations

import logging
from typing import Any

from evermuse_connectors.components._resources import EvermuseResources
from evermuse_connectors.components._scaffold import SourceScaffolder
from evermuse_connectors.components._source import EvermuseSource, source_component
from evermuse_connectors.connector import Discovered, discover_connectors

__all__ = [
    "EvermuseResources",
    "EvermuseSource",
    "SourceScaffolder",
    "component_types",
    "source_component",
]

logger = logging.getLogger(__name__)


def component_types(discovered: Discovered) -> dict[str, type[EvermuseSource]]:
    """A component type per connector in ``discovered``, by class name.

    A connector whose type cannot be made is logged and left out, never raised:
    one plugin's bug must not hide the others from ``dg``.
    """
    for name, error in sorted(discovered.failures.items()):
        logger.error("connector %s failed to load; no component type: %s", name, error)
    made: dict[str, type[EvermuseSource]] = {}
    for name, connector in sorted(discovered.connectors.items()):
        try:
            component = source_component(name, connector.config_model, module=__name__)
        except Exception as exc:  # a plugin's odd config model, reported below
            logger.error(
                "connector %s has no component type: %s: %s",
                name,
                type(exc).__name__,
                exc,
            )
            continue
        if component.__name__ in __all__ or component.__name__ in made:
            logger.error(
                "connector %s would make the component type %s, a name already "
                "taken; use EvermuseSource with connector: %s instead",
                name,
                component.__name__,
                name,
            )
            continue
        made[component.__name__] = component
    return made


def _publish(types: dict[str, Any]) -> None:
    globals().update(types)
    __all__.extend(sorted(types))


_publish(component_types(discover_connectors()))
