"""Definitions for every configured source, from the sources file.

Loading reads the file and the installed connectors and builds specs; it calls no
source API and no Evermuse endpoint, so a code server starts fast and offline.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from evermuse_connectors.connector import discover_connectors
from evermuse_connectors.dagster._assets import build_source_definitions
from evermuse_connectors.dagster._resources import EvermuseResource, StoreResource
from evermuse_connectors.sources import (
    CONFIG_ENV,
    Source,
    load_project,
    resolve_sources,
)

__all__ = ["build_definitions", "default_config_path", "load_definitions"]

logger = logging.getLogger(__name__)


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "evermuse.yaml")


def build_definitions(
    sources: Sequence[Source],
    *,
    store_root: str,
    evermuse: EvermuseResource | None = None,
) -> dg.Definitions:
    """One Definitions holding every source's assets, jobs and schedules."""
    parts = [build_source_definitions(source) for source in sources]
    resources = {
        "evermuse_store": StoreResource(root=store_root),
        "evermuse": evermuse or EvermuseResource(api_key=dg.EnvVar("EVERMUSE_API_KEY")),
    }
    return dg.Definitions.merge(*parts, dg.Definitions(resources=resources))


def load_definitions(path: str | os.PathLike[str] | None = None) -> dg.Definitions:
    """Definitions from the sources file (``$EVERMUSE_CONFIG`` or ./evermuse.yaml)."""
    file = Path(path) if path is not None else default_config_path()
    project = load_project(file)
    discovered = discover_connectors()
    for name, error in sorted(discovered.failures.items()):
        logger.error("connector %s could not be loaded and is skipped: %s", name, error)
    sources = resolve_sources(
        project.sources, discovered, file=str(file), attachments=project.attachments
    )
    store_root = project.store
    if "://" not in store_root and not Path(store_root).is_absolute():
        store_root = str((file.parent / store_root).resolve())
    return build_definitions(sources, store_root=store_root)
