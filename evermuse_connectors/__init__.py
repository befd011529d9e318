"""evermuse-connectors."""
