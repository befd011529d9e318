"""Dagster assets, checks, jobs, schedules and resources built from sources."""

from evermuse_connectors.dagster._assets import (
    EVERMUSE_POOL,
    build_source_definitions,
    partitions_for,
)
from evermuse_connectors.dagster._definitions import (
    build_definitions,
    default_config_path,
    load_definitions,
)
from evermuse_connectors.dagster._resources import EvermuseResource, StoreResource

__all__ = [
    "EVERMUSE_POOL",
    "EvermuseResource",
    "StoreResource",
    "build_definitions",
    "build_source_definitions",
    "default_config_path",
    "load_definitions",
    "partitions_for",
]
