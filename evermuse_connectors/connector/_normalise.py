"""Running a connector's normaliser over raw items, one bad item at a time.

``normalise`` is the connector's pure function; this is the loop around it that makes
sure one bad raw item is reported (its id, kind and what was wrong) and never sinks
the rest of the window.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from evermuse_connectors.connector._contract import Connector, NormaliseContext, RawItem
from evermuse_connectors.envelope import Record, describe_errors

__all__ = ["NormaliseFailure", "normalise_items"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NormaliseFailure:
    """A raw item the connector could not turn into records, and why."""

    item_id: str
    kind: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "error": self.error}


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(describe_errors(exc))[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def normalise_items(
    connector: Connector[Any],
    config: BaseModel,
    items: Iterable[RawItem],
    ctx: NormaliseContext,
) -> Iterator[Record | NormaliseFailure]:
    """Records of every item, in order, with a failure in place of each bad item."""
    for item in items:
        try:
            records = connector.normalise(item, config, ctx)
        except Exception as exc:  # any bug or bad data in one item stays with that item
            failure = NormaliseFailure(item.id, item.kind, _explain(exc))
            logger.warning(
                "%s: raw item %s (%s) not normalised: %s",
                ctx.source,
                item.id,
                item.kind,
                failure.error,
            )
            yield failure
            continue
        yield from records
