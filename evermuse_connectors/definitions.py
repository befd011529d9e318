"""The Dagster code location: ``workspace.yaml`` loads ``defs`` from here.

The sources come from ``$EVERMUSE_CONFIG`` (default ./evermuse.yaml).
"""

from evermuse_connectors.dagster import load_definitions

defs = load_definitions()
