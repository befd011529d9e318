"""Error messages that point at the ``defs.yaml`` line a component was declared on.

Dagster checks a ``defs.yaml`` against the component's model itself (an unknown or
missing field fails with the file and line). Two kinds of refusal come later and
would otherwise lose the file: a value the component class refuses when it is built
(``window: week``), and a value refused in ``build_defs``, whose context no longer
carries the file's positions. A component deriving from :class:`Declared` keeps
the positions from ``load`` and names the file, the line and the field in both.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import dagster as dg
from dagster_shared.yaml_utils.source_position import SourcePositionTree
from pydantic import BaseModel, PrivateAttr, ValidationError

from evermuse_connectors.errors import ConfigError, shorten

__all__ = ["Declared", "refusal"]

# Inputs of fields with these endings are never echoed in an error: a pasted secret
# would otherwise land in a log (the sources file follows the same rule).
_QUIET_ENDINGS = ("_env", "token", "secret", "key")


class Declared(dg.Component, dg.Resolvable, dg.Model):
    """A component that remembers where it was declared (no definitions of its own)."""

    # What the messages call one of these, e.g. "source"; see subject().
    noun: ClassVar[str] = "component"

    _positions: SourcePositionTree | None = PrivateAttr(default=None)

    @classmethod
    def load(
        cls, attributes: BaseModel | None, context: dg.ComponentLoadContext
    ) -> Self:
        positions = context.resolution_context.source_position_tree
        try:
            component = super().load(attributes, context)
        except ValidationError as exc:
            subject = f"{cls.noun} {_name_in(attributes)}".strip()
            # from None: pydantic's own text repeats each input, a pasted secret too.
            raise ConfigError(refusal(exc, subject, positions)) from None
        component._positions = positions
        return component

    def subject(self) -> str:
        """How messages name this component: its noun and, if it has one, name."""
        return f"{self.noun} {_name_in(self)}".strip()

    def where(
        self,
        context: dg.ComponentLoadContext | None = None,
        path: tuple[str | int, ...] = (),
    ) -> str:
        """``file:line`` of an attribute, or of the component, for messages."""
        return _where(self._positions, path, context)


def _name_in(model: Any) -> str:
    name = getattr(model, "name", None)
    return shorten(name, 70).strip("'") if isinstance(name, str) else ""


def _where(
    positions: SourcePositionTree | None,
    path: tuple[str | int, ...] = (),
    context: dg.ComponentLoadContext | None = None,
) -> str:
    if positions is not None:
        found, _ = positions.lookup_closest_and_path(["attributes", *path], None)
        return str(found)
    if context is not None:
        return str(context.path)
    return "(built in Python)"


def refusal(
    exc: ValidationError,
    subject: str,
    positions: SourcePositionTree | None,
    prefix: tuple[str | int, ...] = (),
) -> str:
    """A message naming the file, ``subject`` and every refused field with its line.

    ``prefix`` is where the validated mapping sits among the attributes.
    """
    lines = [f"{_where(positions)}: {subject} is not valid:"]
    for error in exc.errors(include_url=False):
        loc = (*prefix, *error["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        shown = (
            ""
            if path.endswith(_QUIET_ENDINGS)
            else f" (got {shorten(error.get('input'), 60)})"
        )
        lines.append(f"  {_where(positions, loc)} {path}: {error['msg']}{shown}")
    return "\n".join(lines)
