"""A dg project whose defs folder declares Evermuse sources."""
