"""Finding installed connectors through Python entry points.

Any installed distribution that declares an entry point in the group
``evermuse_connectors.connectors`` adds a connector; the framework never imports one
by name. A connector that fails to load is reported with its error and the others
still load.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from evermuse_connectors.connector._contract import Connector
from evermuse_connectors.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "Discovered", "discover_connectors"]

ENTRY_POINT_GROUP = "evermuse_connectors.connectors"
logger = logging.getLogger(__name__)


@dataclass
class Discovered:
    """The connectors that loaded, and those that did not, with why."""

    connectors: dict[str, Connector[Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Connector[Any]:
        if name in self.connectors:
            return self.connectors[name]
        if name in self.failures:
            raise ConfigError(
                f"connector {name!r} is installed but failed to load: "
                f"{self.failures[name]}"
            )
        known = ", ".join(sorted(self.connectors)) or "none"
        raise ConfigError(
            f"no connector named {name!r} is installed (installed: {known}); install "
            f"its package, e.g. pip install evermuse-connector-{name}"
        )


def _load(entry: EntryPoint) -> Connector[Any]:
    loaded = entry.load()
    instance = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(instance, Connector):
        raise TypeError(f"{entry.value} is not a Connector subclass")
    if instance.name != entry.name:
        raise TypeError(
            f"{entry.value} calls itself {instance.name!r} but is registered as "
            f"{entry.name!r}; make the entry-point name match Connector.name"
        )
    return instance


@functools.cache
def discover_connectors(group: str = ENTRY_POINT_GROUP) -> Discovered:
    """Every installed connector, loaded once per process; cache_clear() redoes it."""
    found = Discovered()
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        if entry.name in found.connectors:
            logger.warning(
                "connector %s is registered twice; keeping the first (%s)",
                entry.name,
                found.distributions.get(entry.name),
            )
            continue
        try:
            found.connectors[entry.name] = _load(entry)
        except Exception as exc:  # a plugin's bug must not stop the others loading
            found.failures[entry.name] = f"{type(exc).__name__}: {exc}"
            logger.error("connector %s failed to load: %s", entry.name, exc)
            continue
        found.distributions[entry.name] = entry.dist.name if entry.dist else "?"
    return found
